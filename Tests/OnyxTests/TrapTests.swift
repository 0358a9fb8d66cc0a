import Onyx
import OnyxTesting
import XCTest

/// Integer arithmetic, division, shifts and float → integer casts at the
/// edges of every integer type: each wraps as two's complement, returns
/// the documented value, or throws an `OnyxError`; none traps (a trap
/// would kill the test process).
final class TrapTests: XCTestCase {
    /// Runs a one-node graph `op(inputs) → y` on `feeds` (inputs in order).
    private func run(
        _ op: String, _ feeds: [Tensor], opset: Int = 21, _ attributes: KeyValuePairs<String, AttributeLiteral> = [:]
    ) throws -> Tensor {
        var g = GraphBuilder(opset: opset)
        let names = feeds.indices.map { "x\($0)" }
        for (name, tensor) in zip(names, feeds) { g.input(name, tensor.shape, tensor.elementType) }
        g.node(op, names, ["y"], attributes)
        g.output("y")
        let session = try Session(model: try g.model())
        guard let y = try session.run(Dictionary(uniqueKeysWithValues: zip(names, feeds)))["y"] else {
            throw OnyxError.invalidModel("no output")
        }
        return y
    }

    private func tensor<T: TensorScalar>(_ values: [T]) throws -> Tensor { try Tensor(shape: [values.count], scalars: values) }

    private func values<T: TensorScalar>(_ tensor: Tensor, _: T.Type) throws -> [T] { try tensor.scalars(as: T.self) }

    /// Add / Sub / Mul / Sum / CumSum / ReduceSum / ReduceProd / ReduceSumSquare wrap.
    private func checkWrapping<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws {
        let a = try tensor([T.max, T.min, T.max, T.min])
        let b = try tensor([T(1), T(0) &- 1, T.max, T.max])
        let pairs = Array(zip(try values(a, T.self), try values(b, T.self)))
        XCTAssertEqual(try values(run("Add", [a, b]), T.self), pairs.map { $0 &+ $1 }, "Add \(T.self)")
        XCTAssertEqual(try values(run("Sub", [a, b]), T.self), pairs.map { $0 &- $1 }, "Sub \(T.self)")
        XCTAssertEqual(try values(run("Mul", [a, b]), T.self), pairs.map { $0 &* $1 }, "Mul \(T.self)")
        XCTAssertEqual(try values(run("Sum", [a, b, a]), T.self), pairs.map { $0 &+ $1 &+ $0 }, "Sum \(T.self)")
        let ones = try tensor([T.max, T.max, T.max])
        XCTAssertEqual(
            try values(run("CumSum", [ones, Tensor(scalar: Int64(0))]), T.self), [T.max, T.max &+ T.max, T.max &* 3],
            "CumSum \(T.self)")
        XCTAssertEqual(try values(run("ReduceSum", [ones], ["keepdims": 0]), T.self), [T.max &* 3], "ReduceSum \(T.self)")
        XCTAssertEqual(
            try values(run("ReduceProd", [ones], opset: 18, ["keepdims": 0]), T.self), [T.max &* T.max &* T.max],
            "ReduceProd \(T.self)")
        XCTAssertEqual(
            try values(run("ReduceSumSquare", [ones], opset: 18, ["keepdims": 0]), T.self), [(T.max &* T.max) &* 3],
            "ReduceSumSquare \(T.self)")
    }

    func testIntegerArithmeticWrapsForEveryIntegerType() throws {
        try checkWrapping(Int8.self)
        try checkWrapping(Int16.self)
        try checkWrapping(Int32.self)
        try checkWrapping(Int64.self)
        try checkWrapping(UInt8.self)
        try checkWrapping(UInt16.self)
        try checkWrapping(UInt32.self)
        try checkWrapping(UInt64.self)
    }

    /// Neg and Abs of the minimum of a signed type give the minimum back.
    private func checkSignedEdges<T: FixedWidthInteger & SignedInteger & TensorScalar>(_ type: T.Type) throws {
        let x = try tensor([T.min, T.max, T(0) &- 1, 0])
        XCTAssertEqual(try values(run("Neg", [x]), T.self), [T.min, T.min &+ 1, 1, 0], "Neg \(T.self)")
        XCTAssertEqual(try values(run("Abs", [x]), T.self), [T.min, T.max, 1, 0], "Abs \(T.self)")
        // INT_MIN / -1 and INT_MIN mod -1 overflow in hardware; here they wrap.
        let minimum = try tensor([T.min])
        let minusOne = try tensor([T(0) &- 1])
        XCTAssertEqual(try values(run("Div", [minimum, minusOne]), T.self), [T.min], "Div \(T.self)")
        XCTAssertEqual(try values(run("Mod", [minimum, minusOne]), T.self), [0], "Mod \(T.self)")
        XCTAssertEqual(try values(run("Mod", [minimum, minusOne], ["fmod": 1]), T.self), [0], "fmod \(T.self)")
    }

    func testSignedMinimumNegatesAndDividesWithoutTrapping() throws {
        try checkSignedEdges(Int8.self)
        try checkSignedEdges(Int16.self)
        try checkSignedEdges(Int32.self)
        try checkSignedEdges(Int64.self)
    }

