/// The operands of one recurrent node, checked against each other and
/// decoded to `S`, with the index arithmetic of both layouts and the two
/// matrix products (the hoisted input projection, the per-step recurrence).
///
/// `sequence_lens` (int32, or int64) must lie in 0...seq_length. Direction
/// `d` of batch row `b` visits steps `0..<len` (forward) or `len−1` down to
/// 0 (reverse); Y stays zero past `len`, and the final states are the row's
/// state after its own last step. A row with `len` = 0 has no output at all:
/// its Y, Y_h and Y_c are zero (as onnxruntime does; the spec is silent).
struct RecurrentOperands<S: RecurrentScalar> {
    let attributes: RecurrentAttributes
    let elementType: ElementType
    let gates: Int
    let seqLength: Int
    let batch: Int
    let inputSize: Int
    let hidden: Int
    let directions: Int
    let x: [S]
    /// W and R decoded, or empty when the caller took them packed at plan
    /// time (`decodeWeights: false`) and reads neither.
    let w: [S]
    let r: [S]
    /// `[dirs, 2·gates·hidden]`: Wb then Rb for each direction.
    let bias: [S]
    let lengths: [Int]

    /// Rows of W and R per direction.
    var rows: Int { gates &* hidden }

    init(_ inputs: [Value?], _ attributes: RecurrentAttributes, gates: Int, decodeWeights: Bool = true) throws {
        let xTensor = try inputs.tensor(0)
        let wTensor = try inputs.tensor(1)
        let rTensor = try inputs.tensor(2)
        elementType = xTensor.elementType
        guard RecurrentOps.elementTypes.contains(elementType) else {
            throw OnyxError.wrongElementType("X must be float16, bfloat16, float or double, got \(elementType)")
        }
        guard xTensor.shape.count == 3, wTensor.shape.count == 3, rTensor.shape.count == 3 else {
            throw OnyxError.shapeMismatch("X, W and R must have rank 3, got \(xTensor.shape), \(wTensor.shape), \(rTensor.shape)")
        }
        self.attributes = attributes
        self.gates = gates
        directions = attributes.directionCount
        seqLength = attributes.batchMajor ? xTensor.shape[1] : xTensor.shape[0]
        batch = attributes.batchMajor ? xTensor.shape[0] : xTensor.shape[1]
        inputSize = xTensor.shape[2]
        hidden = rTensor.shape[2]
        if let expected = attributes.hiddenSize, expected != hidden {
            throw OnyxError.shapeMismatch("hidden_size is \(expected) but R has shape \(rTensor.shape)")
        }
        let rows = try Tensor.checkedCount([gates, hidden])
        let biasWidth = try Tensor.checkedCount([2, rows])
        try Self.checkSize(try Tensor.checkedCount([directions, batch, Swift.max(hidden, 1)]))
        try Self.expect(wTensor, "W", [directions, rows, inputSize], elementType)
        try Self.expect(rTensor, "R", [directions, rows, hidden], elementType)
        x = try S.decode(xTensor)
        w = decodeWeights ? try S.decode(wTensor) : []
        r = decodeWeights ? try S.decode(rTensor) : []
        if let b = try inputs.optionalTensor(3) {
            try Self.expect(b, "B", [directions, biasWidth], elementType)
            bias = try S.decode(b)
        } else {
            bias = [S](repeating: 0, count: directions * biasWidth)
        }
        if let lens = try inputs.optionalTensor(4) {
            guard lens.elementType == .int32 || lens.elementType == .int64 else {
                throw OnyxError.wrongElementType("sequence_lens must be int32, got \(lens.elementType)")
            }
            guard lens.shape == [batch] else {
                throw OnyxError.shapeMismatch("sequence_lens must have shape [\(batch)], got \(lens.shape)")
            }
            let limit = seqLength
            lengths = try lens.int64Values().map { value in
                guard value >= 0, value <= Int64(limit) else {
                    throw OnyxError.invalidModel("sequence_lens value \(value) is outside 0...\(limit)")
                }
                return Int(value)
            }
        } else {
            lengths = [Int](repeating: seqLength, count: batch)
        }
    }

    private static func expect(_ tensor: Tensor, _ name: String, _ shape: [Int], _ type: ElementType) throws {
        guard tensor.elementType == type else {
            throw OnyxError.wrongElementType("\(name) is \(tensor.elementType) but X is \(type)")
        }
        guard tensor.shape == shape else {
            throw OnyxError.shapeMismatch("\(name) must have shape \(shape), got \(tensor.shape)")
        }
    }

