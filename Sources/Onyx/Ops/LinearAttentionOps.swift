import Foundation

/// LinearAttention (opset 27): the recurrent form of linear attention, run
/// token by token. Q `(B, T, Hq·dk)`, K `(B, T, Hkv·dk)`, V `(B, T, Hkv·dv)`;
/// the state `(B, Hkv, dk, dv)` starts at `past_state` (zeros when absent).
/// Per token, with `g` = decay (log-space) and `β` = beta:
/// - "linear":      `S += k ⊗ v`
/// - "gated":       `S = exp(g)·S + k ⊗ v`
/// - "delta":       `S += k ⊗ β(v − Sᵀk)`
/// - "gated_delta": `S = exp(g)·S; S += k ⊗ β(v − Sᵀk)` (the default rule)
/// and every query head `h` reads `o = scale · qᵀ S` of key/value head
/// `h / (Hq / Hkv)`. decay is `(B, T, Hkv)` (one per head) or `(B, T, Hkv·dk)`
/// (per key feature); beta is `(B, T, Hkv)` or `(B, T, 1)`. decay is required
/// exactly by the gated rules and beta exactly by the delta rules. `scale` 0
/// means `1/√dk`. The output has Q's type; `present_state` has past_state's
/// type (Q's without a past state).
///
/// Computes in Float throughout, as the reference does.
enum LinearAttentionOps {
    struct Attributes: Sendable {
        var qHeads: Int
        var kvHeads: Int
        var scale: Float
        var gated: Bool
        var delta: Bool
    }

    static func register(into registry: inout OpRegistry) {
        registry.register("LinearAttention", since: 27) { context in
            guard let qHeads = try context.int("q_num_heads"), let kvHeads = try context.int("kv_num_heads") else {
                throw OnyxError.invalidModel("q_num_heads and kv_num_heads are required")
            }
            _ = try AttentionSupport.groupSize(qHeads: qHeads, kvHeads: kvHeads)
            let rule = try context.string("update_rule", default: "gated_delta")
            try context.check("update_rule", rule, in: ["linear", "gated", "delta", "gated_delta"])
            let attributes = Attributes(
                qHeads: qHeads, kvHeads: kvHeads, scale: try context.float("scale", default: 0),
                gated: rule.hasPrefix("gated"), delta: rule.hasSuffix("delta"))
            if attributes.gated != context.hasInput(4) || attributes.delta != context.hasInput(5) {
                throw OnyxError.invalidModel("update_rule \(rule) needs decay \(attributes.gated ? "given" : "omitted") and beta \(attributes.delta ? "given" : "omitted")")
            }
            return ClosureKernel { inputs, _ in try run(inputs, attributes) }
        }
    }

