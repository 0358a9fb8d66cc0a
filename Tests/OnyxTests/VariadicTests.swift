import XCTest
@testable import Onyx

final class VariadicTests: XCTestCase {
    private func run(_ op: String, _ inputs: [Tensor], opset: Int = 13, attributes: [Attribute] = []) throws -> Tensor {
        try SingleOp.run(
            op, opset: opset, inputs: inputs.enumerated().map { ("in\($0.offset)", $0.element) }, attributes: attributes)[0]
    }

    func testMaxMinPropagateNaNAndBroadcast() throws {
        let a = try Tensor(shape: [2, 2], scalars: [Float(1), .nan, 5, -1])
        let b = try Tensor(shape: [2], scalars: [Float(3), 0])
        let c = try Tensor(shape: [], scalars: [Float(4)])
        let max = try run("Max", [a, b, c]).scalars(as: Float.self)
        XCTAssertEqual(max[0], 4)
        XCTAssertTrue(max[1].isNaN)
        XCTAssertEqual(Array(max[2...]), [5, 4])
        let min = try run("Min", [b, a]).scalars(as: Float.self)
        XCTAssertTrue(min[1].isNaN)
        XCTAssertEqual([min[0], min[2], min[3]], [1, 3, -1])
        XCTAssertEqual(try run("Max", [try Tensor(shape: [2], scalars: [UInt64.max, 3]), try Tensor(shape: [2], scalars: [UInt64(1), 9])]).scalars(as: UInt64.self), [UInt64.max, 9])
        XCTAssertEqual(try run("Min", [a]).shape, [2, 2])
        XCTAssertThrowsError(try run("Max", [a, b], opset: 6))
        XCTAssertThrowsError(try run("Max", [try Tensor(shape: [1], scalars: [true])]))
    }

    func testSumAndMean() throws {
        let a = try Tensor(shape: [3], scalars: [Float(1), 2, 3])
        let b = try Tensor(shape: [3], scalars: [Float(4), 5, 6])
        let c = try Tensor(shape: [1], scalars: [Float(3)])
        XCTAssertEqual(try run("Sum", [a, b, c]).scalars(as: Float.self), [8, 10, 12])
        XCTAssertEqual(try run("Mean", [a, b, c]).scalars(as: Float.self), [8.0 / 3, 10.0 / 3, 4])
        XCTAssertEqual(try run("Mean", [a]).scalars(as: Float.self), [1, 2, 3])
        let h = try run("Mean", [try Tensor(shape: [1], scalars: [Float16(1)]), try Tensor(shape: [1], scalars: [Float16(2)])])
        XCTAssertEqual(try h.scalars(as: Float16.self), [1.5])
        XCTAssertEqual(try run("Sum", [try Tensor(shape: [1], scalars: [Int32.max]), try Tensor(shape: [1], scalars: [Int32(1)])]).scalars(as: Int32.self), [Int32.min])
        XCTAssertThrowsError(try run("Mean", [try Tensor(shape: [1], scalars: [Int32(1)])]))
        XCTAssertThrowsError(try run("Sum", [a, c], opset: 6))
    }

    func testClipAttributesAndInputs() throws {
        let x = try Tensor(shape: [4], scalars: [Float(-3), 0.5, 2, .nan])
        let legacy = try run("Clip", [x], opset: 6, attributes: [.float("min", -1), .float("max", 1)]).scalars(as: Float.self)
        XCTAssertEqual(Array(legacy[0..<3]), [-1, 0.5, 1])
        XCTAssertTrue(legacy[3].isNaN)
        XCTAssertEqual(try run("Clip", [x], opset: 6, attributes: [.float("max", 0)]).scalars(as: Float.self)[0..<3], [-3, 0, 0])
        let onlyMax = try SingleOp.run(
            "Clip", opset: 13, inputs: [("x", x), ("", x), ("hi", try Tensor(shape: [1], scalars: [Float(1)]))])[0]
        XCTAssertEqual(onlyMax.shape, [4])
        XCTAssertEqual(try onlyMax.scalars(as: Float.self)[0..<3], [-3, 0.5, 1])
        let inverted = try run("Clip", [x, try Tensor(shape: [], scalars: [Float(2)]), try Tensor(shape: [], scalars: [Float(1)])])
        XCTAssertEqual(try inverted.scalars(as: Float.self)[0..<3], [1, 1, 1])
        let ints = try Tensor(shape: [3], scalars: [Int8(-128), 5, 127])
        XCTAssertEqual(try run("Clip", [ints, try Tensor(shape: [], scalars: [Int8(-2)])]).scalars(as: Int8.self), [-2, 5, 127])
        XCTAssertEqual(try run("Clip", [ints]).scalars(as: Int8.self), [-128, 5, 127])
        XCTAssertThrowsError(try run("Clip", [x, try Tensor(shape: [2], scalars: [Float(0), 1])]))
        XCTAssertThrowsError(try run("Clip", [x, try Tensor(shape: [], scalars: [Double(0)])]))
    }

    func testWhereBroadcastsAnyType() throws {
        let condition = try Tensor(shape: [2, 1], scalars: [true, false])
        let x = try Tensor(shape: [3], scalars: [Double(1), 2, 3])
        let y = try Tensor(shape: [], scalars: [Double(-1)])
        let out = try run("Where", [condition, x, y], opset: 16)
        XCTAssertEqual(out.shape, [2, 3])
        XCTAssertEqual(try out.scalars(as: Double.self), [1, 2, 3, -1, -1, -1])
        let sx = try Tensor(shape: [2], strings: ["a", "b"])
        let sy = try Tensor(shape: [2, 1], strings: ["x", "y"])
        let strings = try run("Where", [try Tensor(shape: [2], scalars: [true, false]), sx, sy], opset: 9)
        XCTAssertEqual(strings.shape, [2, 2])
        XCTAssertEqual(try strings.strings(), ["a", "x", "a", "y"])
        let hx = try Tensor(shape: [2], scalars: [Float16(1), 2])
        let hy = try Tensor(shape: [2], scalars: [Float16(3), 4])
        XCTAssertEqual(try run("Where", [try Tensor(shape: [2], scalars: [false, true]), hx, hy]).scalars(as: Float16.self), [3, 2])
        let complexBytes: [Float] = [1, 2, 3, 4]
        let cx = try Tensor(elementType: .complex64, shape: [2], buffer: complexBytes.withUnsafeBytes { TensorBuffer.copying($0) })
        let cy = try Tensor.zeros(.complex64, [])
        let picked = try run("Where", [try Tensor(shape: [2], scalars: [false, true]), cx, cy])
        XCTAssertEqual(try picked.complexComponents(), [0, 0, 3, 4])
        XCTAssertThrowsError(try run("Where", [condition, x, try Tensor(shape: [], scalars: [Float(0)])]))
        XCTAssertThrowsError(try run("Where", [try Tensor(shape: [1], scalars: [Int8(1)]), x, y]))
    }
}
