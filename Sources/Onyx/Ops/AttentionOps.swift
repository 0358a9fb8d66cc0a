/// Attention (opsets 23, 24 and 25): scaled dot-product attention,
/// `Y = softmax(softcap(Q·√s · (K·√s)ᵀ) + bias) · V`, per batch and query head.
///
/// - Inputs are 4-D `(B, H, L, D)`, or 3-D `(B, L, H·D)` with the head counts
///   `q_num_heads` / `kv_num_heads` (both required then; 4-D inputs take them
///   from the shapes and, from opset 25, must not carry them).
/// - Grouped-query: query head `h` reads key/value head `h / (Hq / Hkv)`.
/// - `past_key`/`past_value` (4-D) are concatenated in front of K/V along the
///   sequence; `present_key`/`present_value` are the 4-D results.
/// - The bias (see `AttentionOps+Masks.swift`) sums the mask, the causal
///   frontier, the sliding window (25) and the `nonpad_kv_seqlen` padding (24).
/// - A query row whose bias is −∞ everywhere gets zero probabilities, so a
///   zero output row (the 1.23 errata), also in `qk_matmul_output` mode 3.
/// - `qk_matmul_output`: mode 0 the scaled QKᵀ (before softcap, as the text and
///   the function body say), 1 after softcap, 2 with the bias, 3 probabilities.
///
/// Float, float16 and bfloat16 compute in Float, double in Double; every
/// elementwise step and each matmul result is rounded to the input type as the
/// reference does, and the softmax runs at `softmax_precision` (a Double
/// softmax for Float tensors is computed in Float with Double sums).
enum AttentionOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Attention", versions: [23, 24, 25]) { context in
            let attributes = try Attributes(context)
            return ClosureKernel { inputs, _ in
                let q = try inputs.tensor(0)
                if q.elementType == .double {
                    return try Run<Double>(inputs, attributes).outputs()
                }
                return try Run<Float>(inputs, attributes).outputs()
            }
        }
    }

    struct Attributes: Sendable {
        var opset: Int
        var scale: Float?
        var isCausal: Bool
        var qNumHeads: Int?
        var kvNumHeads: Int?
        var softcap: Float
        var softmaxType: ElementType?
        var qkMode: Int
        var leftWindow: Int
        var rightWindow: Int
        var wantsPresent: Bool
        var wantsQK: Bool

        init(_ context: OpContext) throws {
            opset = context.opset
            scale = try context.float("scale")
            isCausal = try context.int("is_causal", default: 0) != 0
            qNumHeads = try context.int("q_num_heads")
            kvNumHeads = try context.int("kv_num_heads")
            softcap = try context.float("softcap", default: 0)
            softmaxType = try Rounding.softmaxType(try context.int("softmax_precision"))
            qkMode = try context.int("qk_matmul_output_mode", default: 0)
            guard (0...3).contains(qkMode) else {
                throw OnyxError.invalidModel("qk_matmul_output_mode \(qkMode) is not one of 0, 1, 2, 3")
            }
            if opset < 25, context.hasAttribute("left_window_size") || context.hasAttribute("right_window_size") {
                throw OnyxError.invalidModel("left_window_size / right_window_size need Attention opset 25")
            }
            leftWindow = try context.int("left_window_size", default: -1)
            rightWindow = try context.int("right_window_size", default: -1)
            guard leftWindow >= -1, rightWindow >= -1 else {
                throw OnyxError.invalidModel("window sizes must be -1 or nonnegative, got \(leftWindow), \(rightWindow)")
            }
            if opset < 24, context.hasInput(6) {
                throw OnyxError.invalidModel("nonpad_kv_seqlen needs Attention opset 24")
            }
            if context.hasInput(4) != context.hasInput(5) {
                throw OnyxError.invalidModel("past_key and past_value must be given together")
            }
            if context.hasInput(4), context.hasInput(6) {
                throw OnyxError.invalidModel("nonpad_kv_seqlen cannot be combined with past_key / past_value")
            }
            wantsPresent = context.hasOutput(1) || context.hasOutput(2)
            wantsQK = context.hasOutput(3)
        }
    }

    /// Sizes of one call. K/V here include the past (`kvLength` = past + new).
    struct Geometry {
        var batch = 0, qHeads = 0, kvHeads = 0, qLength = 0, newLength = 0, pastLength = 0
        var headSize = 0, vHeadSize = 0, threeD = false
        var kvLength: Int { pastLength + newLength }
        var group: Int { qHeads / kvHeads }

        init(q: Tensor, k: Tensor, v: Tensor, past: (Tensor, Tensor)?, _ attributes: Attributes) throws {
            let rank = q.shape.count
            guard k.shape.count == rank, v.shape.count == rank, rank == 3 || rank == 4 else {
                throw OnyxError.shapeMismatch("Q, K and V must all be 3-D or all 4-D, got \(q.shape), \(k.shape), \(v.shape)")
            }
            threeD = rank == 3
            batch = q.shape[0]
            _ = try TensorAllocation.checkedBytes(.int64, count: batch)
            qLength = q.shape[rank - 2]
            newLength = k.shape[rank - 2]
            if threeD {
                guard let qh = attributes.qNumHeads, let kvh = attributes.kvNumHeads, qh > 0, kvh > 0 else {
                    throw OnyxError.invalidModel("3-D inputs need positive q_num_heads and kv_num_heads")
                }
                qHeads = qh
                kvHeads = kvh
                guard q.shape[2] % qh == 0, k.shape[2] % kvh == 0, v.shape[2] % kvh == 0,
                      q.shape[2] >= qh, k.shape[2] >= kvh, v.shape[2] >= kvh else {
                    throw OnyxError.shapeMismatch(
                        "hidden sizes \(q.shape[2]), \(k.shape[2]), \(v.shape[2]) are not positive multiples of the head counts \(qh), \(kvh)")
                }
                headSize = q.shape[2] / qh
                vHeadSize = v.shape[2] / kvh
                guard k.shape[2] / kvh == headSize else {
                    throw OnyxError.shapeMismatch("Q head size \(headSize) differs from K head size \(k.shape[2] / kvh)")
                }
            } else {
                if attributes.opset >= 25, attributes.qNumHeads != nil || attributes.kvNumHeads != nil {
                    throw OnyxError.invalidModel("q_num_heads and kv_num_heads must not be given for 4-D inputs")
                }
                qHeads = q.shape[1]
                kvHeads = k.shape[1]
                headSize = q.shape[3]
                vHeadSize = v.shape[3]
                guard v.shape[1] == kvHeads, k.shape[3] == headSize else {
                    throw OnyxError.shapeMismatch("K \(k.shape) and V \(v.shape) do not fit Q \(q.shape)")
                }
                if let qh = attributes.qNumHeads, qh != qHeads { throw OnyxError.invalidModel("q_num_heads \(qh) differs from Q's \(qHeads) heads") }
                if let kvh = attributes.kvNumHeads, kvh != kvHeads { throw OnyxError.invalidModel("kv_num_heads \(kvh) differs from K's \(kvHeads) heads") }
            }
            guard k.shape[0] == batch, v.shape[0] == batch, v.shape[rank - 2] == newLength else {
                throw OnyxError.shapeMismatch("batch or sequence sizes of Q \(q.shape), K \(k.shape), V \(v.shape) disagree")
            }
            _ = try AttentionSupport.groupSize(qHeads: qHeads, kvHeads: kvHeads)
            if let (pastKey, pastValue) = past {
                pastLength = pastKey.shape.count == 4 ? pastKey.shape[2] : -1
                guard pastKey.shape == [batch, kvHeads, pastLength, headSize],
                      pastValue.shape == [batch, kvHeads, pastLength, vHeadSize] else {
                    throw OnyxError.shapeMismatch(
                        "past_key \(pastKey.shape) / past_value \(pastValue.shape) must be (\(batch), \(kvHeads), P, \(headSize) / \(vHeadSize))")
                }
            }
        }

        /// Element strides (batch, head, position) of Q, K or V; the head dimension is contiguous.
        func strides(heads: Int, length: Int, size: Int) -> (batch: Int, head: Int, position: Int) {
            threeD ? (length * heads * size, size, heads * size) : (heads * length * size, length * size, size)
        }
    }

    /// Concatenates `past` (4-D) and `new` (3-D or 4-D layout) into a 4-D
    /// `(B, H, past + new, size)` array.
    static func present<S: ComputeReal>(past: [S]?, new: [S], _ g: Geometry, size: Int) -> [S] {
        var result = [S](repeating: 0, count: g.batch * g.kvHeads * g.kvLength * size)
        if result.isEmpty { return result }
        let source = g.strides(heads: g.kvHeads, length: g.newLength, size: size)
        for b in 0..<g.batch {
            for h in 0..<g.kvHeads {
                let base = (b * g.kvHeads + h) * g.kvLength * size
                if let past {
                    let pastBase = (b * g.kvHeads + h) * g.pastLength * size
                    for i in 0..<(g.pastLength * size) { result[base + i] = past[pastBase + i] }
                }
                for j in 0..<g.newLength {
                    let from = b * source.batch + h * source.head + j * source.position
                    let to = base + (g.pastLength + j) * size
                    for d in 0..<size { result[to + d] = new[from + d] }
                }
            }
        }
        return result
    }
}
