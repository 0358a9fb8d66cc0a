/// One graph optimization: a named rule that finds a candidate in a graph and
/// rewrites it, one rewrite per call.
///
/// The ``Optimizer`` calls ``rewrite(_:_:)`` again and again until it returns
/// nil, checking the graph's consistency after each rewrite. A pass must:
///
/// - apply at most one rewrite per call, and return nil once no candidate is
///   left (so the driver can count, validate and stop after any rewrite);
/// - report every candidate a guard refuses through
///   ``PassContext/decline(_:_:)`` with the reason, and skip it;
/// - keep the names of the graph's outputs and inputs, and never change what
///   the graph computes beyond floating-point rounding;
/// - treat nodes of other domains, and values that subgraphs read from the
///   enclosing scope, as opaque.
public protocol GraphPass: Sendable {
    /// The pass's name in reports and for `disabledPasses` (kebab-case).
    var name: String { get }
    /// False for passes that run only when asked for by name
    /// (`enabledPasses`, `--enable-pass`).
    var enabledByDefault: Bool { get }
    /// Applies one rewrite to `graph` and describes it, or returns nil when
    /// no candidate is left.
    func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite?
}

extension GraphPass {
    public var enabledByDefault: Bool { true }
}

/// What one rewrite did, for the report.
public struct Rewrite: Sendable, Equatable {
    /// The kind of change, counted in the report, e.g.
    /// "BatchNormalization folded into Conv".
    public var summary: String
    /// The candidate the rewrite resolved (the value name the pass declines
    /// by); clears an earlier decline of the same candidate.
    public var candidate: String
    /// How many things the rewrite changed (e.g. initializers removed at once).
    public var count: Int
    /// Which nodes or values it touched, for the rewrite log.
    public var detail: String

    public init(_ summary: String, candidate: String, count: Int = 1, detail: String = "") {
        self.summary = summary
        self.candidate = candidate
        self.count = count
        self.detail = detail
    }
}

/// A candidate a pass's guard refused, and why.
public struct Decline: Sendable, Equatable, Encodable {
    /// The candidate (a value name, usually the output of the node declined).
    public var candidate: String
    /// The node's op type, when the candidate is a node.
    public var opType: String
    public var reason: String

    public init(candidate: String, opType: String, reason: String) {
        self.candidate = candidate
        self.opType = opType
        self.reason = reason
    }
}

/// What a pass knows besides the graph: opsets, the enclosing scope, and
/// where it reports declined candidates.
public struct PassContext: Sendable {
    /// Opset versions by domain ("" for the default domain).
    public let opsets: [String: Int]
    /// Names visible from enclosing graphs (empty for the main graph).
    public let outerScope: Set<String>
    /// True when the graph is a subgraph (an If/Loop/Scan body).
    public let isSubgraph: Bool
    /// True for models of IR version < 4, which list every initializer as a
    /// graph input: initializers are constants even so (as in onnxruntime),
    /// and an unused one may go with its input entry.
    public let initializersAreConstant: Bool
    /// Candidates declined by the current call, in order.
    public private(set) var declines: [Decline] = []
    /// Reasons this pass gave in earlier calls on this graph, by candidate.
    let earlier: [String: String]

    public init(
        opsets: [String: Int], outerScope: Set<String> = [], isSubgraph: Bool = false, initializersAreConstant: Bool = false
    ) {
        self.init(
            opsets: opsets, outerScope: outerScope, isSubgraph: isSubgraph,
            initializersAreConstant: initializersAreConstant, earlier: [:])
    }

    init(
        opsets: [String: Int], outerScope: Set<String>, isSubgraph: Bool, initializersAreConstant: Bool,
        earlier: [String: String]
    ) {
        self.opsets = opsets
        self.outerScope = outerScope
        self.isSubgraph = isSubgraph
        self.initializersAreConstant = initializersAreConstant
        self.earlier = earlier
    }

    /// The reason this pass declined `node` in an earlier call on this
    /// graph, so that costly guards need not run again.
    public func earlierDecline(of node: Node) -> String? {
        earlier[node.outputs.first ?? node.name]
    }

    /// The opset imported for `domain` ("" and "ai.onnx" are the same); 1 when not imported.
    public func opset(_ domain: String = "") -> Int {
        opsets[domain == "ai.onnx" ? "" : domain] ?? 1
    }

    /// Records that a guard refused `candidate` (a node, named by its first
    /// output) and why.
    public mutating func decline(_ node: Node, _ reason: String) {
        declines.append(Decline(candidate: node.outputs.first ?? node.name, opType: node.opType, reason: reason))
    }

    mutating func clearDeclines() { declines.removeAll() }
}

/// A guard's refusal inside a pass: thrown by matching helpers and turned
/// into a ``Decline`` by the pass.
struct GuardFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// Guard helper: throws ``GuardFailure`` with `reason` unless `condition` holds.
func require(_ condition: Bool, _ reason: @autoclosure () -> String) throws {
    if !condition { throw GuardFailure(reason()) }
}

extension Node {
    /// The INT attribute `name`, or `fallback` when absent or not an INT.
    func intAttribute(_ name: String, default fallback: Int64) -> Int64 {
        if case .int(let value)? = attribute(name)?.value { return value }
        return fallback
    }

    /// The FLOAT attribute `name`, or `fallback` when absent or not a FLOAT.
    func floatAttribute(_ name: String, default fallback: Float) -> Float {
        switch attribute(name)?.value {
        case .float(let value)?: return value
        case .int(let value)?: return Float(value)
        default: return fallback
        }
    }

    /// Sets (or adds) attribute `name`.
    mutating func setAttribute(_ name: String, _ value: AttributeValue) {
        if let index = attributes.firstIndex(where: { $0.name == name }) {
            attributes[index].value = value
            attributes[index].reference = nil
        } else {
            attributes.append(Attribute(name: name, value: value))
        }
    }

    /// True for a node of the default ONNX domain with op type `opType`.
    func isOp(_ opType: String) -> Bool { self.opType == opType && normalizedDomain == "" }
}
