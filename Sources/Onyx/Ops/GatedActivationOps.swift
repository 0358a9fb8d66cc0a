/// Swish (opset 24) and SwiGLU (opset 28).
///
/// - Swish: `Y = X · sigmoid(alpha · X)` (`alpha` default 1).
/// - SwiGLU: `Y = Swish_alpha(A) · B`; A and B must have the same shape and
///   type (no broadcasting).
///
/// Float, float16 and bfloat16 compute in Float, double in Double, and every
/// step of `x · (1 / (1 + exp(−alpha · x)))` is rounded to the tensor's type,
/// as the reference evaluates it in that type.
enum GatedActivationOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Swish", since: 24) { context in
            let alpha = Double(try context.float("alpha", default: 1))
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                return [.tensor(try gated(x, nil, alpha: alpha))]
            }
        }
        registry.register("SwiGLU", since: 28) { context in
            let alpha = Double(try context.float("alpha", default: 1))
            return ClosureKernel { inputs, _ in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                guard a.shape == b.shape, a.elementType == b.elementType else {
                    throw OnyxError.shapeMismatch(
                        "A (\(a.elementType) \(a.shape)) and B (\(b.elementType) \(b.shape)) must have the same shape and type")
                }
                return [.tensor(try gated(a, b, alpha: alpha))]
            }
        }
    }

    /// `Swish_alpha(gate)`, times `value` when given.
    static func gated(_ gate: Tensor, _ value: Tensor?, alpha: Double) throws -> Tensor {
        let rounding = try Rounding(gate.elementType)
        if gate.elementType == .double {
            return try compute(Double.self, gate, value, alpha: alpha, rounding: rounding)
        }
        return try compute(Float.self, gate, value, alpha: alpha, rounding: rounding)
    }

    private static func compute<S: ComputeReal>(
        _: S.Type, _ gate: Tensor, _ value: Tensor?, alpha: Double, rounding: Rounding
    ) throws -> Tensor {
        var values = try S.load(gate)
        let others = try value.map { try S.load($0) }
        let negativeAlpha = S.rounding(-alpha, rounding)
        for i in values.indices {
            let x = values[i]
            let attentionExp = S.attentionExp((negativeAlpha * x).rounded(rounding)).rounded(rounding)
            let sigmoid = (1 / (1 + attentionExp).rounded(rounding)).rounded(rounding)
            var y = (x * sigmoid).rounded(rounding)
            if let others { y = (y * others[i]).rounded(rounding) }
            values[i] = y
        }
        return try S.store(values, shape: gate.shape, as: gate.elementType)
    }
}
