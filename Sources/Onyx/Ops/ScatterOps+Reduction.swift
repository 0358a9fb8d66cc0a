/// The `reduction` attribute of ScatterElements / ScatterND, checked
/// against the node's opset.
enum ScatterReduction: String, Sendable {
    case none, add, mul, max, min

    init(_ context: OpContext) throws {
        let name = try context.string("reduction", default: "none")
        let allowed = context.opset >= 18 ? ["none", "add", "mul", "max", "min"]
            : context.opset >= 16 ? ["none", "add", "mul"] : ["none"]
        try context.check("reduction", name, in: allowed)
        self = ScatterReduction(rawValue: name) ?? .none
    }
}

/// Applies a scatter reduction in the element type: integers wrap, floats
/// follow IEEE (max/min propagate NaN, as numpy's maximum/minimum do), bool
/// treats add/max as "or" and mul/min as "and". Types without native
/// arithmetic compute in Float and round back; complex and string have no
/// reductions here.
struct ScatterReducer: ElementVisitor {
    let data: Tensor
    let updates: Tensor
    let destinations: [Int]
    let run: Int
    let reduction: ScatterReduction

    private func combine<T>(
        _ out: UnsafeMutableBufferPointer<T>, _ source: UnsafeBufferPointer<T>, _ op: (T, T) -> T
    ) {
        for (index, destination) in destinations.enumerated() {
            let from = index &* run
            for j in 0..<run { out[destination &+ j] = op(out[destination &+ j], source[from &+ j]) }
        }
    }

    private func floatOp<T: BinaryFloatingPoint>(_ type: T.Type) -> (T, T) -> T {
        switch reduction {
        case .add: return { $0 + $1 }
        case .mul: return { $0 * $1 }
        case .max: return { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
        case .min: return { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
        case .none: return { $1 }
        }
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let op = floatOp(T.self)
        return try Tensor.make(T.self, data.shape) { out in
            try data.withElements(T.self) { _ = out.update(fromContentsOf: $0) }
            try updates.withElements(T.self) { combine(out, $0, op) }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let op: (T, T) -> T
        switch reduction {
        case .add: op = { $0 &+ $1 }
        case .mul: op = { $0 &* $1 }
        case .max: op = { Swift.max($0, $1) }
        case .min: op = { Swift.min($0, $1) }
        case .none: op = { $1 }
        }
        return try Tensor.make(T.self, data.shape) { out in
            try data.withElements(T.self) { _ = out.update(fromContentsOf: $0) }
            try updates.withElements(T.self) { combine(out, $0, op) }
        }
    }

    func visitBool() throws -> Tensor {
        let op: (Bool, Bool) -> Bool
        switch reduction {
        case .add, .max: op = { $0 || $1 }
        case .mul, .min: op = { $0 && $1 }
        case .none: op = { $1 }
        }
        let source = try data.scalars(as: Bool.self)
        let values = try updates.scalars(as: Bool.self)
        return try Tensor.make(Bool.self, data.shape) { out in
            _ = out.update(fromContentsOf: source)
            values.withUnsafeBufferPointer { combine(out, $0, op) }
        }
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else {
            throw OnyxError.wrongElementType("reduction \"\(reduction.rawValue)\" is not defined on \(type)")
        }
        var values = try data.floatValues()
        let source = try updates.floatValues()
        let op = floatOp(Float.self)
        values.withUnsafeMutableBufferPointer { out in
            source.withUnsafeBufferPointer { combine(out, $0, op) }
        }
        return try Tensor.fromFloats(values, shape: data.shape, as: type)
    }
}
