import XCTest
@testable import Onyx

final class ResizeTests: XCTestCase {
    private func floats(_ values: [Float], _ shape: [Int]? = nil) throws -> Tensor {
        try Tensor(shape: shape ?? [values.count], scalars: values)
    }

    private func resize(
        _ x: Tensor, opset: Int = 19, scales: [Float]? = nil, sizes: [Int64]? = nil, roi: [Float]? = nil,
        _ attributes: [Attribute]
    ) throws -> Tensor {
        var inputs: [(String, Tensor)] = [("x", x)]
        inputs.append(try roi.map { ("roi", try Tensor(shape: [$0.count], scalars: $0)) } ?? ("", x))
        inputs.append(try scales.map { ("scales", try Tensor(shape: [$0.count], scalars: $0)) } ?? ("", x))
        if let sizes { inputs.append(("sizes", try Tensor(shape: [sizes.count], scalars: sizes))) }
        return try SingleOp.run("Resize", opset: opset, inputs: inputs, attributes: attributes)[0]
    }

    func testNearestModesBreakTiesAsNamed() throws {
        let x = try floats([1, 2, 3, 4])
        let asymmetric = Attribute.string("coordinate_transformation_mode", "asymmetric")
        let floor = try resize(x, scales: [2], [asymmetric])
        XCTAssertEqual(try floor.scalars(as: Float.self), [1, 1, 2, 2, 3, 3, 4, 4])
        let ceil = try resize(x, scales: [2], [asymmetric, .string("nearest_mode", "round_prefer_ceil")])
        XCTAssertEqual(try ceil.scalars(as: Float.self), [1, 2, 2, 3, 3, 4, 4, 4])
    }

    func testLinearCoordinateModes() throws {
        let x = try floats([1, 2])
        let halfPixel = try resize(x, scales: [2], [.string("mode", "linear")])
        XCTAssertEqual(try halfPixel.scalars(as: Float.self), [1, 1.25, 1.75, 2])
        let corners = try resize(x, sizes: [3], [.string("mode", "linear"), .string("coordinate_transformation_mode", "align_corners")])
        XCTAssertEqual(try corners.scalars(as: Float.self), [1, 1.5, 2])
    }

    func testCropAndResizeExtrapolates() throws {
        let out = try resize(try floats([0, 10]), sizes: [3], roi: [0.5, 1.5], [
            .string("mode", "linear"), .string("coordinate_transformation_mode", "tf_crop_and_resize"),
            .float("extrapolation_value", 7),
        ])
        XCTAssertEqual(try out.scalars(as: Float.self), [5, 10, 7])
    }

    func testAntialiasWidensTheLinearFilter() throws {
        let out = try resize(try floats([0, 1, 2, 3]), sizes: [2], [.string("mode", "linear"), .int("antialias", 1)])
        XCTAssertEqual(try out.scalars(as: Float.self), [0.625, 2.375])
    }

    func testIntegersRoundHalfToEvenAndStringsCopy() throws {
        let ints = try Tensor(shape: [2], scalars: [Int32(0), 3])
        XCTAssertEqual(try resize(ints, scales: [2], [.string("mode", "linear")]).scalars(as: Int32.self), [0, 1, 2, 3])
        let strings = try Tensor(shape: [2], strings: ["a", "b"])
        XCTAssertEqual(try resize(strings, scales: [2], []).strings(), ["a", "a", "b", "b"])
        let flags = try Tensor(shape: [2], scalars: [true, false])
        XCTAssertThrowsError(try resize(flags, scales: [2], [.string("mode", "linear")]))
    }

    func testCubicAtScaleOneIsTheIdentity() throws {
        let x = try floats([3, -1, 4, 1, 5], [1, 5])
        XCTAssertEqual(try resize(x, scales: [1, 1], [.string("mode", "cubic")]).scalars(as: Float.self), [3, -1, 4, 1, 5])
    }

    func testAxesAndAspectPolicy() throws {
        let x = try floats((0..<8).map(Float.init), [2, 4])
        let out = try resize(x, sizes: [3, 3], [.ints("axes", [0, 1]), .string("keep_aspect_ratio_policy", "not_larger")])
        XCTAssertEqual(out.shape, [2, 3])
        let columns = try resize(x, scales: [0.5], [.ints("axes", [-1])])
        XCTAssertEqual(columns.shape, [2, 2])
        XCTAssertThrowsError(try resize(x, scales: [1, 1], sizes: [2, 4], []))
        XCTAssertThrowsError(try resize(x, scales: [2, 2], [.string("coordinate_transformation_mode", "tf_half_pixel_for_nn")]))
    }

    func testLegacyNearestFloorsUpAndCeilsDown() throws {
        let x = try floats([1, 2, 3, 4])
        let scales = try floats([0.75])
        let down = try SingleOp.run("Resize", opset: 10, inputs: [("x", x), ("scales", scales)])[0]
        XCTAssertEqual(try down.scalars(as: Float.self), [1, 3, 4])
        let up = try SingleOp.run("Upsample", opset: 7, inputs: [("x", try floats([1, 2], [1, 2]))],
                                  attributes: [.floats("scales", [1, 3])])[0]
        XCTAssertEqual(try up.scalars(as: Float.self), [1, 1, 1, 2, 2, 2])
        let linear = try SingleOp.run("Upsample", opset: 9, inputs: [("x", try floats([1, 2])), ("s", try floats([2]))],
                                      attributes: [.string("mode", "linear")])[0]
        XCTAssertEqual(try linear.scalars(as: Float.self), [1, 1.5, 2, 2])
        XCTAssertThrowsError(try SingleOp.run("Upsample", opset: 10, inputs: [("x", x), ("s", try floats([2]))]))
        XCTAssertThrowsError(try SingleOp.run("Upsample", opset: 9, inputs: [("x", x), ("s", try floats([0.5]))]))
    }

    func testHostileSizesAndScalesAreErrors() throws {
        let x = try floats([1, 2, 3, 4])
        XCTAssertThrowsError(try resize(x, sizes: [Int64(1) << 50], []))
        XCTAssertThrowsError(try resize(x, sizes: [-1], []))
        XCTAssertThrowsError(try resize(x, scales: [.nan], []))
        XCTAssertThrowsError(try resize(x, scales: [1e30], [.string("mode", "linear")]))
        let tiny = try resize(x, sizes: [1], [.string("mode", "cubic"), .int("antialias", 1)])
        XCTAssertEqual(tiny.shape, [1])
        let nanRoi = [Float.nan, 1]
        XCTAssertThrowsError(try resize(x, sizes: [2], roi: nanRoi, [.string("coordinate_transformation_mode", "tf_crop_and_resize")]))
        let grid = try Tensor(shape: [1, 3, 1], scalars: [Float.nan, .infinity, -1e30])
        let sampled = try SingleOp.run("GridSample", opset: 20, inputs: [("x", try floats([1, 2], [1, 1, 2])), ("g", grid)],
                                       attributes: [.string("padding_mode", "reflection"), .string("mode", "cubic")])[0]
        XCTAssertEqual(sampled.shape, [1, 1, 3])
        let huge = try Tensor(shape: [1], scalars: [Int64(1) << 45])
        XCTAssertThrowsError(try SingleOp.run("CenterCropPad", inputs: [("x", x), ("s", huge)]))
    }
}
