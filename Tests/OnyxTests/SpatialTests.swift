import XCTest
@testable import Onyx

final class SpatialTests: XCTestCase {
    private func sample(
        _ x: Tensor, _ grid: [Float], gridShape: [Int], opset: Int = 20, _ attributes: [Attribute]
    ) throws -> Tensor {
        let g = try Tensor(shape: gridShape, scalars: grid)
        return try SingleOp.run("GridSample", opset: opset, inputs: [("x", x), ("grid", g)], attributes: attributes)[0]
    }

    func testGridSampleModeNamesFollowTheOpset() throws {
        let x = try Tensor(shape: [1, 1, 2, 2], scalars: [Float(1), 2, 3, 4])
        let center = try sample(x, [0, 0], gridShape: [1, 1, 1, 2], opset: 16, [.string("mode", "bilinear")])
        XCTAssertEqual(try center.scalars(as: Float.self), [2.5])
        XCTAssertThrowsError(try sample(x, [0, 0], gridShape: [1, 1, 1, 2], opset: 16, [.string("mode", "linear")]))
        XCTAssertThrowsError(try sample(x, [0, 0], gridShape: [1, 1, 1, 2], opset: 20, [.string("mode", "bilinear")]))
        let corner = try sample(x, [1, -1], gridShape: [1, 1, 1, 2], [.int("align_corners", 1)])
        XCTAssertEqual(try corner.scalars(as: Float.self), [2])
    }

    func testGridSamplePaddingModesIn1D() throws {
        let x = try Tensor(shape: [1, 1, 3], scalars: [Float(1), 2, 3])
        let aligned = Attribute.int("align_corners", 1)
        let reflected = try sample(x, [1.5, 2], gridShape: [1, 2, 1], [aligned, .string("padding_mode", "reflection")])
        XCTAssertEqual(try reflected.scalars(as: Float.self), [2.5, 2])
        let zeros = try sample(x, [1.5, 2], gridShape: [1, 2, 1], [aligned])
        XCTAssertEqual(try zeros.scalars(as: Float.self), [1.5, 0])
        let border = try sample(x, [1.5, 2], gridShape: [1, 2, 1], [aligned, .string("padding_mode", "border")])
        XCTAssertEqual(try border.scalars(as: Float.self), [3, 3])
        let nearest = try sample(x, [0.5, -0.5], gridShape: [1, 2, 1], [aligned, .string("mode", "nearest")])
        XCTAssertEqual(try nearest.scalars(as: Float.self), [3, 1])
    }

    func testGridSampleNearestCopiesAnyType() throws {
        let big = try Tensor(shape: [1, 1, 2], scalars: [Int64.max, Int64.min])
        let out = try sample(big, [1, -1, 5], gridShape: [1, 3, 1], [.int("align_corners", 1), .string("mode", "nearest")])
        XCTAssertEqual(try out.scalars(as: Int64.self), [Int64.min, Int64.max, 0])
    }

    func testAffineGridBaseCoordinates() throws {
        let theta = try Tensor(shape: [1, 2, 3], scalars: [Float(1), 0, 0.5, 0, 1, 0])
        let size = try Tensor(shape: [4], scalars: [Int64(1), 1, 2, 3])
        let grid = try SingleOp.run("AffineGrid", inputs: [("t", theta), ("s", size)])[0]
        XCTAssertEqual(grid.shape, [1, 2, 3, 2])
        let values = try grid.scalars(as: Float.self)
        XCTAssertEqual(values[0], -2.0 / 3 + 0.5, accuracy: 1e-6)
        XCTAssertEqual(values[1], -0.5, accuracy: 1e-6)
        XCTAssertEqual(values[10], 2.0 / 3 + 0.5, accuracy: 1e-6)
        XCTAssertEqual(values[11], 0.5, accuracy: 1e-6)
        let aligned = try SingleOp.run("AffineGrid", inputs: [("t", theta), ("s", size)], attributes: [.int("align_corners", 1)])[0]
        XCTAssertEqual(Array(try aligned.scalars(as: Float.self)[0..<6]), [-0.5, -1, 0.5, -1, 1.5, -1])
    }

    func testCol2ImAddsOverlaps() throws {
        let input = try Tensor(shape: [1, 2, 2], scalars: [Int32(1), 2, 10, 20])
        let image = try Tensor(shape: [2], scalars: [Int64(1), 3])
        let block = try Tensor(shape: [2], scalars: [Int64(1), 2])
        let out = try SingleOp.run("Col2Im", inputs: [("x", input), ("i", image), ("b", block)])[0]
        XCTAssertEqual(out.shape, [1, 1, 1, 3])
        XCTAssertEqual(try out.scalars(as: Int32.self), [1, 12, 20])
        let wrong = try Tensor(shape: [1, 2, 3], scalars: [Int32](repeating: 1, count: 6))
        XCTAssertThrowsError(try SingleOp.run("Col2Im", inputs: [("x", wrong), ("i", image), ("b", block)]))
    }

    func testCenterCropPadCentersWithTheExtraOnTheRight() throws {
        let x = try Tensor(shape: [5], scalars: [Float(1), 2, 3, 4, 5])
        let crop = try SingleOp.run("CenterCropPad", inputs: [("x", x), ("s", try Tensor(shape: [1], scalars: [Int64(2)]))])[0]
        XCTAssertEqual(try crop.scalars(as: Float.self), [2, 3])
        let short = try Tensor(shape: [1, 2], strings: ["a", "b"])
        let pad = try SingleOp.run("CenterCropPad", inputs: [("x", short), ("s", try Tensor(shape: [1], scalars: [Int32(5)]))],
                                   attributes: [.ints("axes", [-1])])[0]
        XCTAssertEqual(try pad.strings(), ["", "a", "b", "", ""])
        XCTAssertThrowsError(try SingleOp.run("CenterCropPad", inputs: [("x", x), ("s", try Tensor(shape: [1], scalars: [Int64(-1)]))]))
    }
}
