/// FlexAttention (domain ai.onnx.preview, version 1): attention over 4-D
/// `Q (B, Hq, L, E)`, `K (B, Hkv, S, E)`, `V (B, Hkv, S, Ev)` with optional
/// modifier subgraphs:
/// `Y = prob_mod(softmax(score_mod((Q·√s)(K·√s)ᵀ))) · V`.
///
/// - Query head `h` uses key/value head `h / (Hq / Hkv)`.
/// - `scale` defaults to `1/√E`; `√scale` is taken in Float and rounded to Q's
///   type, and the scaled Q, K and the scores are rounded to it, as the
///   reference does.
/// - The scores, the softmax, both subgraphs and the final product run in
///   the compute type: `softmax_precision`, else double for double inputs and
///   float otherwise. Each subgraph gets one `(B, Hq, L, S)` tensor of that
///   type and must return one of the same shape.
/// - There is no fully-masked-row guard: a row of −∞ scores gives NaN.
enum FlexAttentionOps {
    struct Attributes: Sendable {
        var scale: Float?
        var softmaxType: ElementType?
        var scoreMod: GraphPlan?
        var probMod: GraphPlan?
    }

    static func register(into registry: inout OpRegistry) {
        registry.register("FlexAttention", domain: "ai.onnx.preview", since: 1) { context in
            let attributes = Attributes(
                scale: try context.float("scale"),
                softmaxType: try Rounding.softmaxType(try context.int("softmax_precision")),
                scoreMod: try context.graph("score_mod") == nil ? nil : try context.subgraph("score_mod"),
                probMod: try context.graph("prob_mod") == nil ? nil : try context.subgraph("prob_mod"))
            return ClosureKernel { inputs, runContext in
                let q = try inputs.tensor(0), k = try inputs.tensor(1), v = try inputs.tensor(2)
                let computeType = attributes.softmaxType ?? (q.elementType == .double ? .double : .float)
                if q.elementType == .double || computeType == .double {
                    return [.tensor(try attend(Double.self, q, k, v, computeType: computeType, attributes, runContext))]
                }
                return [.tensor(try attend(Float.self, q, k, v, computeType: computeType, attributes, runContext))]
            }
        }
    }

