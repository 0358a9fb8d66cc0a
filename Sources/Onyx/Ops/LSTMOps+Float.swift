import CKernels

/// The LSTM float fast path, for time-major inputs whose sequences all run
/// the full length (no `sequence_lens` shorter than `seq_length`): the input
/// projection X·Wᵀ + Wb + Rb for every step is one GEMM, and each step's
/// recurrent product for the whole batch, H·Rᵀ, is one GEMM against Rᵀ
/// packed once per direction. With the default activations and no clip or
/// input-forget coupling, each step's cell is one C loop
/// (`onyx_lstm_cell_f32`) over the gates the GEMM left in the step's
/// projected slice; otherwise Sigmoid and Tanh gates use the C loops of
/// ``FloatElementwise``. Same formulas and gate order as ``LSTMOps/run(_:_:_:inputForget:)``.
extension LSTMOps {
    /// Constant W and R, each direction's matrix transposed and packed as
    /// the GEMM's B when the plan is built (Wᵀ: input × 4·hidden, Rᵀ:
    /// hidden × 4·hidden), so a run neither decodes nor packs them.
    struct PackedWeights: Sendable {
        let w: PackedConstant?
        let r: PackedConstant?

        /// True when both are packed and are these very tensors.
        func matches(_ w: Tensor, _ r: Tensor) -> Bool {
            guard let packedW = self.w, let packedR = self.r else { return false }
            return packedW.matches(w) && packedR.matches(r)
        }
    }

    /// Each direction of a constant float `[directions, rows, columns]`
    /// tensor as the packed B operand Mᵀ (columns × rows), or nil.
    static func packedTransposes(_ tensor: Tensor?) -> PackedConstant? {
        guard let tensor, tensor.elementType == .float, tensor.shape.count == 3, tensor.count > 0 else { return nil }
        let (directions, rows, columns) = (tensor.shape[0], tensor.shape[1], tensor.shape[2])
        guard let matrices = try? tensor.withElements(Float.self, { values in
            try (0..<directions).map { d in
                try PackedMatrix(
                    .b, rows: columns, columns: rows,
                    from: Gemm.Matrix.rowMajor(values.baseAddress.map { $0 + d * rows * columns }, columns: columns).transposed)
            }
        }) else { return nil }
        return PackedConstant(tensor, matrices: matrices)
    }

    /// True when the fast path applies to these operands.
    static func fastPathApplies(_ p: RecurrentOperands<Float>) -> Bool {
        !p.attributes.batchMajor && p.lengths.allSatisfy { $0 == p.seqLength } && p.seqLength > 0 && p.batch > 0
            && p.hidden > 0 && p.inputSize > 0
    }

