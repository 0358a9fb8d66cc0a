/// `fuse-conv-add`: `Add(Conv(X, W, B), Z)` (either operand order) becomes
/// one `ai.onyx::FusedConv(X, W, B, Z)` node: the residual of a ResNet-style
/// block is added in the convolution's GEMM epilogue, while the output tile
/// is in registers, instead of in a pass over the whole tensor after it. An
/// activation after the Add (ReLU in ResNet) then fuses into the same node
/// (`fuse-activation`), so it is applied after the sum, as in the graph.
///
/// The fused node takes the Add's place in the node order (Z may be made
/// after the Conv), the Conv's node name and the Add's output name. A Z
/// that does not have the Conv output's shape is still correct: the kernel
/// then adds it with broadcasting after the convolution.
///
/// Guards (each refusal is a decline with its reason):
/// - opset ≥ 7 (older Adds broadcast by attributes);
/// - the producer is a Conv, or a FusedConv with neither an activation nor a
///   residual yet, with one output known to be float (the fused kernel is
///   float32 only);
/// - the Conv output has the Add as its only reader, is not a graph output
///   and is not read by a subgraph;
/// - the other operand is not the Conv output itself.
public struct FuseConvAddPass: GraphPass {
    public let name = "fuse-conv-add"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        for (addIndex, add) in graph.nodes.enumerated() where add.isOp("Add") && add.inputs.count == 2 {
            guard add.outputs.count == 1, !add.outputs[0].isEmpty else { continue }
            let candidates = [0, 1].compactMap { slot in
                index.producingNode(add.inputs[slot]).flatMap { isConv($0.node) ? (slot, $0.index, $0.node) : nil }
            }
            guard !candidates.isEmpty else { continue }
            var reasons: [String] = []
            for (slot, convIndex, conv) in candidates {
                let residual = add.inputs[1 - slot]
                do {
                    try require(context.opset() >= 7, "opset \(context.opset()) uses legacy broadcasting")
                    try require(conv.outputs.count == 1, "\(conv.opType) has \(conv.outputs.count) outputs")
                    try require((2...3).contains(conv.inputs.count), "\(conv.opType) has \(conv.inputs.count) inputs")
                    if conv.domain == OnyxDomain.name {
                        try require(conv.attribute("activation") == nil,
                                    "FusedConv \"\(conv.name)\" already has an activation, applied before the Add")
                    }
                    try require(residual != add.inputs[slot], "the Add adds the Conv output to itself")
                    if let problem = index.soleReaderProblem(add.inputs[slot], consumer: addIndex) {
                        throw GuardFailure("Conv output \(problem)")
                    }
                    let known = facts ?? ValueFacts(graph)
                    facts = known
                    try require(known.elementType(add.inputs[slot]) == .float,
                                "Conv output \"\(add.inputs[slot])\" is not known to be float")
                    var fused = conv
                    fused.opType = "FusedConv"
                    fused.domain = OnyxDomain.name
                    fused.inputs = conv.inputs + (conv.inputs.count == 2 ? [""] : []) + [residual]
                    fused.outputs = add.outputs
                    graph.nodes[addIndex] = fused
                    graph.nodes.remove(at: convIndex)
                    return Rewrite(
                        "Conv and Add fused into FusedConv", candidate: add.outputs[0],
                        detail: "\"\(conv.name)\" + \"\(add.name)\"")
                } catch let failure as GuardFailure {
                    reasons.append(failure.reason)
                }
            }
            if let reason = reasons.first { context.decline(add, reason) }
        }
        return nil
    }

    /// True for a standard Conv, or an `ai.onyx` FusedConv without a residual.
    private func isConv(_ node: Node) -> Bool {
        if node.isOp("Conv") { return true }
        return node.domain == OnyxDomain.name && node.opType == "FusedConv" && node.inputs.count <= 3
    }
}
