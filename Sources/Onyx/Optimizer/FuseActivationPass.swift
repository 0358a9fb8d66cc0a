/// `fuse-activation`: an activation applied to the output of a Conv, Gemm,
/// or an `ai.onyx` FusedMatMul / ChannelAffine (or FusedConv / FusedGemm)
/// without an activation yet, is folded into that node: Conv becomes
/// `ai.onyx::FusedConv`, Gemm `ai.onyx::FusedGemm`, and the fused ops take
/// the `FusedActivation` as their `activation` / `activation_params`
/// attributes. The producer keeps its node name and takes the
/// activation's output name; the activation node(s) go.
///
/// Activations: Relu, Clip (constant scalar bounds), LeakyRelu, Sigmoid,
/// HardSigmoid, HardSwish, Tanh, SiLU as `Mul(x, Sigmoid(x))`, and exact
/// GELU as the Gelu op (opset 20) or written out with Erf (see
/// `FusedActivation.matchGelu`).
///
/// Guards (each refusal is a decline with its reason):
/// - the producer's output is read only by the activation (for SiLU: only
///   by its Sigmoid and Mul; for GELU: by its scale and Mul), is not a graph
///   output and is not read by a subgraph;
/// - the producer's output is known to be float (the fused kernels are
///   float32 only), and the producer has one output;
/// - a fused producer does not have an activation already;
/// - Clip's bounds are constant float scalars.
public struct FuseActivationPass: GraphPass {
    public let name = "fuse-activation"

    public init() {}

    /// Producer op → fused op, for the default domain and the `ai.onyx` one.
    private static let standardProducers = ["Conv": "FusedConv", "Gemm": "FusedGemm"]
    private static let fusedProducers: Set<String> = ["FusedConv", "FusedGemm", "FusedMatMul", "ChannelAffine"]

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        for (nodeIndex, node) in graph.nodes.enumerated() where node.normalizedDomain == "" {
            guard !FusedActivation.isSiLUSigmoid(node, in: index) else { continue }
            let match: FusedActivation.Match?
            do {
                match = try FusedActivation.match(node, at: nodeIndex, in: index, opset: context.opset())
            } catch let failure as GuardFailure {
                // Only an activation of a fusable producer is a candidate worth reporting.
                if node.inputs.contains(where: { producer(of: $0, in: index) != nil }) { context.decline(node, failure.reason) }
                continue
            }
            guard let match, let (producerIndex, producerNode) = index.producingNode(match.input),
                  let fusedType = producer(of: match.input, in: index)
            else { continue }
            do {
                try require(producerNode.outputs.count == 1, "\(producerNode.opType) has \(producerNode.outputs.count) outputs")
                if producerNode.domain == OnyxDomain.name {
                    try require(producerNode.attribute("activation") == nil,
                                "\(producerNode.opType) \"\(producerNode.name)\" already has an activation")
                }
                try checkReaders(of: match, index: index)
                let known = facts ?? ValueFacts(graph)
                facts = known
                try require(known.elementType(match.input) == .float,
                            "\(producerNode.opType) output \"\(match.input)\" is not known to be float")
                var fused = producerNode
                fused.opType = fusedType
                fused.domain = OnyxDomain.name
                fused.attributes.removeAll { $0.name == "activation" || $0.name == "activation_params" }
                fused.attributes += match.activation.attributes
                fused.outputs = [match.output]
                graph.nodes[producerIndex] = fused
                for removed in match.nodes.sorted(by: >) { graph.nodes.remove(at: removed) }
                return Rewrite(
                    "\(match.activation.kind.rawValue) fused into \(producerNode.opType)", candidate: match.output,
                    detail: "\"\(node.name)\" into \(producerNode.opType) \"\(producerNode.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// The fused op type the producer of `value` becomes, or nil when it cannot take an activation.
    private func producer(of value: String, in index: GraphIndex) -> String? {
        guard let (_, node) = index.producingNode(value) else { return nil }
        if node.normalizedDomain == "" { return Self.standardProducers[node.opType] }
        if node.domain == OnyxDomain.name, Self.fusedProducers.contains(node.opType) { return node.opType }
        return nil
    }

    /// Throws unless the activation's node(s) are the only readers of its input.
    private func checkReaders(of match: FusedActivation.Match, index: GraphIndex) throws {
        guard match.nodes.count > 1 else {
            if let problem = index.soleReaderProblem(match.input, consumer: match.nodes[0]) {
                throw GuardFailure("producer output \(problem)")
            }
            return
        }
        try require(!index.outputNames.contains(match.input), "producer output \"\(match.input)\" is a graph output")
        try require(index.subgraphReaders[match.input] == nil, "producer output \"\(match.input)\" is read by a subgraph")
        let readers = (index.readers[match.input] ?? []).sorted()
        try require(readers == match.inputReaders.sorted(),
                    "producer output \"\(match.input)\" has \(readers.count) readers, not only the "
                        + (match.activation.kind == .gelu ? "scale and Mul of the GELU" : "Sigmoid and Mul of x · sigmoid(x)"))
    }
}
