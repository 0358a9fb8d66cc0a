import Foundation

/// Settings of a ``Session``.
public struct SessionOptions: Sendable {
    /// Threads one run uses; nil means one per active core. The float32
    /// kernels split their work over them, and nodes that do not depend on
    /// one another may run at the same time (see ``interOpParallelism``).
    public var threads: Int?
    /// Lets nodes that do not depend on one another (the branches of an
    /// Inception block, a residual block's shortcut) run at the same time on
    /// the run's threads; a thread with no node to run helps split the
    /// others' kernels. Results are bitwise the same either way. False runs
    /// the nodes one after another in plan order.
    public var interOpParallelism: Bool = true
    /// Run the graph optimizer before planning.
    public var optimize: Bool = true
    /// Optimizer passes to skip, by name.
    public var disabledPasses: Set<String> = []
    /// Optimizer passes that are off by default to run, by name.
    public var enabledPasses: Set<String> = []
    /// Most bytes of tensors one run may hold at once (intermediate values
    /// and outputs it allocates; not the model's weights or the feeds); nil
    /// means half of physical memory. Every allocation is checked before
    /// memory is touched; going over fails the run with
    /// `OnyxError.Kind.resourceLimit`. A process-wide cap of half of
    /// physical memory applies on top, across concurrent runs.
    public var memoryLimitBytes: Int?
    /// Most iterations a Loop may run, and most body runs of a Scan
    /// (default 2^20); more is a `resourceLimit` error, so that a model
    /// asking for an absurd trip count fails instead of hanging.
    public var maxLoopIterations: Int = 1 << 20
    /// Cuts each run's large tensors (64 KiB and up) from one block, sized
    /// from the most tensor memory an earlier run held and recycled from run
    /// to run; outputs are copied out of it. False takes every buffer from
    /// the shared block cache instead. Results are the same either way.
    public var runArena: Bool = true

    public init() {}
}

/// A model prepared for running.
///
/// Building a session compiles the graph: a kernel per node, attributes
/// checked, unsupported operators reported with the node named. Inputs
/// are checked against the model's declared types and fixed dimensions
/// before any kernel runs. A session is immutable and `Sendable`: `run`
/// may be called from many threads or tasks at once, with no lock around
/// the run (each run has its own value slots), and gives the same outputs
/// as sequential runs.
public final class Session: Sendable {
    /// The model as it runs: optimized unless `options.optimize` is false.
    public let model: Model
    /// What the optimizer did, when it ran.
    public let optimizationReport: OptimizationReport?
    /// The options the session was built with.
    public let options: SessionOptions
    /// Inputs a caller must feed (graph inputs without an initializer).
    public let inputs: [ValueInfo]
    /// The graph outputs.
    public let outputs: [ValueInfo]
    private let plan: GraphPlan
    private let memory = SessionMemory()

    /// The most tensor bytes one run of this session has held at once, over
    /// the runs so far (0 before the first): intermediate values and
    /// outputs the run allocated, as ``SessionOptions/memoryLimitBytes``
    /// counts them; not the weights, the feeds or kernels' scratch memory.
    /// Buffers an elementwise node writes over count once.
    public var peakTensorBytes: Int { memory.peakBytes }

    /// Tensors that found no room in their run's arena (and came from the
    /// block cache instead), summed over the runs so far.
    var arenaFallbacks: Int { memory.arenaFallbacks }

    /// Loads the model at `url` and prepares it.
    public convenience init(contentsOf url: URL, options: SessionOptions = .init()) throws {
        do {
            try self.init(model: Model(contentsOf: url), options: options)
        } catch let error as OnyxError {
            throw error.inFile(url.path)
        }
    }

