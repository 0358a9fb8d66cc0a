/// RNN (opsets 1, 7, 14, 22): one simple recurrent layer,
///
///     Ht = f(Xt·Wiᵀ + Ht−1·Riᵀ + Wbi + Rbi)
///
/// with f = Tanh by default. The schema's default `activations` lists
/// Tanh twice; a one-direction node uses the first. Outputs Y, Y_h, each
/// optional. Direction, layout, sequence_lens, activations and clip follow
/// `RecurrentOps` / `RecurrentOperands`.
enum RNNOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("RNN", versions: [1, 7, 14, 22]) { context in
            let attributes = try RecurrentAttributes(context, defaultActivations: ["Tanh"], outputs: 2)
            return ClosureKernel { inputs, _ in
                if try inputs.tensor(0).elementType == .double {
                    return try run(Double.self, inputs, attributes)
                }
                return try run(Float.self, inputs, attributes)
            }
        }
    }

    static func run<S: RecurrentScalar>(
        _ type: S.Type, _ inputs: [Value?], _ attributes: RecurrentAttributes
    ) throws -> [Value?] {
        let p = try RecurrentOperands<S>(inputs, attributes, gates: 1)
        let (hidden, batch) = (p.hidden, p.batch)
        let initialH = try p.initialState(try inputs.optionalTensor(5), "initial_h")
        let wantY = attributes.requested.first ?? false
        var y = try RecurrentOperands<S>.buffer(wantY ? try Tensor.checkedCount(p.yShape) : 0)
        var finalH = [S](repeating: 0, count: p.directions * batch * hidden)
        var gates = [S](repeating: 0, count: hidden)
        let clip = attributes.clip.map { S($0) }

        for d in 0..<p.directions {
            let activation = attributes.activations[d][0]
            let projected = try p.inputProjection(direction: d, rowBias: p.summedBias(d))
            let stateBase = d * batch * hidden
            var h = Array(initialH[stateBase..<stateBase + batch * hidden])
            for step in 0..<p.seqLength {
                for b in 0..<batch {
                    guard let t = p.timeIndex(step: step, batch: b, direction: d) else { continue }
                    let hb = b * hidden
                    let projectedBase = (t * batch + b) * hidden
                    for j in 0..<hidden { gates[j] = projected[projectedBase + j] }
                    p.addRecurrent(direction: d, rowStart: 0, count: hidden, vector: h, offset: hb, into: &gates, at: 0)
                    activation.apply(&gates, 0..<hidden, clip: clip)
                    for k in 0..<hidden { h[hb + k] = gates[k] }
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
