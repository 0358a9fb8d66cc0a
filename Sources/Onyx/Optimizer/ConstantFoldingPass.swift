/// `constant-folding`: evaluates nodes whose inputs are all constants and
/// stores their outputs as initializers.
///
/// The node runs alone in a one-node ``Session`` (unoptimized) with the
/// model's opsets, so folding computes exactly what running would. A
/// `Constant` node (no inputs) becomes an initializer this way.
///
/// Guards:
/// - default-domain node without subgraphs, not random (`RandomNormal`,
///   `RandomUniform`, their `Like` forms, `Bernoulli`, `Multinomial`) and
///   not `Dropout` (`eliminate-identity` handles that);
/// - every input is a constant initializer (not overridable by a graph
///   input); no output is a graph output (a graph output must stay a node's
///   output) and at least one output is read;
/// - every output evaluates to a tensor;
/// - size budget: the outputs' bytes may not exceed the bytes freed (input
///   initializers only this node reads, and a Constant's attribute) plus
///   ``slackBytes``, so folding never grows the model by more than that
///   per node (shape arithmetic on shared constants stays foldable). The
///   one-node session runs with that budget as its per-tensor memory
///   limit, so an oversized result fails early instead of being built.
///
/// A node declined once is not evaluated again in later scans.
public struct ConstantFoldingPass: GraphPass {
    public let name = "constant-folding"
    /// Bytes an output may add beyond what the fold frees.
    public var slackBytes: Int

    public init(slackBytes: Int = 256) {
        self.slackBytes = slackBytes
    }

    static let nondeterministic: Set<String> = [
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial", "Dropout",
    ]

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        for (nodeIndex, node) in graph.nodes.enumerated() where node.normalizedDomain == "" {
            let present = node.inputs.filter { !$0.isEmpty }
            guard present.allSatisfy({ index.constant($0) != nil }), node.subgraphs.isEmpty,
                  !node.outputs.allSatisfy({ $0.isEmpty || index.isUnused($0) })
            else { continue }
            do {
                try require(!Self.nondeterministic.contains(node.opType), "\(node.opType) is not deterministic")
                if let output = node.outputs.first(where: { index.outputNames.contains($0) }) {
                    throw GuardFailure("output \"\(output)\" is a graph output")
                }
                if let earlier = context.earlierDecline(of: node) { throw GuardFailure(earlier) }
                var freed = 0
                for name in Set(present) where index.isPrivateConstant(name, of: nodeIndex) {
                    freed += index.constant(name)?.byteCount ?? 0
                }
                for attribute in node.attributes {
                    if case .tensor(let tensor)? = attribute.value { freed += tensor.byteCount }
                }
                let results = try evaluate(node, index: index, context: context, limit: freed + slackBytes)
                let added = results.reduce(0) { $0 + $1.1.byteCount }
                try require(added <= freed + slackBytes,
                            "outputs take \(added) bytes, more than the \(freed) bytes freed (+\(slackBytes) slack)")
                for (name, tensor) in results { graph.constants[name] = tensor }
                graph.nodes.remove(at: nodeIndex)
                return Rewrite(
                    "nodes folded to constants", candidate: node.outputs.first ?? node.name,
                    detail: "\(node.opType) \"\(node.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// Runs `node` alone on its constant inputs; returns its named outputs.
    /// Allocations above `limit` bytes per tensor fail (and so decline).
    private func evaluate(_ node: Node, index: GraphIndex, context: PassContext, limit: Int) throws -> [(String, Tensor)] {
        let present = Array(Set(node.inputs.filter { !$0.isEmpty })).sorted()
        var constants = OrderedDictionary<String, Tensor>()
        for name in present { constants[name] = index.constant(name) }
        let outputs = node.outputs.filter { !$0.isEmpty }
        let single = Graph(
            name: "fold", nodes: [node], inputs: [],
            outputs: outputs.map { ValueInfo(name: $0, type: nil) }, constants: constants)
        let imports = context.opsets.map { OpsetImport(domain: $0.key, version: $0.value) }
        var options = SessionOptions()
        options.optimize = false
        options.memoryLimitBytes = max(limit, 1)
        let values: [Value]
        do {
            values = try Session(model: Model(opsetImports: imports, graph: single), options: options).runValues([:])
        } catch let error as OnyxError where error.kind == .resourceLimit {
            // The run's memory budget is the bytes freed plus slack.
            throw GuardFailure("outputs would take more than the \(limit) bytes freed (with slack)")
        } catch {
            throw GuardFailure("evaluating it failed: \(error)")
        }
        var results: [(String, Tensor)] = []
        for (name, value) in zip(outputs, values) {
            guard case .tensor(let tensor) = value else { throw GuardFailure("output \"\(name)\" is not a tensor") }
            results.append((name, tensor))
        }
        return results
    }
}

import OrderedCollections
