import XCTest
@testable import Onyx

final class ElementwiseUnaryTests: XCTestCase {
    private func run(_ op: String, _ x: Tensor, opset: Int = 22, attributes: [Attribute] = []) throws -> Tensor {
        try SingleOp.run(op, opset: opset, inputs: [("x", x)], attributes: attributes)[0]
    }

    func testIntegerAbsAndNegWrap() throws {
        let x = try Tensor(shape: [4], scalars: [Int8.min, -5, 0, 7])
        XCTAssertEqual(try run("Abs", x).scalars(as: Int8.self), [Int8.min, 5, 0, 7])
        XCTAssertEqual(try run("Neg", x).scalars(as: Int8.self), [Int8.min, 5, 0, -7])
        let unsigned = try Tensor(shape: [2], scalars: [UInt16(3), 65535])
        XCTAssertEqual(try run("Abs", unsigned).scalars(as: UInt16.self), [3, 65535])
        XCTAssertThrowsError(try run("Neg", unsigned))
        XCTAssertThrowsError(try run("Sqrt", x))
    }

    func testRoundIsHalfToEvenAndSignKeepsNaN() throws {
        let x = try Tensor(shape: [8], scalars: [Float(0.5), 1.5, 2.5, -2.5, -0.5, 2.3, .infinity, -4.5])
        XCTAssertEqual(try run("Round", x).scalars(as: Float.self), [0, 2, 2, -2, -0, 2, .infinity, -4])
        let s = try run("Sign", try Tensor(shape: [4], scalars: [Float(-3), 0, 2, .nan])).scalars(as: Float.self)
        XCTAssertEqual(Array(s[0..<3]), [-1, 0, 1])
        XCTAssertTrue(s[3].isNaN)
        XCTAssertEqual(try run("Sign", try Tensor(shape: [3], scalars: [Int32(-9), 0, 4]), opset: 13).scalars(as: Int32.self), [-1, 0, 1])
        XCTAssertEqual(try run("Sign", try Tensor(shape: [2], scalars: [UInt8(0), 200]), opset: 13).scalars(as: UInt8.self), [0, 1])
    }

    func testTranscendentalsOnSeveralFloatTypes() throws {
        let d = try run("Exp", try Tensor(shape: [2], scalars: [Double(0), 1])).scalars(as: Double.self)
        XCTAssertEqual(d, [1, M_E])
        let h = try run("Sqrt", try Tensor(shape: [2], scalars: [Float16(4), 2])).scalars(as: Float16.self)
        XCTAssertEqual(h, [2, Float16(Float(2).squareRoot())])
        let b = try run("Log", try Tensor.fromFloats([1, 4], shape: [2], as: .bfloat16))
        XCTAssertEqual(b.elementType, .bfloat16)
        XCTAssertEqual(try b.floatValues()[0], 0)
        XCTAssertEqual(try b.floatValues()[1], Float(1.3828125))
        let e = try run("Erf", try Tensor(shape: [3], scalars: [Int32(0), 3, -7]), opset: 9)
        XCTAssertEqual(try e.scalars(as: Int32.self), [0, 0, -1])
    }

    func testIsNaNAndIsInfDetectFlags() throws {
        let x = try Tensor(shape: [4], scalars: [Float(1), .nan, .infinity, -.infinity])
        XCTAssertEqual(try run("IsNaN", x).scalars(as: Bool.self), [false, true, false, false])
        XCTAssertEqual(try run("IsInf", x).scalars(as: Bool.self), [false, false, true, true])
        XCTAssertEqual(try run("IsInf", x, attributes: [.int("detect_positive", 0)]).scalars(as: Bool.self), [false, false, false, true])
        XCTAssertEqual(try run("IsInf", x, attributes: [.int("detect_negative", 0)]).scalars(as: Bool.self), [false, false, true, false])
        let f8 = try Tensor.fromFloats([1, .infinity, .nan], shape: [3], as: .float8e5m2, saturate: false)
        XCTAssertEqual(try run("IsInf", f8).scalars(as: Bool.self), [false, true, false])
        XCTAssertThrowsError(try run("IsNaN", try Tensor(shape: [1], scalars: [Int32(1)])))
    }

    func testNotAndBitwiseNot() throws {
        let b = try Tensor(shape: [3], scalars: [true, false, true])
        XCTAssertEqual(try run("Not", b, opset: 1).scalars(as: Bool.self), [false, true, false])
        XCTAssertEqual(try run("BitwiseNot", try Tensor(shape: [2], scalars: [Int32(0), -2]), opset: 18).scalars(as: Int32.self), [-1, 1])
        XCTAssertEqual(try run("BitwiseNot", try Tensor(shape: [1], scalars: [UInt8(0x0F)]), opset: 18).scalars(as: UInt8.self), [0xF0])
        XCTAssertThrowsError(try run("BitwiseNot", try Tensor(shape: [1], scalars: [Float(1)]), opset: 18))
        XCTAssertThrowsError(try run("Not", try Tensor(shape: [1], scalars: [Int8(1)]), opset: 1))
    }
}
