/// `eliminate-identity`: removes Identity nodes, and Dropout nodes that run
/// in inference mode, by rewiring names.
///
/// For `y = Identity(x)`:
/// - when `y` is not a graph output, every node reading `y` reads `x`;
/// - when `y` is a graph output, the node producing `x` is renamed to
///   produce `y` instead, so the output keeps its name; this needs `x` to
///   come from a node, to not be a graph output, and to have the Identity
///   as its only reader.
///
/// Guards: `y` is not read by a subgraph (renaming inside subgraphs could
/// capture a name the subgraph defines itself); a Dropout's mask output is
/// unnamed; an opset ≥ 12 Dropout's `training_mode` input is absent or a
/// constant false. Opset ≤ 6 Dropout runs in inference mode whatever
/// `is_test` says, as the executor does (like onnxruntime).
public struct EliminateIdentityPass: GraphPass {
    public let name = "eliminate-identity"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("Identity") || node.isOp("Dropout") {
            do {
                try checkInferenceOnly(node, index: index)
                guard let x = node.inputs.first, !x.isEmpty, let y = node.outputs.first, !y.isEmpty else {
                    throw GuardFailure("\(node.opType) has no input or output")
                }
                try require(index.subgraphReaders[y] == nil, "\"\(y)\" is read by a subgraph")
                if !index.outputNames.contains(y) {
                    graph.renameReads(of: y, to: x)
                } else {
                    guard let (producerIndex, _) = index.producingNode(x) else {
                        throw GuardFailure("\"\(y)\" is a graph output and \"\(x)\" is a graph input or initializer")
                    }
                    if let problem = index.soleReaderProblem(x, consumer: nodeIndex) {
                        throw GuardFailure("\"\(y)\" is a graph output and \(problem)")
                    }
                    guard let slot = graph.nodes[producerIndex].outputs.firstIndex(of: x) else { continue }
                    graph.nodes[producerIndex].outputs[slot] = y
                }
                graph.nodes.remove(at: nodeIndex)
                return Rewrite("\(node.opType) removed", candidate: y, detail: "\"\(node.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// Throws unless `node` is an Identity or an inference-mode Dropout
    /// without a mask output.
    private func checkInferenceOnly(_ node: Node, index: GraphIndex) throws {
        guard node.opType == "Dropout" else { return }
        try require(node.outputs.count < 2 || node.outputs[1].isEmpty, "the mask output is used")
        guard node.inputs.count > 2, !node.inputs[2].isEmpty else { return }
        let trainingMode = node.inputs[2]
        guard let flag = index.constant(trainingMode), flag.count == 1,
              let value = try? flag.doubleValues().first, value == 0
        else {
            throw GuardFailure("training_mode \"\(trainingMode)\" is not a constant false")
        }
    }
}