    /// Fails unless `count` values fit within the memory limit.
    static func checkSize(_ count: Int) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<S>.stride)
        guard !overflow, bytes <= TensorAllocation.limit else {
            throw OnyxError.resourceLimit("a recurrent buffer of \(count) values exceeds the memory limit")
        }
    }

    /// A zeroed working buffer of `count` values, within the memory limit.
    static func buffer(_ count: Int) throws -> [S] {
        try checkSize(count)
        return [S](repeating: 0, count: count)
    }

    // MARK: - Layouts

    var yShape: [Int] {
        attributes.batchMajor ? [batch, seqLength, directions, hidden] : [seqLength, directions, batch, hidden]
    }

    var stateShape: [Int] { attributes.batchMajor ? [batch, directions, hidden] : [directions, batch, hidden] }

    /// Offset of the hidden vector of step `t`, direction `d`, row `b` in Y.
    func yOffset(_ t: Int, _ d: Int, _ b: Int) -> Int {
        attributes.batchMajor
            ? ((b * seqLength + t) * directions + d) * hidden
            : ((t * directions + d) * batch + b) * hidden
    }

    /// Offset of direction `d`, row `b` in a state input or output.
    func stateOffset(_ d: Int, _ b: Int) -> Int {
        attributes.batchMajor ? (b * directions + d) * hidden : (d * batch + b) * hidden
    }

    /// The time index direction `d` of row `b` visits at its `step`-th
    /// step, or nil once the row's sequence has ended.
    @inline(__always)
    func timeIndex(step: Int, batch b: Int, direction d: Int) -> Int? {
        let length = lengths[b]
        guard step < length else { return nil }
        return attributes.isReverse(d) ? length - 1 - step : step
    }

    /// A state input (initial_h / initial_c) as one `[batch, hidden]` block
    /// per direction, in that order; zeros when omitted.
    func initialState(_ tensor: Tensor?, _ name: String) throws -> [S] {
        guard let tensor else { return [S](repeating: 0, count: directions * batch * hidden) }
        try Self.expect(tensor, name, stateShape, elementType)
        let values = try S.decode(tensor)
        var state = [S](repeating: 0, count: values.count)
        for d in 0..<directions {
            for b in 0..<batch {
                let from = stateOffset(d, b)
                let to = (d * batch + b) * hidden
                for k in 0..<hidden { state[to + k] = values[from + k] }
            }
        }
        return state
    }

    /// Wb + Rb of direction `d` (`rows` values).
    func summedBias(_ d: Int) -> [S] {
        let base = d * 2 * rows
        return (0..<rows).map { bias[base + $0] + bias[base + rows + $0] }
    }

    /// Wb of direction `d` (`rows` values).
    func inputBias(_ d: Int) -> [S] {
        Array(bias[(d * 2) * rows..<(d * 2 + 1) * rows])
    }

    /// Rb of direction `d` (`rows` values).
    func recurrentBias(_ d: Int) -> [S] {
        Array(bias[(d * 2 + 1) * rows..<(d * 2 + 2) * rows])
    }

    // MARK: - Products

    /// X·W[d]ᵀ + `rowBias` for every step and row at once: `[seq, batch, rows]`.
    func inputProjection(direction d: Int, rowBias: [S]) throws -> [S] {
        let rows = rows
        var out = try Self.buffer(try Tensor.checkedCount([seqLength, batch, rows]))
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    for t in 0..<seqLength {
                        for b in 0..<batch {
                            let xBase = attributes.batchMajor ? (b * seqLength + t) * inputSize : (t * batch + b) * inputSize
                            let outBase = (t * batch + b) * rows
                            for j in 0..<rows {
                                let wBase = (d * rows + j) * inputSize
                                op[outBase + j] = Self.dot(xp, xBase, wp, wBase, inputSize) + rowBias[j]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// `out[outStart + j] += Σₖ R[d][rowStart + j][k] · vector[offset + k]`
    /// for `j` in `0..<count`.
    func addRecurrent(
        direction d: Int, rowStart: Int, count: Int, vector: [S], offset: Int, into out: inout [S], at outStart: Int
    ) {
        let hidden = hidden
        r.withUnsafeBufferPointer { rp in
            vector.withUnsafeBufferPointer { vp in
                for j in 0..<count {
                    let rBase = (d * rows + rowStart + j) * hidden
                    out[outStart + j] += Self.dot(rp, rBase, vp, offset, hidden)
                }
            }
        }
    }

    /// Σₖ a[aStart + k] · b[bStart + k] for k in 0..<count, over eight
    /// interleaved partial sums combined pairwise (closer to the exact sum
    /// than one running total, and vectorizable).
    @inline(__always)
    static func dot(_ a: UnsafeBufferPointer<S>, _ aStart: Int, _ b: UnsafeBufferPointer<S>, _ bStart: Int, _ count: Int) -> S {
        var lanes: (S, S, S, S, S, S, S, S) = (0, 0, 0, 0, 0, 0, 0, 0)
        var k = 0
        while k + 8 <= count {
            let (i, j) = (aStart + k, bStart + k)
            lanes.0 += a[i] * b[j]
            lanes.1 += a[i + 1] * b[j + 1]
            lanes.2 += a[i + 2] * b[j + 2]
            lanes.3 += a[i + 3] * b[j + 3]
            lanes.4 += a[i + 4] * b[j + 4]
            lanes.5 += a[i + 5] * b[j + 5]
            lanes.6 += a[i + 6] * b[j + 6]
            lanes.7 += a[i + 7] * b[j + 7]
            k += 8
        }
        var tail: S = 0
        while k < count {
            tail += a[aStart + k] * b[bStart + k]
            k += 1
        }
        return ((lanes.0 + lanes.1) + (lanes.2 + lanes.3)) + ((lanes.4 + lanes.5) + (lanes.6 + lanes.7)) + tail
    }

    // MARK: - Outputs

    /// The node's outputs: Y, then `states` (each laid out by `stateOffset`),
    /// nil where an output is not requested.
    func outputs(y: [S], states: [[S]]) throws -> [Value?] {
        try attributes.requested.enumerated().map { index, wanted in
            guard wanted else { return nil }
            if index == 0 { return .tensor(try S.encode(y, shape: yShape, as: elementType)) }
            return .tensor(try S.encode(states[index - 1], shape: stateShape, as: elementType))
        }
    }
}