    /// Division and modulo by zero are errors naming the node, never SIGFPE.
    private func checkDivisionByZero<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws {
        let a = try tensor([T.max, 1])
        let zero = try tensor([T(1), T(0)])
        for (op, attributes) in [("Div", [:]), ("Mod", [:]), ("Mod", ["fmod": 1])] as [(String, KeyValuePairs<String, AttributeLiteral>)] {
            XCTAssertThrowsError(try run(op, [a, zero], attributes), "\(op) \(T.self)") { error in
                guard let error = error as? OnyxError else { return XCTFail("\(error)") }
                XCTAssertTrue(error.description.contains("by zero"), error.description)
                XCTAssertEqual(error.node?.opType, op, error.description)
            }
        }
    }

    func testIntegerDivisionByZeroIsAnErrorForEveryIntegerType() throws {
        try checkDivisionByZero(Int8.self)
        try checkDivisionByZero(Int16.self)
        try checkDivisionByZero(Int32.self)
        try checkDivisionByZero(Int64.self)
        try checkDivisionByZero(UInt8.self)
        try checkDivisionByZero(UInt16.self)
        try checkDivisionByZero(UInt32.self)
        try checkDivisionByZero(UInt64.self)
    }

    /// Shifts by the bit width or more give 0.
    private func checkShifts<T: FixedWidthInteger & UnsignedInteger & TensorScalar>(_ type: T.Type) throws {
        let x = try tensor([T.max, T.max, T.max, T.max])
        let amounts = try tensor([T(T.bitWidth - 1), T(T.bitWidth), T(T.bitWidth + 1), T.max])
        XCTAssertEqual(
            try values(run("BitShift", [x, amounts], ["direction": "LEFT"]), T.self), [T(1) << (T.bitWidth - 1), 0, 0, 0],
            "LEFT \(T.self)")
        XCTAssertEqual(
            try values(run("BitShift", [x, amounts], ["direction": "RIGHT"]), T.self), [1, 0, 0, 0], "RIGHT \(T.self)")
    }

    func testShiftsByTheBitWidthOrMoreGiveZero() throws {
        try checkShifts(UInt8.self)
        try checkShifts(UInt16.self)
        try checkShifts(UInt32.self)
        try checkShifts(UInt64.self)
    }

    /// Cast from NaN, ±Inf and out-of-range floats to integers: int64
    /// saturates (NaN → 0); other integer types truncate toward zero and
    /// keep the low bits, and NaN, ±Inf and values beyond [-2^63, 2^64)
    /// give 0 (`ElementCodec.IntegerConversion`).
    private func checkCast<T: FixedWidthInteger & TensorScalar>(_ type: T.Type, from source: [Float]) throws {
        let x = try tensor(source)
        let y = try values(run("Cast", [x], ["to": AttributeLiteral(integerLiteral: Int(T.elementType.rawValue))]), T.self)
        let expected: [T] = source.map { value in
            if T.self == Int64.self {
                if value.isNaN { return 0 }
                if value >= 0x1p63 { return T(truncatingIfNeeded: Int64.max) }
                if value <= -0x1p63 { return T(truncatingIfNeeded: Int64.min) }
                return T(truncatingIfNeeded: Int64(value))
            }
            if value >= -0x1p63 && value < 0x1p63 { return T(truncatingIfNeeded: Int64(value)) }
            if value >= 0x1p63 && value < 0x1p64 { return T(truncatingIfNeeded: UInt64(value)) }
            return 0
        }
        XCTAssertEqual(y, expected, "Cast to \(T.self)")
    }

    func testCastOfNonFiniteAndOutOfRangeFloatsIsDefined() throws {
        let source: [Float] = [.nan, .infinity, -.infinity, 1e30, -1e30, 300.7, -300.7, 0x1p63, 0x1p64, -0x1p63, 65536.5, -0.9]
        try checkCast(Int8.self, from: source)
        try checkCast(Int16.self, from: source)
        try checkCast(Int32.self, from: source)
        try checkCast(Int64.self, from: source)
        try checkCast(UInt8.self, from: source)
        try checkCast(UInt16.self, from: source)
        try checkCast(UInt32.self, from: source)
        try checkCast(UInt64.self, from: source)
        // Spot checks of the rule itself, independent of the formula above.
        XCTAssertEqual(try values(run("Cast", [tensor(source)], ["to": 3]), Int8.self)[5...6], [44, -44])
        XCTAssertEqual(
            try values(run("Cast", [tensor(source)], ["to": 7]), Int64.self)[0...4], [0, .max, .min, .max, .min])
    }

    /// float8 targets saturate to the largest finite value with
    /// `saturate = 1` (the spec's rule), and NaN stays NaN.
    func testCastToFloat8SaturatesAsTheSpecSays() throws {
        let x = try tensor([Float.infinity, -Float.infinity, 1e30, .nan])
        let y = try run("Cast", [x], ["to": AttributeLiteral(integerLiteral: Int(ElementType.float8e4m3fn.rawValue)), "saturate": 1])
        let back = try y.floatValues()
        XCTAssertEqual(Array(back[0...2]), [448, -448, 448])
        XCTAssertTrue(back[3].isNaN)
    }
}
