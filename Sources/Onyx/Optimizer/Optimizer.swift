/// Runs graph passes over a model until nothing changes.
///
/// Each graph is optimized bottom-up: the subgraphs of its nodes (If, Loop
/// and Scan bodies) first, then the graph itself. On one graph the passes run
/// in pipeline order, each until it finds nothing more to rewrite; the round
/// repeats while any pass changed something (at most `maxRounds` times).
/// After every rewrite the graph is validated (`GraphValidation.validate`:
/// single definitions, everything defined, no cycle, topological order) and
/// its output and input names are checked against the originals; a failure
/// is a bug in the pass and is thrown naming it and the rewrite number, so
/// `stopAfter` can bisect it. Model-local function bodies are not touched.
public struct Optimizer: Sendable {
    /// The passes, in the order they run.
    public var passes: [any GraphPass]
    /// Names of passes to skip.
    public var disabledPasses: Set<String>
    /// Names of passes that are off by default (``GraphPass/enabledByDefault``) to run.
    public var enabledPasses: Set<String>
    /// Stop after this many rewrites in all (nil: run to a fixed point).
    public var stopAfter: Int?
    /// Most rounds over one graph before giving up on a fixed point.
    public var maxRounds = 32
    /// Keep the fused `ai.onyx` ops the passes create (true: what `Session`
    /// runs), or write them back in standard ONNX ops after the passes
    /// (false: a file any runtime can run; see ``OnyxDomain``).
    public var allowCustomOps = true

    public init(
        passes: [any GraphPass] = PassPipeline.standard, disabledPasses: Set<String> = [],
        enabledPasses: Set<String> = [], stopAfter: Int? = nil, allowCustomOps: Bool = true
    ) {
        self.allowCustomOps = allowCustomOps
        self.passes = passes
        self.disabledPasses = disabledPasses
        self.enabledPasses = enabledPasses
        self.stopAfter = stopAfter
    }

    /// An optimizer running only the pass called `name` from the standard pipeline.
    public static func only(_ name: String) throws -> Optimizer {
        guard let pass = PassPipeline.standard.first(where: { $0.name == name }) else {
            throw OnyxError.invalidModel("unknown optimizer pass \"\(name)\" (passes: \(PassPipeline.names.joined(separator: ", ")))")
        }
        return Optimizer(passes: [pass], enabledPasses: [name])
    }

    /// True when `pass` runs: enabled by default or asked for, and not disabled.
    public func runs(_ pass: any GraphPass) -> Bool {
        (pass.enabledByDefault || enabledPasses.contains(pass.name)) && !disabledPasses.contains(pass.name)
    }

    /// The optimized model and what was done to it.
    public func optimize(_ model: Model) throws -> (model: Model, report: OptimizationReport) {
        let known = Set(passes.map(\.name))
        for name in disabledPasses.union(enabledPasses).sorted() where !known.contains(name) {
            throw OnyxError.invalidModel(
                "unknown optimizer pass \"\(name)\" (passes: \(passes.map(\.name).joined(separator: ", ")))")
        }
        var opsets: [String: Int] = [:]
        for opset in model.opsetImports { opsets[opset.domain == "ai.onnx" ? "" : opset.domain] = opset.version }
        var run = Run(
            optimizer: self, opsets: opsets, legacyInitializers: model.irVersion < 4,
            report: OptimizationReport(passes: passes.map {
                .init(pass: $0.name, enabled: runs($0))
            }))
        run.report.nodesBefore = Self.nodeCount(model.graph)
        var result = model
        try run.optimize(&result.graph, outerScope: [], depth: 0, path: "")
        if allowCustomOps {
            CustomOps.importDomainIfUsed(&result)
        } else {
            run.report.loweredCustomOps = try CustomOps.lower(&result)
            if run.report.loweredCustomOps > 0 {
                do {
                    try GraphValidation.validate(&result.graph, outerScope: [], depth: 0, maxDepth: Run.maxDepth)
                } catch let error as OnyxError {
                    var wrapped = error
                    wrapped.message = "writing fused ai.onyx nodes back in standard ops left an inconsistent graph: \(error.message)"
                    throw wrapped
                }
            }
        }
        if model.irVersion < 4 { Self.listInitializersAsInputs(&result.graph) }
        run.report.nodesAfter = Self.nodeCount(result.graph)
        return (result, run.report)
    }

    /// IR < 4 requires every initializer to be a graph input too; adds the
    /// entries for initializers the passes created.
    static func listInitializersAsInputs(_ graph: inout Graph) {
        let listed = Set(graph.inputs.map(\.name))
        for (name, tensor) in graph.constants where !listed.contains(name) {
            graph.inputs.append(ValueInfo(
                name: name, type: .tensor(elementType: tensor.elementType, shape: tensor.shape.map { .known($0) })))
        }
    }

    static func nodeCount(_ graph: Graph) -> Int {
        var count = 0
        graph.forEachNode { _, _ in count += 1 }
        return count
    }

    /// Mutable state of one `optimize` call.
    private struct Run {
        let optimizer: Optimizer
        let opsets: [String: Int]
        let legacyInitializers: Bool
        var report: OptimizationReport
        /// Standing declines per pass index, by graph path, then candidate.
        var declines: [[String: [String: Decline]]] = []
        static let maxDepth = 64

