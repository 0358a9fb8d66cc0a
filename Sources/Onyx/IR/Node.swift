/// One operator application in a graph.
///
/// Inputs and outputs are value names; an empty string marks an omitted
/// optional operand, as in ONNX. `attributes` keeps the file's order.
public struct Node: Sendable, Equatable {
    public var name: String
    public var opType: String
    /// "" for the default `ai.onnx` domain.
    public var domain: String
    public var overload: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [Attribute]
    public var docString: String
    public var metadata: [StringPair]

    public init(
        name: String = "", opType: String, domain: String = "", overload: String = "",
        inputs: [String], outputs: [String], attributes: [Attribute] = [],
        docString: String = "", metadata: [StringPair] = []
    ) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.overload = overload
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
        self.docString = docString
        self.metadata = metadata
    }

    /// The attribute called `name`, if present.
    public func attribute(_ name: String) -> Attribute? {
        attributes.first { $0.name == name }
    }

    /// The graphs this node carries as attributes (If/Loop/Scan bodies).
    public var subgraphs: [Graph] {
        attributes.flatMap { attribute -> [Graph] in
            switch attribute.value {
            case .graph(let graph): return [graph]
            case .graphs(let graphs): return graphs
            default: return []
            }
        }
    }

    /// The domain with the default spelled out ("" and "ai.onnx" are the same).
    public var normalizedDomain: String { domain == "ai.onnx" ? "" : domain }
}
