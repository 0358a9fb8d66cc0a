/// `fold-affine-forward`: folds a per-channel affine `y = x · s[c] + t[c]`
/// (an `ai.onyx::ChannelAffine` without activation, or an inference-mode
/// BatchNormalization that could not fold into its producer) forward into
/// the one Conv (or FusedConv), Gemm or MatMul reading it, whose input
/// channels are the affine's channels. The consumer then reads `x`, and the
/// affine node goes. Math in Float64, weights rounded once to their type.
///
/// - Conv `W [M, C/group, k…]`: input channel `i` belongs to group
///   `i / (C/group)`; `W'[o, j, k] = W[o, j, k] · s[g(o)·C/group + j]` and
///   `b'[o] = b[o] + Σ_{j,k} W[o, j, k] · t[g(o)·C/group + j]`;
/// - Gemm (`transA` 0, B constant 2-D, `transB` either): B's row `k` of
///   op(B) scaled by `s[k]`; `C' = beta · C + alpha · tᵀ · op(B)` as an
///   `[N]` vector with beta = 1;
/// - MatMul with a constant 2-D weight and an input of known rank 2: W's
///   row `k` scaled by `s[k]`; a non-zero shift makes it `Gemm(x, W', tᵀW)`.
///
/// Guards (each refusal is a decline with its reason):
/// - the affine's output has the consumer as its only reader (reading it
///   as its data input only), is not a graph output or read by a subgraph;
/// - the consumer's weights (and bias / C) are constant float, double or
///   float16 initializers, with as many input channels as the affine;
/// - a Conv with padding (non-zero `pads`, or `auto_pad` SAME_*) only when
///   the shift is all zero: the padded zeros would otherwise become `t`;
/// - Gemm: `transA` 0; with a non-zero shift, C is absent or one value per
///   column (a full `[M, N]` C cannot take a per-column term as a vector).
public struct AffineForwardFoldPass: GraphPass {
    public let name = "fold-affine-forward"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        for (nodeIndex, node) in graph.nodes.enumerated() {
            let isChannelAffine = node.domain == OnyxDomain.name && node.opType == "ChannelAffine"
            // A ChannelAffine with its activation fused is no candidate (the activation runs before the consumer).
            guard (isChannelAffine && node.attribute("activation") == nil) || node.isOp("BatchNormalization"),
                  let output = node.outputs.first, !output.isEmpty,
                  let consumerIndex = index.readers[output]?.first,
                  let kind = ForwardConsumer.Kind(graph.nodes[consumerIndex])
            else { continue }
            let consumer = graph.nodes[consumerIndex]
            do {
                if let problem = index.soleReaderProblem(output, consumer: consumerIndex) {
                    throw GuardFailure("affine output \(problem)")
                }
                try require(consumer.inputs.first == output, "\(consumer.opType) reads the affine output as a weight, not as its data")
                let affine = try Self.affine(of: node, isChannelAffine: isChannelAffine, index: index, opset: context.opset())
                let folder = ForwardConsumer(
                    kind: kind, index: consumerIndex, graphIndex: index, reserved: context.outerScope, opset: context.opset())
                try folder.absorb(scale: affine.scale, shift: affine.shift, input: affine.x, into: &graph)
                graph.nodes.remove(at: nodeIndex)
                return Rewrite(
                    "\(node.opType) folded forward into \(consumer.opType)", candidate: output,
                    detail: "\"\(node.name)\" into \(consumer.opType) \"\(consumer.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// The affine map a ChannelAffine or BatchNormalization node computes, and its input.
    static func affine(
        of node: Node, isChannelAffine: Bool, index: GraphIndex, opset: Int
    ) throws -> (x: String, scale: [Double], shift: [Double]) {
        guard isChannelAffine else {
            let (scale, shift) = try BatchNormFolding.affine(of: node, index: index, opset: opset)
            return (node.inputs[0], scale, shift)
        }
        try require(node.inputs.count == 3 && node.outputs.count == 1, "ChannelAffine does not have 3 inputs and 1 output")
        guard let scale = index.constant(node.inputs[1]), let shift = index.constant(node.inputs[2]),
              scale.isFoldableFloat, shift.isFoldableFloat, scale.shape.count == 1, scale.shape == shift.shape
        else { throw GuardFailure("ChannelAffine scale and bias are not constant [C] floats") }
        return (node.inputs[0], try scale.doubleValues(), try shift.doubleValues())
    }
}
