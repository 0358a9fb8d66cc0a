/// `batchnorm-to-channel-affine`: rewrites an inference-mode
/// BatchNormalization as one `ai.onyx::ChannelAffine(X, s, t)` node,
/// `Y = X · s[c] + t[c]` along axis 1, with `s = scale / sqrt(var + epsilon)`
/// and `t = B − mean · s` computed in Float64 and stored as float `[C]`
/// constants. The node keeps the BatchNormalization's name and output.
///
/// In the pipeline it runs after `fold-batchnorm`, so it only meets the
/// BatchNormalizations that could not fold into their producer (after a
/// Concat, a graph input, a Relu…). The affine then may fold forward into
/// the Conv/Gemm/MatMul reading it (`fold-affine-forward`), or take the
/// activation that follows (`fuse-activation`), so a pre-activation block
/// `BN → Relu` runs as one pass over the tensor. Written back in standard
/// ops it is again a BatchNormalization (see `FusedOpLowering`).
///
/// Guards: the inference-mode guards of `fold-batchnorm` (five inputs, no
/// optional outputs, `training_mode` 0, `spatial` 1, constant `[C]`
/// parameters with `var + epsilon > 0`); X's element type is known to be
/// float (the kernel is float32 only).
public struct ChannelAffinePass: GraphPass {
    public let name = "batchnorm-to-channel-affine"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("BatchNormalization") {
            do {
                let opset = context.opset()
                let (scale, shift) = try BatchNormFolding.affine(of: node, index: index, opset: opset)
                let known = facts ?? ValueFacts(graph)
                facts = known
                let x = node.inputs[0]
                let type = BatchNormFolding.inputElementType(of: node, facts: known, index: index, opset: opset)
                try require(type == .float, "X \"\(x)\" is not known to be float")
                let output = node.outputs[0]
                let taken = graph.allNames().union(context.outerScope)
                let scaleName = Graph.uniqueName(output + "_scale", notIn: taken)
                let shiftName = Graph.uniqueName(output + "_shift", notIn: taken.union([scaleName]))
                graph.constants[scaleName] = try Tensor.fromDoubles(scale, shape: [scale.count], as: .float)
                graph.constants[shiftName] = try Tensor.fromDoubles(shift, shape: [shift.count], as: .float)
                graph.nodes[nodeIndex] = Node(
                    name: node.name, opType: "ChannelAffine", domain: OnyxDomain.name,
                    inputs: [x, scaleName, shiftName], outputs: [output])
                return Rewrite(
                    "BatchNormalization rewritten as ChannelAffine", candidate: output, detail: "\"\(node.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }
}