    /// Prepares `model`, running the optimizer (``PassPipeline``) first
    /// unless `options.optimize` is false.
    public init(model original: Model, options: SessionOptions = .init()) throws {
        var model = original
        if options.optimize {
            let optimizer = Optimizer(disabledPasses: options.disabledPasses, enabledPasses: options.enabledPasses)
            (model, optimizationReport) = try optimizer.optimize(original)
        } else {
            optimizationReport = nil
        }
        self.model = model
        self.options = options
        self.inputs = model.graph.runtimeInputs
        self.outputs = model.graph.outputs
        var opsets: [String: Int] = [:]
        for opset in model.opsetImports { opsets[opset.domain == "ai.onnx" ? "" : opset.domain] = opset.version }
        let environment = GraphPlan.Environment(opsets: opsets, functions: model.functions, registry: .standard)
        self.plan = try GraphPlan(graph: model.graph, environment: environment)
    }

    /// Runs the model on `feeds` (input name → tensor) and returns every output by name.
    public func run(_ feeds: [String: Tensor]) throws -> [String: Tensor] {
        let values = try runValues(feeds.mapValues { .tensor($0) })
        var result: [String: Tensor] = [:]
        for (index, output) in outputs.enumerated() {
            result[output.name] = try values[index].asTensor()
        }
        return result
    }

    /// Runs the model and returns only the outputs named in `outputNames`.
    public func run(_ feeds: [String: Tensor], outputs outputNames: [String]) throws -> [String: Tensor] {
        let known = Set(outputs.map(\.name))
        for name in outputNames where !known.contains(name) {
            throw OnyxError(.invalidModel, "the model has no output \"\(name)\"", value: name)
        }
        return try run(feeds).filter { outputNames.contains($0.key) }
    }

    /// Runs the model on a background task, so that an actor or the main
    /// thread is not blocked while the kernels work.
    public func run(_ feeds: [String: Tensor]) async throws -> [String: Tensor] {
        try await Task.detached { try self.run(feeds) }.value
    }

    /// Runs the model on a background task and returns only the outputs named in `outputNames`.
    public func run(_ feeds: [String: Tensor], outputs outputNames: [String]) async throws -> [String: Tensor] {
        try await Task.detached { try self.run(feeds, outputs: outputNames) }.value
    }

    /// Runs with inputs and outputs that may be sequences or optionals; outputs in graph order.
    /// A `profiler` times every node.
    public func runValues(_ feeds: [String: Value], profiler: Profiler? = nil) throws -> [Value] {
        try validate(feeds)
        var runOptions = RunOptions()
        runOptions.profiler = profiler
        runOptions.maxLoopIterations = options.maxLoopIterations
        runOptions.threads = options.threads
        runOptions.interOp = options.interOpParallelism
        if let limit = options.memoryLimitBytes { runOptions.memoryLimitBytes = limit }
        let context = RunContext(lookup: { _ in nil }, options: runOptions)
        // The first run sizes the arena for the next ones. The blocks earlier
        // runs freed are not needed any more once a larger arena exists.
        var arena: RunArena?
        if options.runArena {
            let (bytes, grew) = memory.nextArena()
            if grew { MappedBlockCache.shared.trim() }
            arena = bytes > 0 ? RunArena(capacity: bytes) : nil
        }
        let budget = MemoryBudget(limit: runOptions.memoryLimitBytes, arena: arena)
        defer { memory.record(peak: budget.peakBytes, fallbacks: arena?.fallbackCount ?? 0) }
        let values = try MemoryBudget.$current.withValue(budget) { try plan.run(feeds: feeds, context: context) }
        return arena == nil ? values : values.map(Self.outOfArena)
    }

    /// `value` with every tensor that lies in a run arena copied out, so a
    /// caller holding outputs does not hold the arena's block.
    private static func outOfArena(_ value: Value) -> Value {
        func copy(_ tensor: Tensor) -> Tensor {
            guard let buffer = tensor.buffer, buffer.isArenaRegion,
                let copied = try? Tensor(elementType: tensor.elementType, shape: tensor.shape, buffer: .copying(buffer.bytes))
            else { return tensor }
            return copied
        }
        switch value {
        case .tensor(let tensor): return .tensor(copy(tensor))
        case .sequence(let tensors, let elementType): return .sequence(tensors.map(copy), elementType: elementType)
        case .none: return .none
        }
    }