    static func run(_ inputs: [Value?], _ a: Attributes) throws -> [Value?] {
        let query = try inputs.tensor(0), key = try inputs.tensor(1), value = try inputs.tensor(2)
        let past = try inputs.optionalTensor(3), decay = try inputs.optionalTensor(4), beta = try inputs.optionalTensor(5)
        for tensor in [query, key, value] + [past, decay, beta].compactMap({ $0 }) {
            guard tensor.elementType != .double else { throw OnyxError.wrongElementType("LinearAttention is defined on float, float16 and bfloat16") }
            _ = try Rounding(tensor.elementType)
        }
        guard query.shape.count == 3, key.shape.count == 3, value.shape.count == 3 else {
            throw OnyxError.shapeMismatch("query, key and value must be rank 3 (B, T, H·D)")
        }
        let (batch, steps) = (query.shape[0], query.shape[1])
        guard query.shape[2] % a.qHeads == 0, value.shape[2] % a.kvHeads == 0, query.shape[2] >= a.qHeads, value.shape[2] >= a.kvHeads else {
            throw OnyxError.shapeMismatch("hidden sizes \(query.shape[2]), \(value.shape[2]) are not positive multiples of the head counts")
        }
        let dk = query.shape[2] / a.qHeads, dv = value.shape[2] / a.kvHeads
        guard key.shape == [batch, steps, a.kvHeads * dk], value.shape[0] == batch, value.shape[1] == steps else {
            throw OnyxError.shapeMismatch("key \(key.shape) and value \(value.shape) do not fit query \(query.shape)")
        }
        let stateShape = [batch, a.kvHeads, dk, dv]
        _ = try TensorAllocation.checkedBytes(.float, count: try Tensor.checkedCount(stateShape))
        let outputCount = try Tensor.checkedCount([batch, steps, a.qHeads, dv])
        _ = try TensorAllocation.checkedBytes(.float, count: outputCount)
        var state = try past.map { tensor -> [Float] in
            guard tensor.shape == stateShape else { throw OnyxError.shapeMismatch("past_state \(tensor.shape) must be \(stateShape)") }
            return try tensor.floatValues()
        } ?? [Float](repeating: 0, count: try Tensor.checkedCount(stateShape))
        let decayWidth = try decay.map { tensor -> Int in
            guard tensor.shape == [batch, steps, a.kvHeads] || tensor.shape == [batch, steps, a.kvHeads * dk] else {
                throw OnyxError.shapeMismatch("decay \(tensor.shape) must be (\(batch), \(steps), \(a.kvHeads)) or (…, \(a.kvHeads * dk))")
            }
            return tensor.shape[2] == a.kvHeads ? 1 : dk
        } ?? 0
        let betaPerHead = try beta.map { tensor -> Bool in
            guard tensor.shape == [batch, steps, a.kvHeads] || tensor.shape == [batch, steps, 1] else {
                throw OnyxError.shapeMismatch("beta \(tensor.shape) must be (\(batch), \(steps), \(a.kvHeads)) or (…, 1)")
            }
            return tensor.shape[2] == a.kvHeads
        } ?? false
        let q = try query.floatValues(), k = try key.floatValues(), v = try value.floatValues()
        let g = try decay?.floatValues() ?? [], betas = try beta?.floatValues() ?? []
        let scale = a.scale == 0 ? 1 / Float(dk).squareRoot() : a.scale
        let group = a.qHeads / a.kvHeads
        var output = [Float](repeating: 0, count: outputCount)
        var update = [Float](repeating: 0, count: dv)
        for b in 0..<batch {
            for t in 0..<steps {
                let token = b * steps + t
                for h in 0..<a.kvHeads {
                    let s = (b * a.kvHeads + h) * dk * dv
                    let kBase = (token * a.kvHeads + h) * dk
                    let vBase = (token * a.kvHeads + h) * dv
                    if a.gated {
                        for d in 0..<dk {
                            let factor = exp(g[(token * a.kvHeads + h) * decayWidth + (decayWidth == 1 ? 0 : d)])
                            for m in 0..<dv { state[s + d * dv + m] *= factor }
                        }
                    }
                    for m in 0..<dv { update[m] = v[vBase + m] }
                    if a.delta {
                        let rate = betas[betaPerHead ? token * a.kvHeads + h : token]
                        for m in 0..<dv {
                            var retrieved: Float = 0
                            for d in 0..<dk { retrieved += state[s + d * dv + m] * k[kBase + d] }
                            update[m] = rate * (update[m] - retrieved)
                        }
                    }
                    for d in 0..<dk {
                        for m in 0..<dv { state[s + d * dv + m] += k[kBase + d] * update[m] }
                    }
                    for qh in (h * group)..<((h + 1) * group) {
                        let qBase = (token * a.qHeads + qh) * dk
                        let oBase = (token * a.qHeads + qh) * dv
                        for m in 0..<dv {
                            var sum: Float = 0
                            for d in 0..<dk { sum += q[qBase + d] * state[s + d * dv + m] }
                            output[oBase + m] = scale * sum
                        }
                    }
                }
            }
        }
        return [
            .tensor(try Float.store(output, shape: [batch, steps, a.qHeads * dv], as: query.elementType)),
            .tensor(try Float.store(state, shape: stateShape, as: past?.elementType ?? query.elementType)),
        ]
    }
}
