/// `dead-code`: removes nodes whose outputs nothing reads, and initializers
/// no node, subgraph or graph output reads.
///
/// A value is read when a node lists it as an input, a subgraph reads it
/// from the enclosing scope, or it is a graph output. One rewrite removes
/// one dead node (from the end of the graph, so chains go in one scan each)
/// or all unused initializers at once. Initializers that a graph input of the
/// same name makes overridable are kept: removing them would change the
/// model's inputs (in IR < 4 models, where every initializer is listed as an
/// input, the unused ones go with their input entries). ONNX operators have no side effects, so any node whose
/// outputs are all unread may go, whatever its domain.
public struct DeadCodePass: GraphPass {
    public let name = "dead-code"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        for nodeIndex in graph.nodes.indices.reversed() {
            let node = graph.nodes[nodeIndex]
            guard node.outputs.allSatisfy({ $0.isEmpty || index.isUnused($0) }) else { continue }
            graph.nodes.remove(at: nodeIndex)
            return Rewrite(
                "unused nodes removed", candidate: node.outputs.first ?? node.name,
                detail: "\(node.opType) \"\(node.name)\"")
        }
        let unused = graph.constants.keys.filter { !index.overridable.contains($0) && index.isUnused($0) }
        guard !unused.isEmpty else { return nil }
        for name in unused { graph.constants.removeValue(forKey: name) }
        let removed = Set(unused)
        graph.inputs.removeAll { removed.contains($0.name) }
        return Rewrite(
            "unused initializers removed", candidate: unused[0], count: unused.count,
            detail: unused.prefix(5).joined(separator: ", ") + (unused.count > 5 ? ", …" : ""))
    }
}
