import OrderedCollections

/// A computation graph: nodes in topological order, its inputs and outputs,
/// and its constants (initializers).
///
/// `inputs` lists what the file lists, which in older models includes
/// initializer-backed inputs (defaults a caller may override); use
/// ``runtimeInputs`` for the ones a caller must feed.
public struct Graph: Sendable, Equatable {
    public var name: String
    /// Nodes in an order where every producer precedes its consumers.
    public var nodes: [Node]
    public var inputs: [ValueInfo]
    public var outputs: [ValueInfo]
    /// Initializers by name, in file order; sparse ones are stored dense.
    public var constants: OrderedDictionary<String, Tensor>
    /// Type annotations of intermediate values.
    public var valueInfo: [ValueInfo]
    public var docString: String
    public var metadata: [StringPair]

    public init(
        name: String = "", nodes: [Node] = [], inputs: [ValueInfo] = [], outputs: [ValueInfo] = [],
        constants: OrderedDictionary<String, Tensor> = [:], valueInfo: [ValueInfo] = [],
        docString: String = "", metadata: [StringPair] = []
    ) {
        self.name = name
        self.nodes = nodes
        self.inputs = inputs
        self.outputs = outputs
        self.constants = constants
        self.valueInfo = valueInfo
        self.docString = docString
        self.metadata = metadata
    }

    /// Inputs that no initializer backs: what a caller must feed.
    public var runtimeInputs: [ValueInfo] {
        inputs.filter { constants[$0.name] == nil }
    }

    /// Visits this graph's nodes and, depth first, those of every subgraph.
    /// `depth` is 0 for this graph's own nodes.
    public func forEachNode(depth: Int = 0, _ body: (Node, Int) throws -> Void) rethrows {
        for node in nodes {
            try body(node, depth)
            for subgraph in node.subgraphs {
                try subgraph.forEachNode(depth: depth + 1, body)
            }
        }
    }
}

/// An opset import: operators of `domain` follow their definitions as of `version`.
public struct OpsetImport: Sendable, Hashable {
    /// "" (or "ai.onnx") for the default domain.
    public var domain: String
    public var version: Int

    public init(domain: String, version: Int) {
        self.domain = domain
        self.version = version
    }
}

/// A model-local function: nodes call it as `domain.name` like an operator.
public struct Function: Sendable, Equatable {
    public var name: String
    public var domain: String
    public var overload: String
    public var inputs: [String]
    public var outputs: [String]
    /// Attributes the body refers to without defaults.
    public var attributeNames: [String]
    /// Attributes with default values.
    public var attributeDefaults: [Attribute]
    public var nodes: [Node]
    public var opsetImports: [OpsetImport]
    public var valueInfo: [ValueInfo]
    public var docString: String
    public var metadata: [StringPair]

    public init(
        name: String, domain: String, overload: String = "", inputs: [String], outputs: [String],
        attributeNames: [String] = [], attributeDefaults: [Attribute] = [], nodes: [Node],
        opsetImports: [OpsetImport] = [], valueInfo: [ValueInfo] = [], docString: String = "",
        metadata: [StringPair] = []
    ) {
        self.name = name
        self.domain = domain
        self.overload = overload
        self.inputs = inputs
        self.outputs = outputs
        self.attributeNames = attributeNames
        self.attributeDefaults = attributeDefaults
        self.nodes = nodes
        self.opsetImports = opsetImports
        self.valueInfo = valueInfo
        self.docString = docString
        self.metadata = metadata
    }
}

/// A loaded ONNX model: metadata, opset imports, the main graph and
/// model-local functions.
public struct Model: Sendable, Equatable {
    public var irVersion: Int
    public var opsetImports: [OpsetImport]
    public var producerName: String
    public var producerVersion: String
    public var domain: String
    public var modelVersion: Int
    public var docString: String
    public var graph: Graph
    public var functions: [Function]
    public var metadata: [StringPair]

    public init(
        irVersion: Int = 10, opsetImports: [OpsetImport], producerName: String = "onyx",
        producerVersion: String = "", domain: String = "", modelVersion: Int = 0, docString: String = "",
        graph: Graph, functions: [Function] = [], metadata: [StringPair] = []
    ) {
        self.irVersion = irVersion
        self.opsetImports = opsetImports
        self.producerName = producerName
        self.producerVersion = producerVersion
        self.domain = domain
        self.modelVersion = modelVersion
        self.docString = docString
        self.graph = graph
        self.functions = functions
        self.metadata = metadata
    }

    /// The opset version imported for `domain` ("" and "ai.onnx" are the same).
    public func opsetVersion(for domain: String) -> Int? {
        let wanted = domain == "ai.onnx" ? "" : domain
        return opsetImports.first { ($0.domain == "ai.onnx" ? "" : $0.domain) == wanted }?.version
    }
}
