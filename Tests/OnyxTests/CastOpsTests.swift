import XCTest
@testable import Onyx

final class CastOpsTests: XCTestCase {
    private func cast(_ x: Tensor, to type: ElementType, opset: Int = 21, _ extra: [Attribute] = []) throws -> Tensor {
        try SingleOp.run("Cast", opset: opset, inputs: [("x", x)], attributes: [.int("to", Int(type.rawValue))] + extra)[0]
    }

    func testIntegerToIntegerKeepsLowBits() throws {
        let x = try Tensor(shape: [4], scalars: [Int32(200), -1, 300, 65536 + 7])
        XCTAssertEqual(try cast(x, to: .int8).scalars(as: Int8.self), [-56, -1, 44, 7])
        XCTAssertEqual(try cast(x, to: .uint16).scalars(as: UInt16.self), [200, 65535, 300, 7])
        let big = try Tensor(shape: [2], scalars: [UInt64.max, 1 << 63])
        XCTAssertEqual(try cast(big, to: .int64).scalars(as: Int64.self), [-1, .min])
        XCTAssertEqual(try cast(try Tensor(shape: [1], scalars: [Int64(-1)]), to: .uint64).scalars(as: UInt64.self), [.max])
        XCTAssertEqual(try cast(x, to: .bool).scalars(as: Bool.self), [true, true, true, true])
    }

    func testFloatToIntegerTruncatesWithoutTrapping() throws {
        let x = try Tensor(shape: [6], scalars: [Float(-2.7), 2.7, .nan, .infinity, 1e20, -0.5])
        XCTAssertEqual(try cast(x, to: .int32).scalars(as: Int32.self), [-2, 2, 0, 0, 0, 0])
        XCTAssertEqual(try cast(x, to: .int64).scalars(as: Int64.self), [-2, 2, 0, .max, .max, 0])
        XCTAssertEqual(try cast(x, to: .bool).scalars(as: Bool.self), [true, true, true, true, true, true])
        let int4 = try cast(try Tensor(shape: [3], scalars: [Float(-9), 7.9, 8]), to: .int4)
        XCTAssertEqual(try int4.int64Values(), [7, 7, -8])
    }

    func testUnsignedToFloatStaysPositiveAndRoundsOnce() throws {
        let x = try Tensor(shape: [2], scalars: [UInt64.max, (1 << 53) + 1])
        XCTAssertEqual(try cast(x, to: .float).scalars(as: Float.self), [0x1p64, 0x1p53])
        XCTAssertEqual(try cast(x, to: .double).scalars(as: Double.self), [0x1p64, 0x1p53])
        // Just above a float tie; rounding through a Double first would make it an exact tie.
        let tie = try Tensor(shape: [1], scalars: [UInt64((1 << 54) + (1 << 30) + 1)])
        XCTAssertEqual(try cast(tie, to: .float).scalars(as: Float.self), [Float((1 << 54) + (1 << 31))])
    }

    func testSameTypeIsTheInputItself() throws {
        let x = try Tensor(shape: [2], scalars: [Float(1), 2])
        let y = try cast(x, to: .float)
        XCTAssertTrue(x.buffer === y.buffer)
    }

    func testFloat8SaturateAttribute() throws {
        let x = try Tensor(shape: [3], scalars: [Float(1e6), -.infinity, 0.47892547])
        XCTAssertEqual(try cast(x, to: .float8e4m3fn, opset: 19).floatValues(), [448, -448, 0.46875])
        let raw = try cast(x, to: .float8e4m3fn, opset: 19, [.int("saturate", 0)]).floatValues()
        XCTAssertTrue(raw[0].isNaN && raw[1].isNaN)
        XCTAssertEqual(try cast(x, to: .float8e5m2, opset: 19, [.int("saturate", 0)]).floatValues()[0], .infinity)
    }

    func testOpset1TakesTheTypeName() throws {
        let x = try Tensor(shape: [2], scalars: [Float(1.9), -1.9])
        let y = try SingleOp.run("Cast", opset: 1, inputs: [("x", x)], attributes: [.string("to", "INT16")])[0]
        XCTAssertEqual(try y.scalars(as: Int16.self), [1, -1])
    }

