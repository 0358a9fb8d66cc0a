import XCTest
@testable import Onyx

final class ElementwiseMoreBinaryTests: XCTestCase {
    private func run(
        _ op: String, _ a: Tensor, _ b: Tensor, opset: Int = 28, attributes: [Attribute] = []
    ) throws -> Tensor {
        try SingleOp.run(op, opset: opset, inputs: [("a", a), ("b", b)], attributes: attributes)[0]
    }

    func testIntegerPowWrapsAndHandlesNegativeExponents() throws {
        let base = try Tensor(shape: [6], scalars: [Int32(2), 3, -1, -1, 1, 5])
        let exponent = try Tensor(shape: [6], scalars: [Int64(31), 2, -3, -2, -7, -1])
        let out = try run("Pow", base, exponent, opset: 15)
        XCTAssertEqual(out.elementType, .int32)
        XCTAssertEqual(try out.scalars(as: Int32.self), [Int32.min, 9, -1, 1, 1, 0])
        XCTAssertThrowsError(try run("Pow", try Tensor(shape: [1], scalars: [Int32(0)]), try Tensor(shape: [1], scalars: [Int32(-1)]), opset: 15))
        let huge = try Tensor(shape: [3], scalars: [UInt64.max, UInt64.max, UInt64.max])
        let big = try run("Pow", try Tensor(shape: [3], scalars: [Int64(2), 3, -1]), huge, opset: 15).scalars(as: Int64.self)
        // 3^(2^64 - 1) mod 2^64, from Python's pow(3, 2**64 - 1, 2**64).
        XCTAssertEqual(big, [0, -6148914691236517205, -1])
    }

    func testMixedTypePow() throws {
        let ints = try Tensor(shape: [3], scalars: [Int64(2), 9, -8])
        let halves = try Tensor(shape: [], scalars: [Float(0.5)])
        XCTAssertEqual(try run("Pow", ints, halves, opset: 15).scalars(as: Int64.self), [1, 3, 0])
        let floats = try Tensor(shape: [2], scalars: [Float(1.5), -2])
        let three = try Tensor(shape: [], scalars: [UInt32(3)])
        XCTAssertEqual(try run("Pow", floats, three, opset: 15).scalars(as: Float.self), [3.375, -8])
        let legacy = try run(
            "Pow", try Tensor(shape: [2, 2], scalars: [Float(1), 2, 3, 4]), try Tensor(shape: [2], scalars: [Float(2), 3]),
            opset: 1, attributes: [.int("broadcast", 1), .int("axis", 0)])
        XCTAssertEqual(try legacy.scalars(as: Float.self), [1, 4, 27, 64])
    }

    func testIntegerModSignsAndErrors() throws {
        let a = try Tensor(shape: [5], scalars: [Int8(-7), 7, -7, 7, Int8.min])
        let b = try Tensor(shape: [5], scalars: [Int8(3), -3, -3, 3, -1])
        XCTAssertEqual(try run("Mod", a, b).scalars(as: Int8.self), [2, -2, -1, 1, 0])
        XCTAssertEqual(try run("Mod", a, b, attributes: [.int("fmod", 1)]).scalars(as: Int8.self), [-1, 1, -1, 1, 0])
        XCTAssertThrowsError(try run("Mod", a, try Tensor(shape: [], scalars: [Int8(0)]))) { error in
            XCTAssertTrue("\(error)".contains("modulo by zero"), "\(error)")
        }
        XCTAssertThrowsError(try run("Mod", a, b, attributes: [.int("fmod", 2)]))
    }

    func testFloatMod() throws {
        let a = try Tensor(shape: [5], scalars: [Float(-4), 4, 0, 3, .infinity])
        let b = try Tensor(shape: [5], scalars: [Float(3), -3, -2, -.infinity, 2])
        let truncated = try run("Mod", a, b, attributes: [.int("fmod", 1)]).scalars(as: Float.self)
        XCTAssertEqual(Array(truncated[0..<4]), [-1, 1, 0, 3])
        XCTAssertTrue(truncated[4].isNaN)
        let floored = try run("Mod", a, b).scalars(as: Float.self)
        XCTAssertEqual(Array(floored[0..<4]), [2, -2, 0, -.infinity])
        XCTAssertEqual(floored[2].sign, .minus)
        XCTAssertTrue(floored[4].isNaN)
        XCTAssertThrowsError(try run("Mod", a, b, opset: 13))
        XCTAssertEqual(try run("Mod", a, b, opset: 13, attributes: [.int("fmod", 1)]).scalars(as: Float.self)[0], -1)
    }

    func testBitShiftNeverTraps() throws {
        let x = try Tensor(shape: [5], scalars: [Int8(-128), -8, 1, 64, -1])
        let s = try Tensor(shape: [5], scalars: [Int8(1), 2, 8, -1, 7])
        XCTAssertEqual(try run("BitShift", x, s, attributes: [.string("direction", "RIGHT")]).scalars(as: Int8.self), [-64, -2, 0, 0, -1])
        XCTAssertEqual(try run("BitShift", x, s, attributes: [.string("direction", "LEFT")]).scalars(as: Int8.self), [0, -32, 0, 0, -128])
        let wide = try Tensor(shape: [2], scalars: [Int8(-5), 5])
        let far = try Tensor(shape: [], scalars: [Int8(100)])
        XCTAssertEqual(try run("BitShift", wide, far, attributes: [.string("direction", "RIGHT")]).scalars(as: Int8.self), [-1, 0])
        let u = try Tensor(shape: [2], scalars: [UInt32(1), 0x8000_0000])
        let us = try Tensor(shape: [2], scalars: [UInt32(31), 32])
        XCTAssertEqual(try run("BitShift", u, us, opset: 11, attributes: [.string("direction", "LEFT")]).scalars(as: UInt32.self), [0x8000_0000, 0])
        XCTAssertThrowsError(try run("BitShift", x, s, opset: 11, attributes: [.string("direction", "LEFT")]))
        XCTAssertThrowsError(try run("BitShift", u, us))
        XCTAssertThrowsError(try run("BitShift", u, us, attributes: [.string("direction", "UP")]))
    }

    func testBitwiseAndLogical() throws {
        let a = try Tensor(shape: [2], scalars: [UInt8(0b1100), 0xFF])
        let b = try Tensor(shape: [], scalars: [UInt8(0b1010)])
        XCTAssertEqual(try run("BitwiseAnd", a, b, opset: 18).scalars(as: UInt8.self), [0b1000, 0b1010])
        XCTAssertEqual(try run("BitwiseOr", a, b, opset: 18).scalars(as: UInt8.self), [0b1110, 0xFF])
        XCTAssertEqual(try run("BitwiseXor", a, b, opset: 18).scalars(as: UInt8.self), [0b0110, 0xF5])
        XCTAssertThrowsError(try run("BitwiseAnd", try Tensor(shape: [1], scalars: [Float(1)]), try Tensor(shape: [1], scalars: [Float(1)]), opset: 18))
        let p = try Tensor(shape: [2, 2], scalars: [true, true, false, false])
        let q = try Tensor(shape: [2], scalars: [true, false])
        XCTAssertEqual(try run("Xor", p, q, opset: 7).scalars(as: Bool.self), [false, true, true, false])
        XCTAssertEqual(try run("And", p, q, opset: 7).scalars(as: Bool.self), [true, false, false, false])
        let column = try run("Or", p, q, opset: 1, attributes: [.int("broadcast", 1), .int("axis", 0)])
        XCTAssertEqual(try column.scalars(as: Bool.self), [true, true, false, false])
        XCTAssertThrowsError(try run("Or", p, q, opset: 1))
    }
}
