/// A description of a model for people and tools: what `onyx info` prints.
package struct ModelSummary: Codable, Sendable {
    /// A graph input or output.
    package struct ValueSummary: Codable, Sendable {
        package var name: String
        /// e.g. `tensor(float)`, `seq(tensor(int64))`; "?" when untyped.
        package var type: String
        /// Dimensions as text: sizes, symbol names, "?" for unknown; nil when the rank is unknown.
        package var shape: [String]?
    }

    /// A subgraph carried by a node attribute.
    package struct SubgraphSummary: Codable, Sendable {
        package var node: String
        package var opType: String
        package var attribute: String
        /// 1 for subgraphs of the main graph's nodes, 2 for theirs, …
        package var depth: Int
        package var nodeCount: Int
    }

    package struct OpsetSummary: Codable, Sendable {
        package var domain: String
        package var version: Int
    }

    package struct OperatorCount: Codable, Sendable {
        /// `OpType`, or `domain.OpType` outside the default domain.
        package var op: String
        package var count: Int
    }

    package var file: String?
    package var irVersion: Int
    package var producerName: String
    package var producerVersion: String
    package var domain: String
    package var modelVersion: Int
    package var graphName: String
    package var opsets: [OpsetSummary]
    package var inputs: [ValueSummary]
    package var outputs: [ValueSummary]
    /// Node count per operator over the main graph and all subgraphs, most frequent first.
    package var operators: [OperatorCount]
    /// Nodes of the main graph.
    package var nodeCount: Int
    /// Nodes including those of subgraphs.
    package var totalNodeCount: Int
    /// Initializers of the main graph (sparse ones included).
    package var initializerCount: Int
    /// Elements over all initializers of the main graph.
    package var parameterCount: Int
    /// Bytes over all initializers of the main graph.
    package var parameterBytes: Int
    package var subgraphs: [SubgraphSummary]
    package var functions: [String]
    package var externalDataFiles: [String]
    /// Operators (as in `operators`) this build cannot execute.
    package var unsupportedOperators: [String]
    /// Time to load the file, in milliseconds.
    package var loadMs: Double?
    /// Process memory resident right after the load, in MiB.
    package var rssAfterLoadMb: Double?

    /// Summarizes `model`; `loaded` adds the file facts of a load.
    package init(_ model: Model, loaded: LoadedModel? = nil, file: String? = nil) {
        self.file = file
        irVersion = model.irVersion
        producerName = model.producerName
        producerVersion = model.producerVersion
        domain = model.domain
        modelVersion = model.modelVersion
        graphName = model.graph.name
        opsets = model.opsetImports.map { OpsetSummary(domain: $0.domain.isEmpty ? "ai.onnx" : $0.domain, version: $0.version) }
        let constants = model.graph.constants
        inputs = model.graph.inputs.filter { constants[$0.name] == nil }.map(ModelSummary.describe)
        outputs = model.graph.outputs.map(ModelSummary.describe)

        var histogram: [String: Int] = [:]
        var unsupported = Set<String>()
        var subgraphs: [SubgraphSummary] = []
        var total = 0
        model.graph.forEachNode { node, depth in
            total += 1
            let op = node.normalizedDomain.isEmpty ? node.opType : "\(node.domain).\(node.opType)"
            histogram[op, default: 0] += 1
            let opset = model.opsetVersion(for: node.normalizedDomain) ?? 0
            if !OperatorSupport.canExecute(domain: node.normalizedDomain, opType: node.opType, opset: opset) {
                unsupported.insert(op)
            }
            for attribute in node.attributes {
                let graphs: [Graph]
                switch attribute.value {
                case .graph(let graph): graphs = [graph]
                case .graphs(let list): graphs = list
                default: graphs = []
                }
                for graph in graphs {
                    var count = 0
                    graph.forEachNode { _, _ in count += 1 }
                    subgraphs.append(SubgraphSummary(
                        node: node.name, opType: node.opType, attribute: attribute.name, depth: depth + 1, nodeCount: count))
                }
            }
        }
        operators = histogram.map { OperatorCount(op: $0.key, count: $0.value) }
            .sorted { ($0.count, $1.op) > ($1.count, $0.op) }
        nodeCount = model.graph.nodes.count
        totalNodeCount = total
        initializerCount = constants.count
        parameterCount = constants.values.reduce(0) { $0 &+ $1.count }
        parameterBytes = constants.values.reduce(0) { $0 &+ $1.byteCount }
        self.subgraphs = subgraphs
        functions = model.functions.map { $0.domain.isEmpty ? $0.name : "\($0.domain).\($0.name)" }
        externalDataFiles = loaded?.externalDataFiles ?? []
        unsupportedOperators = unsupported.sorted()
        loadMs = loaded.map { $0.seconds * 1000 }
        rssAfterLoadMb = loaded?.residentBytesAfterLoad.map { Double($0) / 1_048_576 }
    }

    static func describe(_ value: ValueInfo) -> ValueSummary {
        ValueSummary(
            name: value.name, type: value.type.map(typeName) ?? "?",
            shape: value.type?.shape.map { $0.map(\.description) })
    }

    /// The type without its shape, e.g. `tensor(float)`.
    static func typeName(_ type: ValueType) -> String {
        switch type {
        case .tensor(let element, _): return "tensor(\(element?.description ?? "?"))"
        case .sparseTensor(let element, _): return "sparse_tensor(\(element?.description ?? "?"))"
        case .sequence(let inner): return "seq(\(inner.map(typeName) ?? "?"))"
        case .optional(let inner): return "optional(\(inner.map(typeName) ?? "?"))"
        case .map(let key, let value): return "map(\(key?.description ?? "?"),\(value.map(typeName) ?? "?"))"
        }
    }
}