    func testNumbersToStringsLikeNumpy() throws {
        let floats = try Tensor(shape: [10], scalars: [Float(1e-7), 1e6, 0.5, -0.0, .nan, -.infinity, 1e-4, 100, 123456792, 0.1])
        XCTAssertEqual(try cast(floats, to: .string).strings(),
                       ["1e-07", "1e+06", "0.5", "-0.0", "nan", "-inf", "1e-04", "100.0", "1.2345679e+08", "0.1"])
        let doubles = try Tensor(shape: [4], scalars: [1e6, 1e16, 0.1, 2.5e-5])
        XCTAssertEqual(try cast(doubles, to: .string).strings(), ["1000000.0", "1e+16", "0.1", "2.5e-05"])
        let halves = try Tensor.fromFloats([65504, 999, 1000, 0.1], shape: [4], as: .float16)
        XCTAssertEqual(try cast(halves, to: .string).strings(), ["6.55e+04", "999.0", "1e+03", "0.1"])
        XCTAssertEqual(try cast(try Tensor(shape: [2], scalars: [Int32(-5), 7]), to: .string).strings(), ["-5", "7"])
        XCTAssertEqual(try cast(try Tensor(shape: [2], scalars: [true, false]), to: .string).strings(), ["True", "False"])
        XCTAssertEqual(try cast(try Tensor(shape: [1], scalars: [UInt64.max]), to: .string).strings(), ["18446744073709551615"])
    }

    func testStringsToNumbers() throws {
        let text = try Tensor(shape: [7], strings: ["NaN", "INF", "-inf", "+INF", "1e-5", " 2.5 ", "-Infinity"])
        let values = try cast(text, to: .float).scalars(as: Float.self)
        XCTAssertTrue(values[0].isNaN)
        XCTAssertEqual(Array(values[1...]), [.infinity, -.infinity, .infinity, 1e-5, 2.5, -.infinity])
        let integers = try Tensor(shape: [4], strings: ["300", "100.5", "-7", "9223372036854775807"])
        XCTAssertEqual(try cast(integers, to: .int8).scalars(as: Int8.self), [44, 100, -7, -1])
        XCTAssertEqual(try cast(integers, to: .int64).scalars(as: Int64.self), [300, 100, -7, .max])
        let flags = try Tensor(shape: [4], strings: ["True", "false", "0", "2"])
        XCTAssertEqual(try cast(flags, to: .bool).scalars(as: Bool.self), [true, false, false, true])
        XCTAssertThrowsError(try cast(try Tensor(shape: [1], strings: ["abc"]), to: .float))
        XCTAssertThrowsError(try cast(try Tensor(shape: [1], strings: ["0x10"]), to: .double))
    }

    func testCastLikeTakesTheSecondInputsType() throws {
        let x = try Tensor(shape: [2], scalars: [Float(3.7), -3.7])
        let like = try Tensor(shape: [0], scalars: [Int16]())
        let y = try SingleOp.run("CastLike", opset: 15, inputs: [("x", x), ("like", like)])[0]
        XCTAssertEqual(try y.scalars(as: Int16.self), [3, -3])
        let f8 = try SingleOp.run(
            "CastLike", opset: 19, inputs: [("x", try Tensor(shape: [1], scalars: [Float(1e9)])),
                                            ("like", try Tensor.fromFloats([], shape: [0], as: .float8e4m3fnuz))],
            attributes: [.int("saturate", 0)])[0]
        XCTAssertTrue(try f8.floatValues()[0].isNaN)
    }

    func testUnsupportedTargetsAreErrors() throws {
        let x = try Tensor(shape: [1], scalars: [Float(1)])
        XCTAssertThrowsError(try SingleOp.run("Cast", inputs: [("x", x)], attributes: [.int("to", 0)]))
        XCTAssertThrowsError(try SingleOp.run("Cast", inputs: [("x", x)], attributes: [.int("to", 14)]))
        XCTAssertThrowsError(try SingleOp.run("Cast", opset: 24, inputs: [("x", x)],
                                              attributes: [.int("to", 24), .string("round_mode", "sideways")]))
    }
}
