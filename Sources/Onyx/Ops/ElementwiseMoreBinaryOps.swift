/// Pow, Mod, BitShift, BitwiseAnd / Or / Xor and the logical And / Or / Xor,
/// all with multidirectional broadcasting (And / Or / Xor and Pow of
/// opset < 7 use the legacy `broadcast` / `axis` attributes instead).
///
/// - Pow: the output has the base's type; the exponent may be of any numeric
///   type. Integer ** integer is exact with two's-complement wrap; a
///   negative exponent gives 1 / base^n truncated (0 unless the base is ±1;
///   0 ** negative is an error). Other combinations compute in Double and
///   convert to the base type as `Cast` does.
/// - Mod: `fmod = 0` is the floored remainder (sign of the divisor), `fmod = 1`
///   the truncated one (C `fmod`, sign of the dividend). Before opset 28
///   floating-point inputs require `fmod = 1`. Integer modulo by zero is an error.
/// - BitShift: `direction` is LEFT or RIGHT; right shifts of signed integers
///   (opset 28) are arithmetic. A negative amount or one of at least the bit
///   width gives 0 (-1 for a right shift of a negative value), never a trap.
enum ElementwiseMoreBinaryOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Pow", versions: [1, 7, 12, 13, 15]) { context in
            let legacy = try LegacyBroadcast(context)
            return ClosureKernel { inputs, _ in
                let (a, b) = try legacy.operands(try inputs.tensor(0), try inputs.tensor(1))
                return [.tensor(try power(a, b))]
            }
        }
        registry.register("Mod", versions: [10, 13, 28]) { context in
            let fmod = try context.int("fmod", default: 0)
            guard fmod == 0 || fmod == 1 else {
                throw OnyxError.unsupportedOperator("attribute \"fmod\" = \(fmod) is not 0 or 1")
            }
            let floatsNeedFmod = context.opset < 28
            return ClosureKernel { inputs, _ in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                if fmod == 1 { return [.tensor(try ArithmeticVisitor<TruncatedModRule>(a: a, b: b).apply())] }
                if floatsNeedFmod && a.elementType.isFloatingPoint {
                    throw OnyxError.invalidModel("Mod of floating-point \(a.elementType) needs fmod = 1 before opset 28")
                }
                return [.tensor(try ArithmeticVisitor<FlooredModRule>(a: a, b: b).apply())]
            }
        }
        registry.register("BitShift", versions: [11, 28]) { context in
            guard let direction = try context.string("direction") else {
                throw OnyxError.invalidModel("attribute \"direction\" is required")
            }
            try context.check("direction", direction, in: ["LEFT", "RIGHT"])
            let unsignedOnly = context.opset < 28
            return ClosureKernel { inputs, _ in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                if unsignedOnly && [.int8, .int16, .int32, .int64].contains(a.elementType) {
                    throw OnyxError.wrongElementType("BitShift of signed \(a.elementType) needs opset 28")
                }
                if direction == "LEFT" { return [.tensor(try IntegerBinaryVisitor<ShiftLeftRule>(a: a, b: b).apply())] }
                return [.tensor(try IntegerBinaryVisitor<ShiftRightRule>(a: a, b: b).apply())]
            }
        }
        registry.register("BitwiseAnd", since: 18, integerBuilder(BitwiseAndRule.self))
        registry.register("BitwiseOr", since: 18, integerBuilder(BitwiseOrRule.self))
        registry.register("BitwiseXor", since: 18, integerBuilder(BitwiseXorRule.self))
        registry.register("And", versions: [1, 7]) { try logical($0) { $0 && $1 } }
        registry.register("Or", versions: [1, 7]) { try logical($0) { $0 || $1 } }
        registry.register("Xor", versions: [1, 7]) { try logical($0) { $0 != $1 } }
    }

    static func integerBuilder<Rule: IntegerBinaryRule>(_ rule: Rule.Type) -> OpBuilder {
        { _ in
            ClosureKernel { inputs, _ in
                [.tensor(try IntegerBinaryVisitor<Rule>(a: try inputs.tensor(0), b: try inputs.tensor(1)).apply())]
            }
        }
    }

    static func logical(_ context: OpContext, _ op: @escaping @Sendable (Bool, Bool) -> Bool) throws -> any Kernel {
        let legacy = try LegacyBroadcast(context)
        return ClosureKernel { inputs, _ in
            let (a, b) = try legacy.operands(try inputs.tensor(0), try inputs.tensor(1))
            let shape = try Broadcast.shape([a.shape, b.shape])
            let result = try a.withBoolBytes { x in
                try b.withBoolBytes { y in
                    try Tensor.make(Bool.self, shape) { out in
                        try Broadcast.binary(x, a.shape, y, b.shape, into: out, outShape: shape) { op($0 != 0, $1 != 0) }
                    }
                }
            }
            return [.tensor(result)]
        }
    }

    /// Pow: `base ** exponent` in the base's type (see the family comment).
    static func power(_ base: Tensor, _ exponent: Tensor) throws -> Tensor {
        let baseType = base.elementType
        let exponentType = exponent.elementType
        guard baseType.isFloatingPoint || baseType.isInteger else {
            throw OnyxError.wrongElementType("Pow is not defined on a \(baseType) base")
        }
        guard exponentType.isFloatingPoint || exponentType.isInteger else {
            throw OnyxError.wrongElementType("Pow is not defined on a \(exponentType) exponent")
        }
        let shape = try Broadcast.shape([base.shape, exponent.shape])
        if baseType == .float && exponentType == .float {
            return try Tensor.make(Float.self, shape) { out in
                try base.withElements(Float.self) { x in
                    try exponent.withElements(Float.self) { y in
                        try Broadcast.binary(x, base.shape, y, exponent.shape, into: out, outShape: shape) {
                            Float(powDouble(Double($0), Double($1)))
                        }
                    }
                }
            }
        }
        if baseType.isInteger && exponentType.isInteger {
            let x = try base.int64Values()
            let y = try reducedExponents(exponent)
            let signed = ![.uint8, .uint16, .uint32, .uint64, .uint4, .uint2].contains(baseType)
            let count = try Tensor.checkedCount(shape)
            _ = try TensorAllocation.checkedBytes(.int64, count: count)
            var result = [Int64](repeating: 0, count: count)
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeBufferPointer { yp in
                    try result.withUnsafeMutableBufferPointer { out in
                        try Broadcast.binary(xp, base.shape, yp, exponent.shape, into: out, outShape: shape) {
                            try integerPower($0, $1, signedBase: signed)
                        }
                    }
                }
            }
            return try Tensor.fromInt64s(result, shape: shape, as: baseType)
        }
        let count = try Tensor.checkedCount(shape)
        _ = try TensorAllocation.checkedBytes(.double, count: count)
        let x = try base.doubleValues()
        let y = try exponent.doubleValues()
        var result = [Double](repeating: 0, count: count)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeBufferPointer { yp in
                try result.withUnsafeMutableBufferPointer { out in
                    try Broadcast.binary(xp, base.shape, yp, exponent.shape, into: out, outShape: shape) {
                        powDouble($0, $1)
                    }
                }
            }
        }
        return try Tensor.fromDoubles(result, shape: shape, as: baseType)
    }

    /// Integer exponents as Int64. A uint64 exponent e ≥ 2^63 becomes
    /// (e mod 2^62) + 2^62: that is ≥ 64 (even bases still reach 0) and
    /// congruent to e modulo 2^62, the order of every odd number's powers
    /// modulo 2^64, so wrapped powers are unchanged.
    static func reducedExponents(_ exponent: Tensor) throws -> [Int64] {
        guard exponent.elementType == .uint64 else { return try exponent.int64Values() }
        return try exponent.scalars(as: UInt64.self).map { e in
            e <= UInt64(Int64.max) ? Int64(e) : Int64((e & ((1 << 62) - 1)) | (1 << 62))
        }
    }

    /// `base ** exponent` modulo 2^64 (see the family comment for negative exponents).
    static func integerPower(_ base: Int64, _ exponent: Int64, signedBase: Bool) throws -> Int64 {
        if exponent < 0 {
            if base == 1 { return 1 }
            if base == -1 && signedBase { return exponent & 1 == 0 ? 1 : -1 }
            if base == 0 { throw OnyxError.invalidModel("integer 0 raised to a negative power") }
            return 0
        }
        var result: Int64 = 1
        var factor = base
        var remaining = UInt64(exponent)
        while remaining > 0 {
            if remaining & 1 == 1 { result = result &* factor }
            remaining >>= 1
            if remaining > 0 { factor = factor &* factor }
        }
        return result
    }
}