    static func attend<S: ComputeReal>(
        _: S.Type, _ q: Tensor, _ k: Tensor, _ v: Tensor, computeType: ElementType, _ attributes: Attributes, _ context: RunContext
    ) throws -> Tensor {
        let type = q.elementType
        let rounding = try Rounding(type)
        let computeRounding = try Rounding(computeType)
        guard k.elementType == type, v.elementType == type else {
            throw OnyxError.wrongElementType("Q, K and V must share one type, got \(type), \(k.elementType), \(v.elementType)")
        }
        guard q.shape.count == 4, k.shape.count == 4, v.shape.count == 4 else {
            throw OnyxError.shapeMismatch("Q \(q.shape), K \(k.shape) and V \(v.shape) must be rank 4")
        }
        let (batch, qHeads, qLength, headSize) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (kvHeads, kvLength, vHeadSize) = (k.shape[1], k.shape[2], v.shape[3])
        guard k.shape[0] == batch, v.shape[0] == batch, v.shape[1] == kvHeads, v.shape[2] == kvLength, k.shape[3] == headSize else {
            throw OnyxError.shapeMismatch("K \(k.shape) and V \(v.shape) do not fit Q \(q.shape)")
        }
        let group = try AttentionSupport.groupSize(qHeads: qHeads, kvHeads: kvHeads)
        let scoreShape = [batch, qHeads, qLength, kvLength]
        let scoreCount = try Tensor.checkedCount(scoreShape)
        _ = try TensorAllocation.checkedBytes(.double, count: scoreCount)
        let yCount = try Tensor.checkedCount([batch, qHeads, qLength, vHeadSize])
        _ = try TensorAllocation.checkedBytes(.double, count: yCount)
        // Rows beyond every element count only arise with empty head sizes and produce nothing.
        let batches = try Tensor.checkedCount([batch, qHeads, qLength]) > max(q.count, yCount, scoreCount) ? 0 : batch
        let scale = attributes.scale ?? Float(1 / Double(headSize).squareRoot())
        let factor = S.rounding(Double(scale.squareRoot()), rounding)
        let queries = try S.load(q).map { ($0 * factor).rounded(rounding) }
        let keys = try S.load(k).map { ($0 * factor).rounded(rounding) }
        var scores = [S](repeating: 0, count: scoreCount)
        for b in 0..<batches {
            for h in 0..<qHeads {
                let kvHead = (b * kvHeads + h / group) * kvLength
                for i in 0..<qLength {
                    let qBase = ((b * qHeads + h) * qLength + i) * headSize
                    let row = ((b * qHeads + h) * qLength + i) * kvLength
                    for j in 0..<kvLength {
                        let kBase = (kvHead + j) * headSize
                        var sum: S = 0
                        for d in 0..<headSize { sum += queries[qBase + d] * keys[kBase + d] }
                        scores[row + j] = sum.rounded(rounding).rounded(computeRounding)
                    }
                }
            }
        }
        if let plan = attributes.scoreMod {
            scores = try modify(scores, shape: scoreShape, computeType, computeRounding, plan, context)
        }
        scores.withUnsafeMutableBufferPointer { all in
            guard let base = all.baseAddress, kvLength > 0 else { return }
            for row in 0..<(scoreCount / kvLength) {
                AttentionSupport.softmax(
                    UnsafeMutableBufferPointer(start: base + row * kvLength, count: kvLength), rounding: computeRounding, guardMasked: false)
            }
        }
        if let plan = attributes.probMod {
            scores = try modify(scores, shape: scoreShape, computeType, computeRounding, plan, context)
        }
        let values = try S.load(v).map { $0.rounded(computeRounding) }
        var y = [S](repeating: 0, count: yCount)
        var accumulator = [S](repeating: 0, count: vHeadSize)
        for b in 0..<batches {
            for h in 0..<qHeads {
                let kvHead = (b * kvHeads + h / group) * kvLength
                for i in 0..<qLength {
                    let row = ((b * qHeads + h) * qLength + i) * kvLength
                    for d in 0..<vHeadSize { accumulator[d] = 0 }
                    for j in 0..<kvLength {
                        let p = scores[row + j]
                        let vBase = (kvHead + j) * vHeadSize
                        for d in 0..<vHeadSize { accumulator[d] += p * values[vBase + d] }
                    }
                    let yBase = ((b * qHeads + h) * qLength + i) * vHeadSize
                    for d in 0..<vHeadSize { y[yBase + d] = accumulator[d].rounded(computeRounding) }
                }
            }
        }
        return try S.store(y, shape: [batch, qHeads, qLength, vHeadSize], as: type)
    }

    /// Runs a modifier subgraph on `values` (as a `computeType` tensor) and reads its single output back.
    private static func modify<S: ComputeReal>(
        _ values: [S], shape: [Int], _ computeType: ElementType, _ rounding: Rounding, _ plan: GraphPlan, _ context: RunContext
    ) throws -> [S] {
        guard let input = plan.inputNames.first, plan.outputNames.count == 1 else {
            throw OnyxError.invalidModel("a FlexAttention modifier graph needs one input and one output")
        }
        let outputs = try plan.run(feeds: [input: .tensor(try S.store(values, shape: shape, as: computeType))], context: context)
        guard let first = outputs.first else { throw OnyxError.invalidModel("the modifier graph produced no output") }
        let result = try first.asTensor()
        guard result.shape == shape, result.elementType.isFloatingPoint else {
            throw OnyxError.shapeMismatch("a modifier graph must return a float tensor of shape \(shape), got \(result.elementType) \(result.shape)")
        }
        return try S.load(result).map { $0.rounded(rounding) }
    }
}
