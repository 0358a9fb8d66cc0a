import CKernels

/// Add, Sub, Mul, Div and the comparisons, with multidirectional
/// broadcasting (and the `broadcast`/`axis` attributes of opset ≤ 6).
///
/// Integer arithmetic wraps as two's complement; integer division by zero
/// is an error, never a trap; `INT_MIN / -1` wraps. Types without native
/// Swift arithmetic (bfloat16, float8) compute in Float and round back.
enum ElementwiseBinaryOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Add", versions: [1, 7]) { try arithmetic(AddRule.self, $0) }
        registry.register("Sub", versions: [1, 7]) { try arithmetic(SubRule.self, $0) }
        registry.register("Mul", versions: [1, 7]) { try arithmetic(MulRule.self, $0) }
        registry.register("Div", versions: [1, 7]) { try arithmetic(DivRule.self, $0) }
        registry.register("Equal", versions: [1, 7]) { try comparison(EqualRule.self, $0) }
        registry.register("Less", versions: [1, 7]) { try comparison(LessRule.self, $0) }
        registry.register("LessOrEqual", since: 12) { try comparison(LessOrEqualRule.self, $0) }
        registry.register("Greater", versions: [1, 7]) { try comparison(GreaterRule.self, $0) }
        registry.register("GreaterOrEqual", since: 12) { try comparison(GreaterOrEqualRule.self, $0) }
    }

    static func arithmetic<Rule: ArithmeticRule>(_ rule: Rule.Type, _ context: OpContext) throws -> any Kernel {
        let legacy = try LegacyBroadcast(context)
        return ClosureKernel(inPlaceInputs: Rule.floatLoop == nil ? [] : [0, 1]) { inputs, run in
            let (a, b) = try legacy.operands(try inputs.tensor(0), try inputs.tensor(1))
            if let op = Rule.floatLoop, a.elementType == .float, b.elementType == .float {
                return [.tensor(try FloatElementwise.binary(op, a, b, threads: run.options.threads, context: run))]
            }
            return [.tensor(try ArithmeticVisitor<Rule>(a: a, b: b).apply())]
        }
    }

    static func comparison<Rule: ComparisonRule>(_ rule: Rule.Type, _ context: OpContext) throws -> any Kernel {
        let legacy = try LegacyBroadcast(context)
        return ClosureKernel { inputs, _ in
            let (a, b) = try legacy.operands(try inputs.tensor(0), try inputs.tensor(1))
            return [.tensor(try ComparisonVisitor<Rule>(a: a, b: b).apply())]
        }
    }
}

/// Opset ≤ 6 binary ops broadcast only when `broadcast = 1`, aligning B's
/// dimensions with A's starting at `axis` (default: trailing alignment).
struct LegacyBroadcast: Sendable {
    let enabled: Bool
    let broadcast: Bool
    let axis: Int?

    init(_ context: OpContext) throws {
        enabled = context.opset < 7
        broadcast = try context.int("broadcast", default: 0) != 0
        axis = try context.int("axis")
    }

    func operands(_ a: Tensor, _ b: Tensor) throws -> (Tensor, Tensor) {
        guard enabled else { return (a, b) }
        if !broadcast {
            guard a.shape == b.shape else {
                throw OnyxError.shapeMismatch("shapes \(a.shape) and \(b.shape) differ and broadcast = 0")
            }
            return (a, b)
        }
        guard let axis, b.shape.count < a.shape.count else { return (a, b) }
        let start = try normalizeAxis(axis, rank: a.shape.count)
        guard start + b.shape.count <= a.shape.count else {
            throw OnyxError.shapeMismatch("B of shape \(b.shape) does not fit A \(a.shape) at axis \(axis)")
        }
        let padded = b.shape + [Int](repeating: 1, count: a.shape.count - start - b.shape.count)
        return (a, try b.reshaped(padded))
    }
}

/// Per-element arithmetic for one operator.
protocol ArithmeticRule: SendableMetatype {
    /// The C loop float32 operands take (``FloatElementwise``).
    static var floatLoop: onyx_binary_op? { get }
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) throws -> T
}

extension ArithmeticRule {
    static var floatLoop: onyx_binary_op? { nil }
}

enum AddRule: ArithmeticRule {
    static let floatLoop: onyx_binary_op? = ONYX_BINARY_ADD
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a + b }
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a &+ b }
}

enum SubRule: ArithmeticRule {
    static let floatLoop: onyx_binary_op? = ONYX_BINARY_SUB
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a - b }
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a &- b }
}

enum MulRule: ArithmeticRule {
    static let floatLoop: onyx_binary_op? = ONYX_BINARY_MUL
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a * b }
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a &* b }
}