/// Mod with `fmod = 0`: `a - floor(a / b) * b`, the sign of `b`; for floats
/// a zero result takes b's sign, as numpy's `mod` does.
enum FlooredModRule: ArithmeticRule {
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T {
        let remainder = a.truncatingRemainder(dividingBy: b)
        if remainder == 0 { return T(signOf: b, magnitudeOf: 0) }
        return (remainder < 0) != (b < 0) ? remainder + b : remainder
    }

    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) throws -> T {
        guard b != 0 else { throw OnyxError.invalidModel("integer modulo by zero") }
        let remainder = a.remainderReportingOverflow(dividingBy: b).partialValue
        return remainder != 0 && (remainder < 0) != (b < 0) ? remainder &+ b : remainder
    }
}

/// Mod with `fmod = 1`: C `fmod`, `a - trunc(a / b) * b`, the sign of `a`.
enum TruncatedModRule: ArithmeticRule {
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a.truncatingRemainder(dividingBy: b) }

    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) throws -> T {
        guard b != 0 else { throw OnyxError.invalidModel("integer modulo by zero") }
        return a.remainderReportingOverflow(dividingBy: b).partialValue
    }
}

/// Per-element computation of a binary operator defined on integers only.
protocol IntegerBinaryRule: SendableMetatype {
    static func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T
}

