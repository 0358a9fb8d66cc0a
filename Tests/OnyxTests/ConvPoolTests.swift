import XCTest
@testable import Onyx

final class ConvPoolTests: XCTestCase {
    func testConvWithPaddingStrideAndBias() throws {
        // 1x1x3x3 input, 2x2 kernel of ones, pads 1, stride 2: each output sums a 2x2 window.
        let x = try Tensor(shape: [1, 1, 3, 3], scalars: (1...9).map { Float($0) })
        let w = try Tensor(shape: [1, 1, 2, 2], scalars: [Float](repeating: 1, count: 4))
        let b = try Tensor(shape: [1], scalars: [Float(0.5)])
        let out = try SingleOp.run(
            "Conv", inputs: [("x", x), ("w", w), ("b", b)],
            attributes: [.ints("pads", [1, 1, 1, 1]), .ints("strides", [2, 2])])[0]
        XCTAssertEqual(out.shape, [1, 1, 2, 2])
        XCTAssertEqual(try out.scalars(as: Float.self), [1.5, 5.5, 11.5, 28.5])
    }

    func testDepthwiseConvKeepsChannelsApart() throws {
        let x = try Tensor(shape: [1, 2, 1, 2], scalars: [Float(1), 2, 10, 20])
        let w = try Tensor(shape: [2, 1, 1, 1], scalars: [Float(3), -1])
        let out = try SingleOp.run("Conv", inputs: [("x", x), ("w", w)], attributes: [.int("group", 2)])[0]
        XCTAssertEqual(try out.scalars(as: Float.self), [3, 6, -10, -20])
        let bad = try Tensor(shape: [2, 2, 1, 1], scalars: [Float](repeating: 1, count: 4))
        XCTAssertThrowsError(try SingleOp.run("Conv", inputs: [("x", x), ("w", bad)], attributes: [.int("group", 2)]))
    }

    func testAutoPadSameUpperAndLower() throws {
        let attributes = ConvGeometry.Attributes(
            kernel: [2], strides: [1], dilations: [1], pads: nil, autoPad: "SAME_UPPER", ceilMode: false)
        let upper = try ConvGeometry(attributes, input: [4])
        XCTAssertEqual([upper.padBegin, upper.padEnd, upper.output], [[0], [1], [4]])
        var lowerAttributes = attributes
        lowerAttributes.autoPad = "SAME_LOWER"
        let lower = try ConvGeometry(lowerAttributes, input: [4])
        XCTAssertEqual([lower.padBegin, lower.padEnd, lower.output], [[1], [0], [4]])
    }

    func testConvTransposeInvertsStrideGeometry() throws {
        // 1-D: input [1, 2], kernel [1, 1], stride 2 → [1, 1, 2, 2]; output_padding 1 adds a zero.
        let x = try Tensor(shape: [1, 1, 2], scalars: [Float(1), 2])
        let w = try Tensor(shape: [1, 1, 2], scalars: [Float(1), 1])
        let out = try SingleOp.run(
            "ConvTranspose", inputs: [("x", x), ("w", w)],
            attributes: [.ints("strides", [2]), .ints("output_padding", [1])])[0]
        XCTAssertEqual(out.shape, [1, 1, 5])
        XCTAssertEqual(try out.scalars(as: Float.self), [1, 1, 2, 2, 0])
    }

    func testMaxPoolCeilModeAndIndices() throws {
        let x = try Tensor(shape: [1, 1, 1, 5], scalars: [Float(1), 5, 2, 4, 3])
        let outs = try SingleOp.run(
            "MaxPool", opset: 12, inputs: [("x", x)],
            attributes: [.ints("kernel_shape", [1, 2]), .ints("strides", [1, 2]), .int("ceil_mode", 1)], outputs: 2)
        XCTAssertEqual(outs[0].shape, [1, 1, 1, 3])
        XCTAssertEqual(try outs[0].scalars(as: Float.self), [5, 4, 3])
        XCTAssertEqual(try outs[1].scalars(as: Int64.self), [1, 3, 4])
    }

    func testAveragePoolCountIncludePad() throws {
        let x = try Tensor(shape: [1, 1, 1, 2], scalars: [Float(2), 4])
        let attributes: [Attribute] = [.ints("kernel_shape", [1, 2]), .ints("pads", [0, 1, 0, 0])]
        let excluded = try SingleOp.run("AveragePool", opset: 11, inputs: [("x", x)], attributes: attributes)[0]
        XCTAssertEqual(try excluded.scalars(as: Float.self), [2, 3])
        let included = try SingleOp.run(
            "AveragePool", opset: 11, inputs: [("x", x)], attributes: attributes + [.int("count_include_pad", 1)])[0]
        XCTAssertEqual(try included.scalars(as: Float.self), [1, 3])
    }

    func testSoftmaxAxisSemanticsChangeAtOpset13() throws {
        let x = try Tensor(shape: [1, 2, 2], scalars: [Float(0), 0, 0, 0])
        let old = try SingleOp.run("Softmax", opset: 11, inputs: [("x", x)])[0]
        XCTAssertEqual(try old.scalars(as: Float.self), [0.25, 0.25, 0.25, 0.25])
        let new = try SingleOp.run("Softmax", opset: 13, inputs: [("x", x)])[0]
        XCTAssertEqual(try new.scalars(as: Float.self), [0.5, 0.5, 0.5, 0.5])
    }
}