enum DivRule: ArithmeticRule {
    static let floatLoop: onyx_binary_op? = ONYX_BINARY_DIV
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a / b }
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) throws -> T {
        guard b != 0 else { throw OnyxError.invalidModel("integer division by zero") }
        return a.dividedReportingOverflow(by: b).partialValue
    }
}

struct ArithmeticVisitor<Rule: ArithmeticRule>: ElementVisitor {
    let a: Tensor
    let b: Tensor

    func apply() throws -> Tensor {
        guard a.elementType == b.elementType else {
            throw OnyxError.wrongElementType("operands are \(a.elementType) and \(b.elementType)")
        }
        return try a.elementType.visit(self)
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        return try Tensor.make(T.self, shape) { out in
            try a.withElements(T.self) { x in
                try b.withElements(T.self) { y in
                    try Broadcast.binary(x, a.shape, y, b.shape, into: out, outShape: shape) { Rule.float($0, $1) }
                }
            }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        return try Tensor.make(T.self, shape) { out in
            try a.withElements(T.self) { x in
                try b.withElements(T.self) { y in
                    try Broadcast.binary(x, a.shape, y, b.shape, into: out, outShape: shape) { try Rule.integer($0, $1) }
                }
            }
        }
    }

    func visitBool() throws -> Tensor {
        throw OnyxError.wrongElementType("arithmetic is not defined on bool")
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else { throw OnyxError.wrongElementType("arithmetic is not defined on \(type)") }
        let shape = try Broadcast.shape([a.shape, b.shape])
        let x = try a.floatValues()
        let y = try b.floatValues()
        var result = try TensorAllocation.array(repeating: 0 as Float, shape: shape)
        try x.withUnsafeBufferPointer { xp in
            try y.withUnsafeBufferPointer { yp in
                try result.withUnsafeMutableBufferPointer { out in
                    try Broadcast.binary(xp, a.shape, yp, b.shape, into: out, outShape: shape) { Rule.float($0, $1) }
                }
            }
        }
        return try Tensor.fromFloats(result, shape: shape, as: type)
    }
}

/// A comparison producing bool.
protocol ComparisonRule: SendableMetatype {
    static func compare<T: Comparable>(_ a: T, _ b: T) -> Bool
}

enum EqualRule: ComparisonRule { static func compare<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
enum LessRule: ComparisonRule { static func compare<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
enum LessOrEqualRule: ComparisonRule { static func compare<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
enum GreaterRule: ComparisonRule { static func compare<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
enum GreaterOrEqualRule: ComparisonRule { static func compare<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

struct ComparisonVisitor<Rule: ComparisonRule>: ElementVisitor {
    let a: Tensor
    let b: Tensor

    func apply() throws -> Tensor {
        guard a.elementType == b.elementType else {
            throw OnyxError.wrongElementType("operands are \(a.elementType) and \(b.elementType)")
        }
        if a.elementType == .string {
            let shape = try Broadcast.shape([a.shape, b.shape])
            let x = a.stringBytes ?? []
            let y = b.stringBytes ?? []
            return try Tensor.make(Bool.self, shape) { out in
                try x.withUnsafeBufferPointer { xp in
                    try y.withUnsafeBufferPointer { yp in
                        try Broadcast.binary(xp, a.shape, yp, b.shape, into: out, outShape: shape) {
                            Rule.compare(String(decoding: $0, as: UTF8.self), String(decoding: $1, as: UTF8.self))
                        }
                    }
                }
            }
        }
        return try a.elementType.visit(self)
    }

    private func compare<T: Comparable & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        return try Tensor.make(Bool.self, shape) { out in
            try a.withElements(T.self) { x in
                try b.withElements(T.self) { y in
                    try Broadcast.binary(x, a.shape, y, b.shape, into: out, outShape: shape) { Rule.compare($0, $1) }
                }
            }
        }
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor { try compare(T.self) }
    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor { try compare(T.self) }
    func visitBool() throws -> Tensor {
        let x = try a.scalars(as: Bool.self).map { $0 ? 1 : 0 }
        let y = try b.scalars(as: Bool.self).map { $0 ? 1 : 0 }
        let shape = try Broadcast.shape([a.shape, b.shape])
        return try Tensor.make(Bool.self, shape) { out in
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeBufferPointer { yp in
                    try Broadcast.binary(xp, a.shape, yp, b.shape, into: out, outShape: shape) { Rule.compare($0, $1) }
                }
            }
        }
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else { throw OnyxError.wrongElementType("comparison is not defined on \(type)") }
        let x = try a.floatValues()
        let y = try b.floatValues()
        let shape = try Broadcast.shape([a.shape, b.shape])
        return try Tensor.make(Bool.self, shape) { out in
            try x.withUnsafeBufferPointer { xp in
                try y.withUnsafeBufferPointer { yp in
                    try Broadcast.binary(xp, a.shape, yp, b.shape, into: out, outShape: shape) { Rule.compare($0, $1) }
                }
            }
        }
    }
}
