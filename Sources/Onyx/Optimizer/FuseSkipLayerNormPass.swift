/// `fuse-skip-layernorm`: replaces `LayerNormalization(Add(a, b), Scale, B)`
/// (the standard op or `ai.onyx::LayerNormalization`) by one
/// `ai.onyx::SkipLayerNorm(a, b, Scale, B)` with the LayerNorm's `axis` and
/// `epsilon`, which adds, normalizes and, when the sum has other readers
/// (the residual stream of a transformer), writes the sum as its second
/// output under the Add's output name.
///
/// Its standard-op form (`NormLowerings`) is the Add followed by
/// LayerNormalization (opset ≥ 17) or by the decomposed LayerNorm.
///
/// Guards (declines name the LayerNormalization): the LayerNorm's Mean and
/// InvStdDev outputs are not used; the Add is of the default domain with
/// two operands, opset ≥ 7 (numpy broadcasting); when the sum must still
/// be written, Scale and B are constants, graph inputs, or computed before
/// the Add.
public struct FuseSkipLayerNormPass: GraphPass {
    public let name = "fuse-skip-layernorm"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        for (nodeIndex, node) in graph.nodes.enumerated() where isLayerNorm(node, context: context) {
            guard node.inputs.count >= 2, node.outputs.count >= 1, !node.outputs[0].isEmpty,
                  let (addIndex, add) = index.producingNode(node.inputs[0]), add.isOp("Add")
            else { continue }
            do {
                try require(node.outputs.dropFirst().allSatisfy { $0.isEmpty || index.isUnused($0) },
                            "the LayerNormalization's Mean or InvStdDev output is used")
                try require(add.inputs.count == 2 && add.inputs.allSatisfy { !$0.isEmpty } && add.outputs.count == 1,
                            "the Add does not have two operands")
                try require(context.opset() >= 7, "opset \(context.opset()) Add uses legacy broadcasting")
                let sum = add.outputs[0]
                let keepsSum = index.soleReaderProblem(sum, consumer: nodeIndex) != nil
                let parameters = node.inputs.dropFirst().filter { !$0.isEmpty }
                if keepsSum {
                    for name in parameters {
                        if let producer = index.producingNode(name)?.index {
                            try require(producer < addIndex, "\"\(name)\" is computed after the Add whose sum is kept")
                        }
                    }
                }
                var attributes = [Attribute(name: "axis", value: .int(node.intAttribute("axis", default: -1)))]
                attributes.append(Attribute(name: "epsilon", value: .float(node.floatAttribute("epsilon", default: 1e-5))))
                let fused = Node(
                    name: node.name.isEmpty ? node.outputs[0] + "_skiplayernorm" : node.name + "_skip",
                    opType: "SkipLayerNorm", domain: OnyxDomain.name,
                    inputs: add.inputs + Array(node.inputs[1...].prefix(2)),
                    outputs: keepsSum ? [node.outputs[0], sum] : [node.outputs[0]], attributes: attributes)
                if keepsSum {
                    graph.nodes[addIndex] = fused
                    graph.nodes.remove(at: nodeIndex)
                } else {
                    graph.replace([addIndex, nodeIndex], with: fused)
                }
                return Rewrite(
                    keepsSum ? "Add and LayerNormalization fused into \(OnyxDomain.name)::SkipLayerNorm (sum kept)"
                        : "Add and LayerNormalization fused into \(OnyxDomain.name)::SkipLayerNorm",
                    candidate: node.outputs[0], detail: "\"\(add.name)\" and \"\(node.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// The standard LayerNormalization (opset ≥ 17) or the fused `ai.onyx` one.
    private func isLayerNorm(_ node: Node, context: PassContext) -> Bool {
        node.opType == "LayerNormalization"
            && ((node.normalizedDomain == "" && context.opset() >= 17) || node.domain == OnyxDomain.name)
    }
}