    /// Refuses missing, unexpected and mistyped inputs, and shapes that
    /// contradict the model's fixed or shared symbolic dimensions.
    private func validate(_ feeds: [String: Value]) throws {
        let declared = Dictionary(model.graph.inputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in feeds.keys where declared[name] == nil {
            throw OnyxError(.unexpectedInput, "the model has no input \"\(name)\" (inputs: \(inputs.map(\.name).joined(separator: ", ")))", value: name)
        }
        var symbols: [String: (Int, String)] = [:]
        for input in inputs {
            guard let value = feeds[input.name] else {
                throw OnyxError(.missingInput, "input \"\(input.name)\" was not fed", value: input.name)
            }
            switch (value, input.type) {
            case (.sequence, .tensor?), (.none, .tensor?), (.tensor, .sequence?), (.none, .sequence?):
                throw OnyxError(
                    .wrongElementType, "input \"\(input.name)\" must be a \(input.type.map(String.init(describing:)) ?? "value")",
                    value: input.name)
            default: break
            }
            guard case .tensor(let tensor) = value, case .tensor(let elementType, let shape)? = input.type else { continue }
            if let elementType, elementType != tensor.elementType {
                throw OnyxError(
                    .wrongElementType, "input \"\(input.name)\" must be \(elementType), got \(tensor.elementType)",
                    value: input.name)
            }
            guard let shape else { continue }
            guard shape.count == tensor.shape.count else {
                throw OnyxError(
                    .shapeMismatch, "input \"\(input.name)\" must have rank \(shape.count), got shape \(tensor.shape)",
                    value: input.name)
            }
            for (axis, dim) in shape.enumerated() {
                let actual = tensor.shape[axis]
                switch dim {
                case .known(let size) where size != actual:
                    throw OnyxError(
                        .shapeMismatch, "input \"\(input.name)\" dimension \(axis) must be \(size), got \(actual)",
                        value: input.name)
                case .symbolic(let symbol):
                    if let (bound, by) = symbols[symbol], bound != actual {
                        throw OnyxError(
                            .shapeMismatch,
                            "input \"\(input.name)\" dimension \(axis) (\(symbol)) is \(actual), but \"\(by)\" set \(symbol) = \(bound)",
                            value: input.name)
                    }
                    symbols[symbol] = (actual, input.name)
                default: break
                }
            }
        }
    }
}

/// What a session's runs have taught it about memory, across threads (an
/// `NSLock`, which Thread Sanitizer follows): the most tensor bytes one run
/// held, and how large to make the next run's arena.
private final class SessionMemory: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var arenaBytes = 0
    private var handedOut = 0
    private var fallbacks = 0

    var peakBytes: Int {

        lock.withLock { peak }
    }

    /// Tensors the runs' arenas had no room for, over all runs so far.
    var arenaFallbacks: Int {
        lock.withLock { fallbacks }
    }

    /// The size for the next run's arena (0: none yet, before any run) and
    /// whether it grew: the peak plus an eighth for the gaps between
    /// regions, more after runs that did not fit.
    func nextArena() -> (bytes: Int, grew: Bool) {
        lock.lock()
        defer { lock.unlock() }
        arenaBytes = max(arenaBytes, peak &+ peak / 8)
        let grew = arenaBytes > handedOut
        handedOut = arenaBytes
        return (arenaBytes, grew)
    }

    /// Records a finished run: its peak, and how many of its tensors found
    /// no room in its arena (the next arena is then a quarter larger, up to
    /// twice the peak).
    func record(peak runPeak: Int, fallbacks runFallbacks: Int) {
        lock.lock()
        defer { lock.unlock() }
        peak = max(peak, runPeak)
        fallbacks &+= runFallbacks
        if runFallbacks > 0, arenaBytes > 0 { arenaBytes = min(arenaBytes &+ arenaBytes / 4, max(2 &* peak, arenaBytes)) }
    }
}
