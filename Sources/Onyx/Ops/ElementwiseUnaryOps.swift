import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elementwise unary math and logic: Abs, Neg, Sqrt, Exp, Log, Ceil, Floor,
/// Round, Reciprocal, Sign, the trigonometric and hyperbolic functions, Erf,
/// IsNaN, IsInf, Not and BitwiseNot.
///
/// The output has the input's shape and type (bool for IsNaN / IsInf).
/// Float, double and float16 compute natively (transcendentals of float16
/// in Float); bfloat16 computes in Float and rounds back. Integer Abs and
/// Neg wrap (`Int.min` stays `Int.min`); Sign and Abs accept unsigned
/// integers, Neg only signed ones. Erf-9 on integers gives erf(x) truncated
/// toward zero. Round rounds halves to even. The versions differ only in
/// the types they list (and opset 1's ignored `consumed_inputs`).
enum ElementwiseUnaryOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Abs", versions: [1, 6, 13], builder(AbsRule.self, fast: ONYX_UNARY_ABS))
        registry.register("Neg", versions: [1, 6, 13], builder(NegRule.self, fast: ONYX_UNARY_NEG))
        registry.register("Sqrt", versions: [1, 6, 13], builder(SqrtRule.self, fast: ONYX_UNARY_SQRT))
        registry.register("Exp", versions: [1, 6, 13], builder(ExpRule.self, fast: ONYX_UNARY_EXP))
        registry.register("Log", versions: [1, 6, 13], builder(LogRule.self))
        registry.register("Ceil", versions: [1, 6, 13], builder(CeilRule.self))
        registry.register("Floor", versions: [1, 6, 13], builder(FloorRule.self))
        registry.register("Round", versions: [11, 22], builder(RoundRule.self))
        registry.register("Reciprocal", versions: [1, 6, 13], builder(ReciprocalRule.self, fast: ONYX_UNARY_RECIPROCAL))
        registry.register("Sign", versions: [9, 13], builder(SignRule.self))
        registry.register("Sin", versions: [7, 22], builder(SinRule.self))
        registry.register("Cos", versions: [7, 22], builder(CosRule.self))
        registry.register("Tan", versions: [7, 22], builder(TanRule.self))
        registry.register("Asin", versions: [7, 22], builder(AsinRule.self))
        registry.register("Acos", versions: [7, 22], builder(AcosRule.self))
        registry.register("Atan", versions: [7, 22], builder(AtanRule.self))
        registry.register("Sinh", versions: [9, 22], builder(SinhRule.self))
        registry.register("Cosh", versions: [9, 22], builder(CoshRule.self))
        registry.register("Asinh", versions: [9, 22], builder(AsinhRule.self))
        registry.register("Acosh", versions: [9, 22], builder(AcoshRule.self))
        registry.register("Atanh", versions: [9, 22], builder(AtanhRule.self))
        registry.register("Erf", versions: [9, 13], builder(ErfRule.self, fast: ONYX_UNARY_ERF))
        registry.register("BitwiseNot", since: 18, builder(BitwiseNotRule.self))
        registry.register("IsNaN", versions: [9, 13, 20]) { _ in
            ClosureKernel { inputs, _ in
                [.tensor(try FloatClassVisitor(x: try inputs.tensor(0), nan: true, positive: false, negative: false).apply())]
            }
        }
        registry.register("IsInf", versions: [10, 20]) { context in
            let positive = try context.int("detect_positive", default: 1) != 0
            let negative = try context.int("detect_negative", default: 1) != 0
            return ClosureKernel { inputs, _ in
                [.tensor(try FloatClassVisitor(x: try inputs.tensor(0), nan: false, positive: positive, negative: negative).apply())]
            }
        }
        registry.register("Not", since: 1) { _ in
            ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                return [.tensor(try x.withBoolBytes { bytes in
                    try Tensor.make(Bool.self, x.shape) { out in
                        for i in 0..<out.count { out[i] = bytes[i] == 0 }
                    }
                })]
            }
        }
    }

    /// The kernel builder for `rule`; float32 tensors take the C loop
    /// `fast` when one is given (``FloatElementwise``).
    static func builder<Rule: UnaryRule>(_ rule: Rule.Type, fast: onyx_unary_op? = nil) -> OpBuilder {
        { _ in
            ClosureKernel(inPlaceInputs: fast == nil ? [] : [0]) { inputs, run in
                let x = try inputs.tensor(0)
                if let fast, x.elementType == .float {
                    return [.tensor(try FloatElementwise.unary(fast, x, threads: run.options.threads, context: run))]
                }
                return [.tensor(try UnaryVisitor<Rule>(x: x).apply())]
            }
        }
    }
}

/// Which integer types a unary rule accepts.
enum IntegerDomain { case none, signed, all }

/// Per-element computation of one unary operator.
protocol UnaryRule: SendableMetatype {
    static var acceptsFloats: Bool { get }
    static var integers: IntegerDomain { get }
    /// `T` is Float, Double or Float16.
    static func float<T: BinaryFloatingPoint>(_ x: T) -> T
    static func integer<T: FixedWidthInteger>(_ x: T) -> T
}

extension UnaryRule {
    static var acceptsFloats: Bool { true }
    static var integers: IntegerDomain { .none }
    static func integer<T: FixedWidthInteger>(_ x: T) -> T { x }
}

