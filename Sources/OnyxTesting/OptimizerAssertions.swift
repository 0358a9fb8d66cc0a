import Onyx

/// Building blocks of optimizer tests that assert nothing themselves:
/// running passes, counting ops, random feeds and output comparison.
/// ``assertFolds(_:pass:enable:before:after:tolerance:seed:file:line:)`` and
/// ``assertDoesNotFold(_:pass:reason:seed:file:line:)`` combine them.
public enum OptimizerAssertions {
    /// The result of optimizing a model and comparing it with the original.
    public struct Outcome: Sendable {
        public var original: Model
        public var optimized: Model
        public var report: OptimizationReport
        /// Op counts (graph and subgraphs) before and after.
        public var countsBefore: [String: Int]
        public var countsAfter: [String: Int]
        /// When the optimized model has fused `ai.onyx` nodes: the same
        /// optimization with them written back in standard ops
        /// (`Optimizer.allowCustomOps` false), which is checked too.
        public var lowered: Model?
        /// The largest error over all float outputs, relative as described
        /// in ``compare(_:_:)``.
        public var maxError: Double
    }

    /// Runs the pass called `pass` alone, or the whole standard pipeline
    /// when `pass` is nil, with the off-by-default passes in `enable` on.
    /// With `allowCustomOps` false, fused `ai.onyx` nodes are written back
    /// in standard ops, as `onyx optimize` does.
    public static func optimize(
        _ model: Model, pass: String? = nil, enable: Set<String> = [], allowCustomOps: Bool = true
    ) throws -> (model: Model, report: OptimizationReport) {
        var optimizer = try pass.map { try Optimizer.only($0) } ?? Optimizer(enabledPasses: enable)
        optimizer.allowCustomOps = allowCustomOps
        return try optimizer.optimize(model)
    }

    /// True when `graph` or a subgraph has a node of the `ai.onyx` domain.
    public static func hasCustomOps(_ graph: Graph) -> Bool {
        var found = false
        graph.forEachNode { node, _ in if node.domain == OnyxDomain.name { found = true } }
        return found
    }

    /// How many nodes of each op type the graph and its subgraphs hold.
    public static func opCounts(_ graph: Graph) -> [String: Int] {
        var counts: [String: Int] = [:]
        graph.forEachNode { node, _ in counts[node.opType, default: 0] += 1 }
        return counts
    }

    /// Seeded random feeds for the model's runtime inputs. Float inputs are
    /// uniform in [-1, 1], integers in [0, 4), bools fair coin flips.
    /// Symbolic or unknown dims are taken as `unknownDim`.
    public static func randomFeeds(for model: Model, seed: UInt64 = 0, unknownDim: Int = 1) throws -> [String: Tensor] {
        var generator = SeededGenerator(seed: seed)
        var feeds: [String: Tensor] = [:]
        for input in model.graph.runtimeInputs {
            guard case .tensor(let type?, let dims)? = input.type else {
                throw OnyxError.invalidModel("input \"\(input.name)\" has no tensor type to draw values for")
            }
            let shape = (dims ?? []).map { $0.value ?? unknownDim }
            let count = try Tensor.checkedCount(shape)
            if type == .bool {
                feeds[input.name] = try Tensor(shape: shape, scalars: (0..<count).map { _ in Bool.random(using: &generator) })
            } else if type.isFloatingPoint {
                let values = (0..<count).map { _ in Double.random(in: -1...1, using: &generator) }
                feeds[input.name] = try Tensor.fromDoubles(values, shape: shape, as: type)
            } else {
                let values = (0..<count).map { _ in Int64.random(in: 0..<4, using: &generator) }
                feeds[input.name] = try Tensor.fromInt64s(values, shape: shape, as: type)
            }
        }
        return feeds
    }

    /// Runs `model` unoptimized on `feeds`.
    public static func run(_ model: Model, feeds: [String: Tensor]) throws -> [String: Tensor] {
        var options = SessionOptions()
        options.optimize = false
        return try Session(model: model, options: options).run(feeds)
    }

    /// The largest error of `actual` against `expected`, or a description of
    /// a structural difference (names, shapes, element types, integer values).
    ///
    /// For floats the error of one element is `|a − e| / max(|e|, m)`, where
    /// `m` is a tenth of the largest magnitude in that expected output: plain
    /// relative error for the large elements, and relative to the output's
    /// scale for the small ones, whose value comes from larger terms
    /// cancelling out (a dot product's rounding error scales with its terms,
    /// not its result). NaN must match NaN.
    public static func compare(_ actual: [String: Tensor], _ expected: [String: Tensor]) throws -> Double {
        guard Set(actual.keys) == Set(expected.keys) else {
            throw OnyxError.invalidModel("outputs differ: \(actual.keys.sorted()) vs \(expected.keys.sorted())")
        }
        var worst = 0.0
        for (name, reference) in expected {
            guard let tensor = actual[name] else { continue }
            guard tensor.shape == reference.shape, tensor.elementType == reference.elementType else {
                throw OnyxError.invalidModel(
                    "output \"\(name)\": \(tensor.elementType) \(tensor.shape) vs \(reference.elementType) \(reference.shape)")
            }
            if reference.elementType.isFloatingPoint {
                let a = try tensor.doubleValues()
                let e = try reference.doubleValues()
                let floor = 0.1 * (e.map { $0.isFinite ? abs($0) : 0 }.max() ?? 0)
                for i in e.indices {
                    if e[i].isNaN && a[i].isNaN { continue }
                    if e[i] == a[i] { continue }
                    let denominator = max(abs(e[i]), floor, Double.leastNormalMagnitude)
                    worst = max(worst, a[i].isNaN || e[i].isNaN ? .infinity : abs(a[i] - e[i]) / denominator)
                }
            } else if tensor != reference {
                throw OnyxError.invalidModel("output \"\(name)\" differs")
            }
        }
        return worst
    }

    /// Optimizes `model` (one pass or the pipeline), checks that output
    /// and input names survive (inputs an initializer backs excepted, for
    /// IR < 4 models), runs both models on the same seeded random
    /// feeds and compares their outputs. When the optimized model has fused
    /// `ai.onyx` nodes, the standard-op form is compared as well and the
    /// error is the larger of the two.
    public static func check(_ model: Model, pass: String? = nil, enable: Set<String> = [], seed: UInt64 = 0) throws -> Outcome {
        let (optimized, report) = try optimize(model, pass: pass, enable: enable)
        guard optimized.graph.outputs.map(\.name) == model.graph.outputs.map(\.name) else {
            throw OnyxError.invalidModel(
                "output names changed: \(model.graph.outputs.map(\.name)) → \(optimized.graph.outputs.map(\.name))")
        }
        guard optimized.graph.runtimeInputs.map(\.name) == model.graph.runtimeInputs.map(\.name) else {
            throw OnyxError.invalidModel("input names changed")
        }
        let feeds = try randomFeeds(for: model, seed: seed)
        let expected = try run(model, feeds: feeds)
        var error = try compare(run(optimized, feeds: feeds), expected)
        var lowered: Model?
        if hasCustomOps(optimized.graph) {
            let standard = try optimize(model, pass: pass, enable: enable, allowCustomOps: false).model
            if hasCustomOps(standard.graph) {
                throw OnyxError.invalidModel("ai.onyx nodes left after writing back in standard ops")
            }
            error = max(error, try compare(run(standard, feeds: feeds), expected))
            lowered = standard
        }
        return Outcome(
            original: model, optimized: optimized, report: report, countsBefore: opCounts(model.graph),
            countsAfter: opCounts(optimized.graph), lowered: lowered, maxError: error)
    }
}