        init(optimizer: Optimizer, opsets: [String: Int], legacyInitializers: Bool, report: OptimizationReport) {
            self.optimizer = optimizer
            self.opsets = opsets
            self.legacyInitializers = legacyInitializers
            self.report = report
            declines = Array(repeating: [:], count: optimizer.passes.count)
        }

        var budgetLeft: Bool {
            guard let limit = optimizer.stopAfter else { return true }
            return report.rewrites < limit
        }

        mutating func optimize(_ graph: inout Graph, outerScope: Set<String>, depth: Int, path: String) throws {
            guard depth <= Self.maxDepth else { return }
            var visible = outerScope.union(graph.inputs.map(\.name)).union(graph.constants.keys)
            for node in graph.nodes { visible.formUnion(node.outputs.filter { !$0.isEmpty }) }
            for nodeIndex in graph.nodes.indices where !graph.nodes[nodeIndex].subgraphs.isEmpty {
                var node = graph.nodes[nodeIndex]
                for attributeIndex in node.attributes.indices {
                    let prefix = "\(path)\(node.name)/\(node.attributes[attributeIndex].name)"
                    switch node.attributes[attributeIndex].value {
                    case .graph(var subgraph):
                        try optimize(&subgraph, outerScope: visible, depth: depth + 1, path: prefix + "/")
                        node.attributes[attributeIndex].value = .graph(subgraph)
                    case .graphs(var subgraphs):
                        for index in subgraphs.indices {
                            try optimize(&subgraphs[index], outerScope: visible, depth: depth + 1, path: "\(prefix)[\(index)]/")
                        }
                        node.attributes[attributeIndex].value = .graphs(subgraphs)
                    default: break
                    }
                }
                graph.nodes[nodeIndex] = node
            }
            try runPasses(on: &graph, outerScope: outerScope, depth: depth, path: path)
            Self.pruneValueInfo(&graph)
        }

        private mutating func runPasses(on graph: inout Graph, outerScope: Set<String>, depth: Int, path: String) throws {
            let outputNames = graph.outputs.map(\.name)
            let inputNames = callerInputs(graph)
            for _ in 0..<optimizer.maxRounds {
                var changed = false
                for (passIndex, pass) in optimizer.passes.enumerated() where optimizer.runs(pass) {
                    while budgetLeft {
                        let earlier = (declines[passIndex][path] ?? [:]).mapValues(\.reason)
                        var context = PassContext(
                            opsets: opsets, outerScope: outerScope, isSubgraph: depth > 0,
                            initializersAreConstant: legacyInitializers, earlier: earlier)
                        let before = graph
                        let rewrite = try pass.rewrite(&graph, &context)
                        for decline in context.declines {
                            declines[passIndex][path, default: [:]][decline.candidate] = decline
                        }
                        guard let rewrite else {
                            graph = before
                            break
                        }
                        report.rewrites += 1
                        report.passes[passIndex].record(rewrite)
                        declines[passIndex][path]?[rewrite.candidate] = nil
                        let detail = rewrite.detail.isEmpty ? "" : " (\(rewrite.detail))"
                        report.log.append("#\(report.rewrites) \(pass.name): \(rewrite.summary)\(detail)")
                        try check(&graph, pass: pass.name, outputNames: outputNames, inputNames: inputNames,
                                  outerScope: outerScope, depth: depth)
                        changed = true
                    }
                    if !budgetLeft {
                        report.stoppedEarly = true
                        break
                    }
                }
                if !changed || !budgetLeft { break }
            }
            for index in optimizer.passes.indices {
                report.passes[index].declines = declines[index].sorted { $0.key < $1.key }
                    .flatMap { $0.value.values.sorted { $0.candidate < $1.candidate } }
            }
        }

        private func check(
            _ graph: inout Graph, pass: String, outputNames: [String], inputNames: [String],
            outerScope: Set<String>, depth: Int
        ) throws {
            let site = "optimizer pass \(pass), rewrite #\(report.rewrites)"
            guard graph.outputs.map(\.name) == outputNames else {
                throw OnyxError.invalidModel("\(site) changed the graph's output names (a bug in the pass; disable it with --disable-pass \(pass))")
            }
            guard callerInputs(graph) == inputNames else {
                throw OnyxError.invalidModel("\(site) changed the graph's input names (a bug in the pass; disable it with --disable-pass \(pass))")
            }
            do {
                try GraphValidation.validate(&graph, outerScope: outerScope, depth: depth, maxDepth: Self.maxDepth)
            } catch let error as OnyxError {
                var wrapped = error
                wrapped.message = "\(site) left an inconsistent graph (a bug in the pass; disable it with --disable-pass \(pass)): \(error.message)"
                throw wrapped
            }
        }

        /// The names of the inputs a caller may feed: all graph inputs, less
        /// the initializer-backed ones in IR < 4 models (see ``PassContext``).
        private func callerInputs(_ graph: Graph) -> [String] {
            graph.inputs.map(\.name).filter { !legacyInitializers || graph.constants[$0] == nil }
        }

        /// Drops value annotations of values that no longer exist.
        static func pruneValueInfo(_ graph: inout Graph) {
            guard !graph.valueInfo.isEmpty else { return }
            var defined = Set(graph.inputs.map(\.name)).union(graph.constants.keys)
            for node in graph.nodes { defined.formUnion(node.outputs) }
            graph.valueInfo.removeAll { !defined.contains($0.name) }
        }
    }
}
