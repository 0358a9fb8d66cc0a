/// LSTM (opsets 1, 7, 14, 22): one layer, gates stacked in the order
/// i, o, f, c in W, R and B, peepholes P in the order i, o, f.
///
///     i = f(Xt·Wiᵀ + Ht−1·Riᵀ + Pi ⊙ Ct−1 + Wbi + Rbi)
///     f = f(Xt·Wfᵀ + Ht−1·Rfᵀ + Pf ⊙ Ct−1 + Wbf + Rbf)     (1 − i when input_forget = 1)
///     c = g(Xt·Wcᵀ + Ht−1·Rcᵀ + Wbc + Rbc)
///     Ct = f ⊙ Ct−1 + i ⊙ c
///     o = f(Xt·Woᵀ + Ht−1·Roᵀ + Po ⊙ Ct + Wbo + Rbo)
///     Ht = o ⊙ h(Ct)
///
/// Defaults f = Sigmoid, g = h = Tanh. Outputs Y, Y_h, Y_c, each optional.
/// Direction, layout, sequence_lens, activations and clip follow
/// `RecurrentOps` / `RecurrentOperands`; clip bounds the four gate
/// pre-activations (peephole terms included), not Ct before h. float
/// inputs of full-length time-major sequences take `LSTMOps+Float.swift`.
enum LSTMOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("LSTM", versions: [1, 7, 14, 22]) { context in
            let attributes = try RecurrentAttributes(
                context, defaultActivations: ["Sigmoid", "Tanh", "Tanh"], outputs: 3)
            let inputForget = try context.int("input_forget", default: 0) != 0
            let constants = context.constantInputs
            let packed = PackedWeights(
                w: packedTransposes(constants.count > 1 ? constants[1] : nil),
                r: packedTransposes(constants.count > 2 ? constants[2] : nil))
            return ClosureKernel { inputs, run in
                if try inputs.tensor(0).elementType == .double {
                    return try self.run(Double.self, inputs, attributes, inputForget: inputForget)
                }
                return try self.run(
                    Float.self, inputs, attributes, inputForget: inputForget, threads: run.options.threads, packed: packed)
            }
        }
    }

    static func run<S: RecurrentScalar>(
        _ type: S.Type, _ inputs: [Value?], _ attributes: RecurrentAttributes, inputForget: Bool,
        threads: Int? = nil, allowFast: Bool = true, packed: PackedWeights = PackedWeights(w: nil, r: nil)
    ) throws -> [Value?] {
        // With W and R packed at plan time the fast path reads neither decoded.
        let prepacked = try allowFast && S.self == Float.self && packed.matches(inputs.tensor(1), inputs.tensor(2))
        var p = try RecurrentOperands<S>(inputs, attributes, gates: 4, decodeWeights: !prepacked)
        let (hidden, batch) = (p.hidden, p.batch)
        let initialH = try p.initialState(try inputs.optionalTensor(5), "initial_h")
        let initialC = try p.initialState(try inputs.optionalTensor(6), "initial_c")
        let peepholes: [S]
        if let tensor = try inputs.optionalTensor(7) {
            guard tensor.elementType == p.elementType, tensor.shape == [p.directions, 3 * hidden] else {
                throw OnyxError.shapeMismatch(
                    "P must be \(p.elementType) of shape [\(p.directions), \(3 * hidden)], got \(tensor.elementType) \(tensor.shape)")
            }
            peepholes = try S.decode(tensor)
        } else {
            peepholes = [S](repeating: 0, count: p.directions * 3 * hidden)
        }
        if allowFast, let floats = p as? RecurrentOperands<Float>, let floatPeepholes = peepholes as? [Float],
           fastPathApplies(floats) {
            return try runFast(
                floats, inputs, attributes, inputForget: inputForget, peepholes: floatPeepholes, threads: threads,
                packed: prepacked ? packed : nil)
        }
        if prepacked { p = try RecurrentOperands<S>(inputs, attributes, gates: 4) }
        let wantY = attributes.requested.first ?? false
        var y = try RecurrentOperands<S>.buffer(wantY ? try Tensor.checkedCount(p.yShape) : 0)
        var finalH = [S](repeating: 0, count: p.directions * batch * hidden)
        var finalC = finalH
        var gates = [S](repeating: 0, count: 4 * hidden)
        var cellActivation = [S](repeating: 0, count: hidden)
        let clip = attributes.clip.map { S($0) }
        let (i0, o0, f0, c0) = (0, hidden, 2 * hidden, 3 * hidden)

        for d in 0..<p.directions {
            let activations = attributes.activations[d]
            let (fAct, gAct, hAct) = (activations[0], activations[1], activations[2])
            let projected = try p.inputProjection(direction: d, rowBias: p.summedBias(d))
            let stateBase = d * batch * hidden
            var h = Array(initialH[stateBase..<stateBase + batch * hidden])
            var c = Array(initialC[stateBase..<stateBase + batch * hidden])
            let (pi, po, pf) = (d * 3 * hidden, d * 3 * hidden + hidden, d * 3 * hidden + 2 * hidden)
            for step in 0..<p.seqLength {
                for b in 0..<batch {
                    guard let t = p.timeIndex(step: step, batch: b, direction: d) else { continue }
                    let hb = b * hidden
                    let projectedBase = (t * batch + b) * 4 * hidden
                    for j in 0..<4 * hidden { gates[j] = projected[projectedBase + j] }
                    p.addRecurrent(direction: d, rowStart: 0, count: 4 * hidden, vector: h, offset: hb, into: &gates, at: 0)
                    for k in 0..<hidden {
                        gates[i0 + k] += peepholes[pi + k] * c[hb + k]
                        gates[f0 + k] += peepholes[pf + k] * c[hb + k]
                    }
                    fAct.apply(&gates, i0..<i0 + hidden, clip: clip)
                    if inputForget {
                        for k in 0..<hidden { gates[f0 + k] = 1 - gates[i0 + k] }
                    } else {
                        fAct.apply(&gates, f0..<f0 + hidden, clip: clip)
                    }
                    gAct.apply(&gates, c0..<c0 + hidden, clip: clip)
                    for k in 0..<hidden {
                        c[hb + k] = gates[f0 + k] * c[hb + k] + gates[i0 + k] * gates[c0 + k]
                        gates[o0 + k] += peepholes[po + k] * c[hb + k]
                        cellActivation[k] = c[hb + k]
                    }
                    fAct.apply(&gates, o0..<o0 + hidden, clip: clip)
                    hAct.apply(&cellActivation, 0..<hidden, clip: nil)
                    for k in 0..<hidden { h[hb + k] = gates[o0 + k] * cellActivation[k] }
                    if wantY {
                        let yBase = p.yOffset(t, d, b)
                        for k in 0..<hidden { y[yBase + k] = h[hb + k] }
                    }
                }
            }
            for b in 0..<batch where p.lengths[b] > 0 {
                let outBase = p.stateOffset(d, b)
                for k in 0..<hidden {
                    finalH[outBase + k] = h[b * hidden + k]
                    finalC[outBase + k] = c[b * hidden + k]
                }
            }
        }
        return try p.outputs(y: y, states: [finalH, finalC])
    }
}
