/// GRU (opsets 1, 3, 7, 14, 22): one layer, gates stacked in the order
/// z, r, h in W, R and B.
///
///     z = f(Xt·Wzᵀ + Ht−1·Rzᵀ + Wbz + Rbz)
///     r = f(Xt·Wrᵀ + Ht−1·Rrᵀ + Wbr + Rbr)
///     h = g(Xt·Whᵀ + (r ⊙ Ht−1)·Rhᵀ + Rbh + Wbh)       linear_before_reset = 0
///     h = g(Xt·Whᵀ + r ⊙ (Ht−1·Rhᵀ + Rbh) + Wbh)       linear_before_reset ≠ 0
///     Ht = (1 − z) ⊙ h + z ⊙ Ht−1
///
/// Defaults f = Sigmoid, g = Tanh. `linear_before_reset` exists from opset
/// 3 (opset 1 always uses the first form). Outputs Y, Y_h, each optional.
/// Direction, layout, sequence_lens, activations and clip follow
/// `RecurrentOps` / `RecurrentOperands`.
enum GRUOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("GRU", versions: [1, 3, 7, 14, 22]) { context in
            let attributes = try RecurrentAttributes(context, defaultActivations: ["Sigmoid", "Tanh"], outputs: 2)
            let linearBeforeReset = context.opset >= 3 ? try context.int("linear_before_reset", default: 0) != 0 : false
            return ClosureKernel { inputs, _ in
                if try inputs.tensor(0).elementType == .double {
                    return try run(Double.self, inputs, attributes, linearBeforeReset: linearBeforeReset)
                }
                return try run(Float.self, inputs, attributes, linearBeforeReset: linearBeforeReset)
            }
        }
    }

    static func run<S: RecurrentScalar>(
        _ type: S.Type, _ inputs: [Value?], _ attributes: RecurrentAttributes, linearBeforeReset: Bool
    ) throws -> [Value?] {
        let p = try RecurrentOperands<S>(inputs, attributes, gates: 3)
        let (hidden, batch) = (p.hidden, p.batch)
        let initialH = try p.initialState(try inputs.optionalTensor(5), "initial_h")
        let wantY = attributes.requested.first ?? false
        var y = try RecurrentOperands<S>.buffer(wantY ? try Tensor.checkedCount(p.yShape) : 0)
        var finalH = [S](repeating: 0, count: p.directions * batch * hidden)
        var gates = [S](repeating: 0, count: 3 * hidden)
        var scratch = [S](repeating: 0, count: hidden)
        let clip = attributes.clip.map { S($0) }
        let (z0, r0, h0) = (0, hidden, 2 * hidden)

        for d in 0..<p.directions {
            let fAct = attributes.activations[d][0]
            let gAct = attributes.activations[d][1]
            let recurrentBias = p.recurrentBias(d)
            var rowBias = p.summedBias(d)
            if linearBeforeReset {
                let inputBias = p.inputBias(d)
                for k in 0..<hidden { rowBias[h0 + k] = inputBias[h0 + k] }
            }
            let projected = try p.inputProjection(direction: d, rowBias: rowBias)
            let stateBase = d * batch * hidden
            var h = Array(initialH[stateBase..<stateBase + batch * hidden])
            for step in 0..<p.seqLength {
                for b in 0..<batch {
                    guard let t = p.timeIndex(step: step, batch: b, direction: d) else { continue }
                    let hb = b * hidden
                    let projectedBase = (t * batch + b) * 3 * hidden
                    for j in 0..<3 * hidden { gates[j] = projected[projectedBase + j] }
                    p.addRecurrent(direction: d, rowStart: 0, count: 2 * hidden, vector: h, offset: hb, into: &gates, at: 0)
                    fAct.apply(&gates, z0..<r0 + hidden, clip: clip)
                    if linearBeforeReset {
                        for k in 0..<hidden { scratch[k] = recurrentBias[h0 + k] }
                        p.addRecurrent(direction: d, rowStart: h0, count: hidden, vector: h, offset: hb, into: &scratch, at: 0)
                        for k in 0..<hidden { gates[h0 + k] += gates[r0 + k] * scratch[k] }
                    } else {
                        for k in 0..<hidden { scratch[k] = gates[r0 + k] * h[hb + k] }
                        p.addRecurrent(direction: d, rowStart: h0, count: hidden, vector: scratch, offset: 0, into: &gates, at: h0)
                    }
                    gAct.apply(&gates, h0..<h0 + hidden, clip: clip)
                    for k in 0..<hidden {
                        let z = gates[z0 + k]
                        h[hb + k] = (1 - z) * gates[h0 + k] + z * h[hb + k]
                    }
                    if wantY {
                        let yBase = p.yOffset(t, d, b)
                        for k in 0..<hidden { y[yBase + k] = h[hb + k] }
                    }
                }
            }
            for b in 0..<batch where p.lengths[b] > 0 {
                let outBase = p.stateOffset(d, b)
                for k in 0..<hidden { finalH[outBase + k] = h[b * hidden + k] }
            }
        }
        return try p.outputs(y: y, states: [finalH])
    }
}