enum AbsRule: UnaryRule {
    static var integers: IntegerDomain { .all }
    static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x.magnitude }
    static func integer<T: FixedWidthInteger>(_ x: T) -> T { x < 0 ? 0 &- x : x }
}

enum NegRule: UnaryRule {
    static var integers: IntegerDomain { .signed }
    static func float<T: BinaryFloatingPoint>(_ x: T) -> T { -x }
    static func integer<T: FixedWidthInteger>(_ x: T) -> T { 0 &- x }
}

enum SignRule: UnaryRule {
    static var integers: IntegerDomain { .all }
    static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x > 0 ? 1 : x < 0 ? -1 : x.isNaN ? x : 0 }
    static func integer<T: FixedWidthInteger>(_ x: T) -> T { x > 0 ? 1 : x == 0 ? 0 : 0 &- 1 }
}

enum ErfRule: UnaryRule {
    static var integers: IntegerDomain { .all }
    static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { erff($0) }, { erf($0) }) }
    static func integer<T: FixedWidthInteger>(_ x: T) -> T {
        T(exactly: erf(Double(x)).rounded(.towardZero)) ?? 0
    }
}

enum BitwiseNotRule: UnaryRule {
    static var acceptsFloats: Bool { false }
    static var integers: IntegerDomain { .all }
    static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x }
    static func integer<T: FixedWidthInteger>(_ x: T) -> T { ~x }
}

enum SqrtRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x.squareRoot() } }
enum CeilRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x.rounded(.up) } }
enum FloorRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x.rounded(.down) } }
enum RoundRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { x.rounded(.toNearestOrEven) } }
enum ReciprocalRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { 1 / x } }
enum ExpRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { expf($0) }, { exp($0) }) } }
enum LogRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { logf($0) }, { log($0) }) } }
enum SinRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { sinf($0) }, { sin($0) }) } }
enum CosRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { cosf($0) }, { cos($0) }) } }
enum TanRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { tanf($0) }, { tan($0) }) } }
enum AsinRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { asinf($0) }, { asin($0) }) } }
enum AcosRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { acosf($0) }, { acos($0) }) } }
enum AtanRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { atanf($0) }, { atan($0) }) } }
enum SinhRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { sinhf($0) }, { sinh($0) }) } }
enum CoshRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { coshf($0) }, { cosh($0) }) } }
enum AsinhRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { asinhf($0) }, { asinh($0) }) } }
enum AcoshRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { acoshf($0) }, { acosh($0) }) } }
enum AtanhRule: UnaryRule { static func float<T: BinaryFloatingPoint>(_ x: T) -> T { libm(x, { atanhf($0) }, { atanh($0) }) } }

/// Applies a `UnaryRule` to every element, keeping shape and type.
struct UnaryVisitor<Rule: UnaryRule>: ElementVisitor {
    let x: Tensor

    func apply() throws -> Tensor { try x.elementType.visit(self) }

    private func unsupported() -> OnyxError {
        OnyxError.wrongElementType("the operator is not defined on \(x.elementType)")
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        guard Rule.acceptsFloats else { throw unsupported() }
        return try Tensor.make(T.self, x.shape) { out in
            try x.withElements(T.self) { source in
                for i in 0..<out.count { out[i] = Rule.float(source[i]) }
            }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        switch Rule.integers {
        case .none: throw unsupported()
        case .signed: guard T.isSigned else { throw unsupported() }
        case .all: break
        }
        return try Tensor.make(T.self, x.shape) { out in
            try x.withElements(T.self) { source in
                for i in 0..<out.count { out[i] = Rule.integer(source[i]) }
            }
        }
    }

    func visitBool() throws -> Tensor { throw unsupported() }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard Rule.acceptsFloats, type.isFloatingPoint else { throw unsupported() }
        var values = try x.floatValues()
        for i in values.indices { values[i] = Rule.float(values[i]) }
        return try Tensor.fromFloats(values, shape: x.shape, as: type)
    }
}

/// IsNaN (`nan`) or IsInf (`positive` / `negative` select which infinities).
struct FloatClassVisitor: ElementVisitor {
    let x: Tensor
    let nan: Bool
    let positive: Bool
    let negative: Bool

    func apply() throws -> Tensor { try x.elementType.visit(self) }

    @inline(__always)
    private func test<T: FloatingPoint>(_ value: T) -> Bool {
        nan ? value.isNaN : value.isInfinite && (value > 0 ? positive : negative)
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try Tensor.make(Bool.self, x.shape) { out in
            try x.withElements(T.self) { source in
                for i in 0..<out.count { out[i] = test(source[i]) }
            }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        throw OnyxError.wrongElementType("the operator is defined on floating-point types, not \(x.elementType)")
    }

    func visitBool() throws -> Tensor {
        throw OnyxError.wrongElementType("the operator is defined on floating-point types, not bool")
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else {
            throw OnyxError.wrongElementType("the operator is defined on floating-point types, not \(type)")
        }
        let values = try x.floatValues()
        return try Tensor.make(Bool.self, x.shape) { out in
            for i in 0..<out.count { out[i] = test(values[i]) }
        }
    }
}
