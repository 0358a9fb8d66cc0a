/// Expands calls of model-local functions into their bodies.
///
/// A node whose (domain, op type) names a function of the model is replaced
/// by the function's nodes: formal inputs and outputs renamed to the call's
/// actual names, internal values given names unique to the call, and
/// attribute references (`ref_attr_name`) resolved from the calling node,
/// falling back to the function's defaults. Functions calling functions
/// expand recursively, to a bounded depth.
enum FunctionInliner {
    static func inline(_ graph: Graph, functions: [Function], depth: Int = 0) throws -> Graph {
        guard !functions.isEmpty else { return graph }
        guard depth < 32 else { throw OnyxError.resourceLimit("functions call each other more than 32 levels deep") }
        var result = graph
        result.nodes = []
        for (index, node) in graph.nodes.enumerated() {
            guard let function = functions.first(where: {
                ($0.domain == "ai.onnx" ? "" : $0.domain) == node.normalizedDomain && $0.name == node.opType
                    && $0.overload == node.overload
            }) else {
                result.nodes.append(node)
                continue
            }
            let prefix = "\(node.name.isEmpty ? "call\(index)" : node.name)/\(function.name)/"
            var rename: [String: String] = [:]
            for (position, formal) in function.inputs.enumerated() where !formal.isEmpty {
                rename[formal] = position < node.inputs.count ? node.inputs[position] : ""
            }
            for (position, formal) in function.outputs.enumerated() where !formal.isEmpty {
                rename[formal] = position < node.outputs.count ? node.outputs[position] : prefix + formal
            }
            func mapped(_ name: String) -> String {
                if name.isEmpty { return name }
                return rename[name] ?? prefix + name
            }
            var body: [Node] = []
            for inner in function.nodes {
                var copy = inner
                copy.name = prefix + inner.name
                copy.inputs = inner.inputs.map(mapped)
                copy.outputs = inner.outputs.map(mapped)
                copy.attributes = inner.attributes.compactMap { attribute in
                    guard let reference = attribute.reference else { return attribute }
                    if let actual = node.attribute(reference) {
                        return Attribute(name: attribute.name, value: actual.value, docString: attribute.docString)
                    }
                    if let fallback = function.attributeDefaults.first(where: { $0.name == reference }) {
                        return Attribute(name: attribute.name, value: fallback.value, docString: attribute.docString)
                    }
                    return nil
                }
                body.append(copy)
            }
            let expanded = try inline(Graph(nodes: body), functions: functions, depth: depth + 1)
            result.nodes.append(contentsOf: expanded.nodes)
        }
        return result
    }
}