enum BitwiseAndRule: IntegerBinaryRule { static func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a & b } }
enum BitwiseOrRule: IntegerBinaryRule { static func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a | b } }
enum BitwiseXorRule: IntegerBinaryRule { static func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a ^ b } }

enum ShiftLeftRule: IntegerBinaryRule {
    static func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
        b < 0 || b >= T.bitWidth ? 0 : a &<< b
    }
}

enum ShiftRightRule: IntegerBinaryRule {
    static func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
        b < 0 || b >= T.bitWidth ? (a < 0 ? 0 &- 1 : 0) : a &>> b
    }
}

/// Applies an `IntegerBinaryRule` to two same-typed integer tensors with broadcasting.
struct IntegerBinaryVisitor<Rule: IntegerBinaryRule>: ElementVisitor {
    let a: Tensor
    let b: Tensor

    func apply() throws -> Tensor {
        guard a.elementType == b.elementType else {
            throw OnyxError.wrongElementType("operands are \(a.elementType) and \(b.elementType)")
        }
        return try a.elementType.visit(self)
    }

    private func unsupported() -> OnyxError {
        OnyxError.wrongElementType("the operator is defined on 8- to 64-bit integers, not \(a.elementType)")
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        return try Tensor.make(T.self, shape) { out in
            try a.withElements(T.self) { x in
                try b.withElements(T.self) { y in
                    try Broadcast.binary(x, a.shape, y, b.shape, into: out, outShape: shape) { Rule.apply($0, $1) }
                }
            }
        }
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor { throw unsupported() }
    func visitBool() throws -> Tensor { throw unsupported() }
    func visitOther(_ type: ElementType) throws -> Tensor { throw unsupported() }
}
