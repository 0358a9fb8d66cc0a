/// The `ai.onyx` operator domain: fused kernels the optimizer creates for
/// Onyx's own plans (a Conv with its activation, a per-channel affine, a
/// recognised LayerNorm pattern, …).
///
/// Every op of the domain has a *lowering*, a rewrite back into standard
/// ONNX ops that computes the same thing, so `onyx optimize` can write a
/// file any runtime runs. ``Optimizer/allowCustomOps`` decides which one a
/// caller gets: `Session` keeps the fused ops (its plan runs them), and
/// `onyx optimize` lowers them unless asked for `--allow-custom-ops`.
public enum OnyxDomain {
    /// The domain name written in nodes and opset imports.
    public static let name = "ai.onyx"
    /// The version of the domain this build writes and runs.
    public static let version = 1
}

/// How one `ai.onyx` op is written back in standard ONNX ops.
///
/// `lower` receives the fused node and returns the standard nodes replacing
/// it, in order. They must write the fused node's outputs under the same
/// names; new intermediate values and constants come from the context, so
/// their names are unique in the graph.
struct CustomOpLowering: Sendable {
    let opType: String
    let lower: @Sendable (Node, inout LoweringContext) throws -> [Node]
}

/// What a lowering may use: the default-domain opset, and fresh names and
/// constants in the graph being rewritten.
struct LoweringContext {
    /// The model's default-domain opset (lowerings pick the op versions it allows).
    let opset: Int
    private(set) var constants: [(name: String, tensor: Tensor)] = []
    private var taken: Set<String>
    /// The constants of the graph being rewritten, read-only.
    private let graphConstants: [String: Tensor]

    init(opset: Int, taken: Set<String>, graphConstants: [String: Tensor] = [:]) {
        self.opset = opset
        self.taken = taken
        self.graphConstants = graphConstants
    }

    /// The value of the graph's constant `name`, when it is one.
    func existingConstant(_ name: String) -> Tensor? { graphConstants[name] }

    /// A value name starting with `base` that no value in the graph (or an
    /// enclosing one) uses yet.
    mutating func fresh(_ base: String) -> String {
        let name = Graph.uniqueName(base, notIn: taken)
        taken.insert(name)
        return name
    }

    /// Adds `tensor` as a constant under a fresh name based on `base`.
    mutating func constant(_ base: String, _ tensor: Tensor) -> String {
        let name = fresh(base)
        constants.append((name, tensor))
        return name
    }
}

/// The lowerings of every `ai.onyx` op, and the step that applies them.
enum CustomOps {
    /// One entry per `ai.onyx` op type (each fused op's file defines its own).
    static let lowerings: [String: CustomOpLowering] = Dictionary(
        uniqueKeysWithValues: registered.map { ($0.opType, $0) })

    /// Every fused op's lowering; add one line per op.
    private static let registered: [CustomOpLowering] = [
        NormLowerings.layerNorm,
        NormLowerings.skipLayerNorm,
        NormLowerings.groupNorm,
        FusedOpLowering.fusedConv,
        FusedOpLowering.fusedGemm,
        FusedOpLowering.fusedMatMul,
        FusedOpLowering.channelAffine,
    ]

    /// True for a node of the `ai.onyx` domain.
    static func isCustom(_ node: Node) -> Bool { node.domain == OnyxDomain.name }

    /// True when `graph` or one of its subgraphs has an `ai.onyx` node.
    static func containsCustomOps(_ graph: Graph) -> Bool {
        var found = false
        graph.forEachNode { node, _ in if isCustom(node) { found = true } }
        return found
    }

    /// Rewrites every `ai.onyx` node of `model` (subgraphs included) in
    /// standard ops, drops the domain's opset import, and returns how many
    /// nodes were lowered. Throws for an `ai.onyx` op this build cannot lower.
    static func lower(_ model: inout Model) throws -> Int {
        let opset = model.opsetVersion(for: "") ?? 1
        var count = 0
        try lower(&model.graph, opset: opset, outerScope: [], count: &count)
        model.opsetImports.removeAll { $0.domain == OnyxDomain.name }
        return count
    }

    /// Adds the `ai.onyx` opset import when `model` uses the domain and does
    /// not import it yet.
    static func importDomainIfUsed(_ model: inout Model) {
        guard containsCustomOps(model.graph), model.opsetVersion(for: OnyxDomain.name) == nil else { return }
        model.opsetImports.append(OpsetImport(domain: OnyxDomain.name, version: OnyxDomain.version))
    }

    private static func lower(_ graph: inout Graph, opset: Int, outerScope: Set<String>, count: inout Int) throws {
        var visible = outerScope.union(graph.allNames())
        for node in graph.nodes { visible.formUnion(node.outputs) }
        var nodes: [Node] = []
        nodes.reserveCapacity(graph.nodes.count)
        for var node in graph.nodes {
            for index in node.attributes.indices {
                switch node.attributes[index].value {
                case .graph(var subgraph):
                    try lower(&subgraph, opset: opset, outerScope: visible, count: &count)
                    node.attributes[index].value = .graph(subgraph)
                case .graphs(var subgraphs):
                    for sub in subgraphs.indices {
                        try lower(&subgraphs[sub], opset: opset, outerScope: visible, count: &count)
                    }
                    node.attributes[index].value = .graphs(subgraphs)
                default: break
                }
            }
            guard isCustom(node) else {
                nodes.append(node)
                continue
            }
            guard let lowering = lowerings[node.opType] else {
                throw OnyxError.invalidModel(
                    "node \"\(node.name)\" (\(OnyxDomain.name)::\(node.opType)) has no standard-op form in this build; "
                        + "write it with --allow-custom-ops")
            }
            var context = LoweringContext(
                opset: opset, taken: visible,
                graphConstants: Dictionary(graph.constants.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first }))
            let replacement = try lowering.lower(node, &context)
            for (name, tensor) in context.constants { graph.constants[name] = tensor }
            for added in replacement {
                visible.formUnion(added.outputs)
            }
            visible.formUnion(context.constants.map(\.name))
            nodes.append(contentsOf: replacement)
            count += 1
        }
        graph.nodes = nodes
    }
}