    static func runFast(
        _ p: RecurrentOperands<Float>, _ inputs: [Value?], _ attributes: RecurrentAttributes, inputForget: Bool,
        peepholes: [Float], threads: Int?, packed: PackedWeights? = nil
    ) throws -> [Value?] {
        let (hidden, batch, rows, steps) = (p.hidden, p.batch, p.rows, p.seqLength)
        let initialH = try p.initialState(try inputs.optionalTensor(5), "initial_h")
        let initialC = try p.initialState(try inputs.optionalTensor(6), "initial_c")
        let wantY = attributes.requested.first ?? false
        var y = try RecurrentOperands<Float>.buffer(wantY ? try Tensor.checkedCount(p.yShape) : 0)
        var finalH = [Float](repeating: 0, count: p.directions * batch * hidden)
        var finalC = finalH
        // Every element is written by the input projection (beta 0) before it is read.
        let projected = try FloatScratch(count: try Tensor.checkedCount([steps, batch, rows]))
        guard let projectedBase = projected.base else { throw OnyxError.invalidModel("internal: LSTM fast path without a gate buffer") }
        var gates = [Float](repeating: 0, count: batch * rows)
        var cellActivation = [Float](repeating: 0, count: hidden)
        let clip = attributes.clip
        let (i0, o0, f0, c0) = (0, hidden, 2 * hidden, 3 * hidden)

        for d in 0..<p.directions {
            let activations = attributes.activations[d]
            let (fAct, gAct, hAct) = (activations[0], activations[1], activations[2])
            let bias = p.summedBias(d)
            try p.x.withUnsafeBufferPointer { x in
                try p.w.withUnsafeBufferPointer { w in
                    try bias.withUnsafeBufferPointer { biasValues in
                        guard let biasBase = biasValues.baseAddress else { return }
                        let weights: Gemm.Operand = packed?.w.map { .packed($0.matrices[d]) }
                            ?? .matrix(Gemm.Matrix.rowMajor(w.baseAddress.map { $0 + d * rows * p.inputSize }, columns: p.inputSize).transposed)
                        try Gemm.multiply(
                            m: steps * batch, n: rows, k: p.inputSize, a: .matrix(.rowMajor(x.baseAddress, columns: p.inputSize)),
                            b: weights, c: projectedBase, ldc: rows, bias: .column(biasBase), threads: threads)
                    }
                }
            }
            let recurrent = try packed?.r.map { $0.matrices[d] } ?? p.r.withUnsafeBufferPointer { r in
                try PackedMatrix(
                    .b, rows: hidden, columns: rows,
                    from: Gemm.Matrix.rowMajor(r.baseAddress.map { $0 + d * rows * hidden }, columns: hidden).transposed)
            }
            let stateBase = d * batch * hidden
            var h = Array(initialH[stateBase..<stateBase + batch * hidden])
            var c = Array(initialC[stateBase..<stateBase + batch * hidden])
            let (pi, po, pf) = (d * 3 * hidden, d * 3 * hidden + hidden, d * 3 * hidden + 2 * hidden)
            let defaultCell = fAct == .sigmoid && gAct == .tanh && hAct == .tanh && clip == nil && !inputForget
            for step in 0..<steps {
                let t = attributes.isReverse(d) ? steps - 1 - step : step
                if defaultCell {
                    // The step's projected slice takes the recurrent product in place and is the gates.
                    let gBase = projectedBase + t * batch * rows
                    try h.withUnsafeMutableBufferPointer { hp in
                        try Gemm.multiply(
                            m: batch, n: rows, k: hidden, a: .matrix(.rowMajor(hp.baseAddress, columns: hidden)),
                            b: .packed(recurrent), beta: 1, c: gBase, ldc: rows, threads: threads)
                        c.withUnsafeMutableBufferPointer { cp in
                            peepholes.withUnsafeBufferPointer { pp in
                                y.withUnsafeMutableBufferPointer { yp in
                                    onyx_lstm_cell_f32(
                                        batch, hidden, gBase, cp.baseAddress, hp.baseAddress,
                                        pp.baseAddress.map { $0 + pi }, wantY ? yp.baseAddress.map { $0 + p.yOffset(t, d, 0) } : nil)
                                }
                            }
                        }
                    }
                    continue
                }
                for j in 0..<batch * rows { gates[j] = projectedBase[t * batch * rows + j] }
                try h.withUnsafeBufferPointer { hp in
                    try gates.withUnsafeMutableBufferPointer { g in
                        guard let gBase = g.baseAddress else { return }
                        try Gemm.multiply(
                            m: batch, n: rows, k: hidden, a: .matrix(.rowMajor(hp.baseAddress, columns: hidden)),
                            b: .packed(recurrent), beta: 1, c: gBase, ldc: rows, threads: threads)
                    }
                }
                for b in 0..<batch {
                    let hb = b * hidden
                    let gb = b * rows
                    for k in 0..<hidden {
                        gates[gb + i0 + k] += peepholes[pi + k] * c[hb + k]
                        gates[gb + f0 + k] += peepholes[pf + k] * c[hb + k]
                    }
                    activate(fAct, &gates, gb + i0, hidden, clip: clip)
                    if inputForget {
                        for k in 0..<hidden { gates[gb + f0 + k] = 1 - gates[gb + i0 + k] }
                    } else {
                        activate(fAct, &gates, gb + f0, hidden, clip: clip)
                    }
                    activate(gAct, &gates, gb + c0, hidden, clip: clip)
                    for k in 0..<hidden {
                        c[hb + k] = gates[gb + f0 + k] * c[hb + k] + gates[gb + i0 + k] * gates[gb + c0 + k]
                        gates[gb + o0 + k] += peepholes[po + k] * c[hb + k]
                        cellActivation[k] = c[hb + k]
                    }
                    activate(fAct, &gates, gb + o0, hidden, clip: clip)
                    activate(hAct, &cellActivation, 0, hidden, clip: nil)
                    for k in 0..<hidden { h[hb + k] = gates[gb + o0 + k] * cellActivation[k] }
                    if wantY {
                        let yBase = p.yOffset(t, d, b)
                        for k in 0..<hidden { y[yBase + k] = h[hb + k] }
                    }
                }
            }
            for b in 0..<batch {
                let outBase = p.stateOffset(d, b)
                for k in 0..<hidden {
                    finalH[outBase + k] = h[b * hidden + k]
                    finalC[outBase + k] = c[b * hidden + k]
                }
            }
        }
        return try p.outputs(y: y, states: [finalH, finalC])
    }

    /// Clips `values[start..<start + count]` when `clip` is set, then applies
    /// `function`: Sigmoid and Tanh on the C loops, the others as in the reference.
    @inline(__always)
    static func activate(_ function: RecurrentActivation, _ values: inout [Float], _ start: Int, _ count: Int, clip: Float?) {
        let loop: onyx_unary_op
        switch function {
        case .sigmoid: loop = ONYX_UNARY_SIGMOID
        case .tanh: loop = ONYX_UNARY_TANH
        default: return function.apply(&values, start..<start + count, clip: clip)
        }
        if let clip {
            for k in start..<start + count { values[k] = min(max(values[k], -clip), clip) }
        }
        values.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            onyx_unary_f32(Int32(loop.rawValue), count, base + start, base + start, 0, 0)
        }
    }
}
