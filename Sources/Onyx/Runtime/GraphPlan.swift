import CKernels
import Foundation

/// A graph compiled for execution: one kernel per node in topological
/// order, values addressed by slot, and each value released after its last
/// reader. Independent nodes may run at once on several threads.
///
/// Building the plan picks a kernel for every node through the op
/// registry and validates attributes, so unsupported operators and bad
/// attributes fail before anything runs, with the node named. Subgraphs
/// (If/Loop/Scan bodies) compile to nested plans that read the enclosing
/// graph's values by name. A plan is immutable; each run has its own slots.
final class GraphPlan: @unchecked Sendable {
    struct Step {
        let kernel: any Kernel
        let inputs: [Int?]
        let outputs: [Int?]
        let node: OnyxError.NodeContext
        /// Local slots this step reads (inputs and its subgraphs' free
        /// variables), each once.
        let reads: [Int]
    }

    /// Everything compilation needs besides the graph itself.
    struct Environment {
        var opsets: [String: Int]
        var functions: [Function]
        var registry: OpRegistry
        var maxDepth: Int = 64
    }

    let name: String
    let slotOf: [String: Int]
    let inputNames: [String]
    let outputNames: [String]
    private let outputSlots: [Int]
    private let constants: [(Int, Tensor)]
    /// Names read from enclosing graphs, with the slot each is put in.
    private let outerReads: [(String, Int)]
    private(set) var steps: [Step]
    private let slotCount: Int
    /// Which steps wait on which, for running independent nodes at once.
    let dependencies: StepDependencies
    /// Per step: the input positions whose buffer may be donated to the
    /// kernel (``Kernel/inPlaceInputs`` whose value this plan's steps make,
    /// that this step reads once and after every other reader of it, and
    /// that is not a graph output).
    let donors: [[Int]]

    init(graph original: Graph, environment: Environment, outerScope: Set<String> = [], depth: Int = 0) throws {
        guard depth <= environment.maxDepth else {
            throw OnyxError.resourceLimit("subgraphs nest deeper than \(environment.maxDepth) levels")
        }
        let graph = try FunctionInliner.inline(original, functions: environment.functions)
        name = graph.name
        var slotOf: [String: Int] = [:]
        func slot(_ name: String) -> Int {
            if let existing = slotOf[name] { return existing }
            let index = slotOf.count
            slotOf[name] = index
            return index
        }
        var constants: [(Int, Tensor)] = []
        for (name, tensor) in graph.constants { constants.append((slot(name), tensor)) }
        for input in graph.inputs { _ = slot(input.name) }
        for node in graph.nodes { for output in node.outputs where !output.isEmpty { _ = slot(output) } }
        let local = Set(slotOf.keys)
        var outerReads: [(String, Int)] = []
        for name in GraphValidation.freeVariables(of: graph).sorted() where !local.contains(name) {
            guard outerScope.contains(name) else {
                throw OnyxError.invalidModel("value \"\(name)\" is not defined in graph \"\(graph.name)\" or an enclosing graph")
            }
            outerReads.append((name, slot(name)))
        }
        let visible = outerScope.union(slotOf.keys)

        var steps: [Step] = []
        for node in graph.nodes {
            let domain = node.normalizedDomain
            let opset = environment.opsets[domain] ?? 0
            let context = OnyxError.NodeContext(name: node.name, opType: node.opType, domain: node.domain, opset: opset)
            guard let build = environment.registry.builder(domain: domain, opType: node.opType, opset: opset) else {
                throw OnyxError(.unsupportedOperator, "operator is not supported by this build", node: context)
            }
            let inputs: [Int?] = node.inputs.map { $0.isEmpty ? nil : slotOf[$0] }
            let constantInputs: [Tensor?] = node.inputs.map { graph.constants[$0] }
            let opContext = OpContext(
                node: node, opset: opset, constantInputs: constantInputs,
                inputTypes: node.inputs.map { _ in nil },
                compileSubgraph: { subgraph in
                    try GraphPlan(graph: subgraph, environment: environment, outerScope: visible, depth: depth + 1)
                })
            let kernel: any Kernel
            do {
                kernel = try build(opContext)
            } catch let error as OnyxError {
                throw error.atNode(context)
            }
            var reads = inputs.compactMap { $0 }
            for subgraph in node.subgraphs {
                for name in GraphValidation.freeVariables(of: subgraph) {
                    if let read = slotOf[name] { reads.append(read) }
                }
            }
            steps.append(Step(
                kernel: kernel, inputs: inputs, outputs: node.outputs.map { $0.isEmpty ? nil : slotOf[$0] },
                node: context, reads: Array(Set(reads)).sorted()))
        }
        let kept = Set(graph.outputs.compactMap { slotOf[$0.name] })

        self.slotOf = slotOf
        self.inputNames = graph.inputs.map(\.name)
        self.outputNames = graph.outputs.map(\.name)
        self.outputSlots = graph.outputs.compactMap { slotOf[$0.name] }
        self.constants = constants
        self.outerReads = outerReads
        self.steps = steps
        self.slotCount = slotOf.count
        let dependencies = StepDependencies(steps: steps, slotCount: slotOf.count, kept: kept)
        self.dependencies = dependencies
        self.donors = Self.donors(steps, dependencies: dependencies)
    }

    /// See ``donors``. Whether the buffer is really free is only known when
    /// the step runs (a Reshape or Identity output shares its input's
    /// buffer; a feed is still held by the caller), so `execute` checks that
    /// too.
    private static func donors(_ steps: [Step], dependencies: StepDependencies) -> [[Int]] {
        var produced = Set<Int>()
        for step in steps { for case let slot? in step.outputs { produced.insert(slot) } }
        var readers: [Int: [Int]] = [:]
        for (index, reads) in dependencies.reads.enumerated() { for slot in reads { readers[slot, default: []].append(index) } }
        var predecessors = [[Int]](repeating: [], count: steps.count)
        for (index, dependents) in dependencies.dependents.enumerated() {
            for dependent in dependents { predecessors[dependent].append(index) }
        }
        return steps.indices.map { index in
            let step = steps[index]
            return step.kernel.inPlaceInputs.filter { position in
                guard position < step.inputs.count, let slot = step.inputs[position] else { return false }
                guard produced.contains(slot), !dependencies.kept[slot],
                    step.inputs.lazy.filter({ $0 == slot }).count == 1
                else { return false }
                let others = (readers[slot] ?? []).filter { $0 != index }
                return finished(others, before: index, predecessors: predecessors)
            }
        }
    }

    /// Whether every step in `others` has run whenever step `index` starts,
    /// however lanes schedule them: each is an ancestor of `index` through
    /// the steps' dependencies.
    private static func finished(_ others: [Int], before index: Int, predecessors: [[Int]]) -> Bool {
        guard !others.isEmpty else { return true }
        guard let floor = others.min(), others.allSatisfy({ $0 < index }) else { return false }
        var pending = Set(others)
        var seen: Set<Int> = [index]
        var frontier = [index]
        while let step = frontier.popLast() {
            for source in predecessors[step] where source >= floor && seen.insert(source).inserted {
                pending.remove(source)
                if pending.isEmpty { return true }
                frontier.append(source)
            }
        }
        return false
    }

    /// Runs the graph. `feeds` are graph inputs by name (a feed for an
    /// initializer-backed input overrides the initializer); outer-scope
    /// values come from `context.lookup`. Returns the graph outputs in order.
    ///
    /// With more than one thread allowed and nodes that do not depend on
    /// one another, the nodes run on lanes (see `runLanes`); otherwise one
    /// after another in plan order.
    func run(feeds: [String: Value], context: RunContext) throws -> [Value] {
        let frame = Frame(count: slotCount)
        for (slot, tensor) in constants { frame[slot] = .tensor(tensor) }
        for (name, value) in feeds {
            guard let slot = slotOf[name] else {
                throw OnyxError(.unexpectedInput, "graph \"\(self.name)\" has no input \"\(name)\"")
            }
            frame[slot] = value
        }
        for (name, slot) in outerReads {
            guard let value = context.lookup(name) else {
                throw OnyxError.invalidModel("outer-scope value \"\(name)\" is not available")
            }
            frame[slot] = value
        }
        let slotOf = self.slotOf
        let parent = context.lookup
        let inner = RunContext(
            lookup: { name in
                if let slot = slotOf[name], let value = frame[slot] { return value }
                return parent(name)
            },
            options: context.options)
        let lanes = min(Gemm.threadCount(requested: context.options.threads, work: Int.max), dependencies.widest)
        if lanes > 1, context.options.interOp {
            try runLanes(lanes, frame: frame, context: inner)
        } else {
            for index in steps.indices {
                try execute(index, frame: frame, context: inner)
                for slot in dependencies.releases[index] { frame[slot] = nil }
            }
        }
        var results: [Value] = []
        for (index, slot) in outputSlots.enumerated() {
            guard let value = frame[slot] else {
                throw OnyxError.invalidModel("graph output \"\(outputNames[index])\" was not produced")
            }
            results.append(value)
        }
        return results
    }

    /// Runs step `index`: reads its inputs from `frame`, runs the kernel
    /// (timed when profiling) and stores its outputs.
    private func execute(_ index: Int, frame: Frame, context: RunContext) throws {
        let step = steps[index]
        var context = context
        for position in donors[index] {
            guard let slot = step.inputs[position], let buffer = frame.donate(slot) else { continue }
            context.donated = buffer
            break
        }
        var inputs: [Value?] = []
        inputs.reserveCapacity(step.inputs.count)
        for (position, slot) in step.inputs.enumerated() {
            guard let slot else {
                inputs.append(nil)
                continue
            }
            guard let value = frame[slot] else {
                throw OnyxError(.invalidModel, "input \(position) was not produced", node: step.node)
            }
            inputs.append(value)
        }
        let outputs: [Value?]
        do {
            if let profiler = context.options.profiler {
                let start = profiler.now()
                outputs = try step.kernel.run(inputs, context)
                profiler.record(
                    name: step.node.name.isEmpty ? step.node.opType : step.node.name,
                    category: step.node.opType, since: start)
            } else {
                outputs = try step.kernel.run(inputs, context)
            }
        } catch let error as OnyxError {
            throw error.atNode(step.node)
        }
        for (position, slot) in step.outputs.enumerated() {
            guard let slot else { continue }
            frame[slot] = position < outputs.count ? outputs[position] : nil
        }
    }

    /// Runs the steps on `lanes` threads at once (the calling thread and
    /// ``WorkerPool`` workers): each lane takes the lowest-numbered step
    /// whose producers are all done, and a lane with none to take helps with
    /// the other lanes' parallel loops (``WorkerPool/helpNested()``), so a
    /// node alone on the critical path still splits over every thread. A
    /// value is released when its last reader has run, whichever lane ran
    /// it. Each kernel computes the same bits whatever threads it gets, so
    /// results do not depend on the schedule. After a failure no new step
    /// starts; the error thrown is that of the earliest failing step in plan
    /// order among those that ran.
    private func runLanes(_ lanes: Int, frame: Frame, context: RunContext) throws {
        let schedule = LaneSchedule(dependencies)
        let budget = MemoryBudget.current
        let pool = WorkerPool.shared
        pool.run(lanes) { _ in
            MemoryBudget.$current.withValue(budget) {
                var idleRounds = 0
                while true {
                    let claim = schedule.claim()
                    guard let claim else { return }
                    guard let index = claim else {
                        if pool.helpNested() {
                            idleRounds = 0
                        } else {
                            idleRounds &+= 1
                            // Spin briefly for the next step, then give the core away between
                            // looks, then (after some 10k yields, a few ms beside a long node
                            // that has no parallel loop) nap, so a waiting lane does not hold a core.
                            if idleRounds < 4096 {
                                onyx_cpu_relax()
                            } else if idleRounds < 16384 {
                                sched_yield()
                            } else {
                                usleep(50)
                            }
                        }
                        continue
                    }
                    idleRounds = 0
                    var failure: Error?
                    do {
                        try execute(index, frame: frame, context: context)
                    } catch {
                        failure = error
                    }
                    let released = schedule.finish(index, failure: failure, dependencies: dependencies)
                    for slot in released { frame[slot] = nil }
                }
            }
        }
        if let failure = schedule.failure { throw failure }
    }

    /// The slots of one run. Lanes read and write distinct slots at once, so
    /// the storage is a plain buffer, never reallocated; a slot is written
    /// before any reader of it is scheduled and cleared after its last.
    private final class Frame: @unchecked Sendable {
        private let slots: UnsafeMutablePointer<Value?>
        private let count: Int

        init(count: Int) {
            self.count = count
            slots = .allocate(capacity: max(count, 1))
            slots.initialize(repeating: nil, count: count)
        }

        deinit {
            slots.deinitialize(count: count)
            slots.deallocate()
        }

        subscript(slot: Int) -> Value? {
            get { slots[slot] }
            set { slots[slot] = newValue }
        }

        /// The buffer of the tensor in `slot` when nothing but this frame
        /// holds it and Onyx allocated it, so its only reader may write it;
        /// the slot keeps an equal tensor over the same buffer. Nil, with
        /// the slot unchanged, otherwise.
        func donate(_ slot: Int) -> TensorBuffer? {
            guard case (let type, let shape, var owner)? = Self.parts(slots[slot]) else { return nil }
            // Drop the frame's reference so the local one can be the only one.
            slots[slot] = nil
            let free = isKnownUniquelyReferenced(&owner) && owner.isAllocatedByOnyx
            slots[slot] = (try? Tensor(elementType: type, shape: shape, buffer: owner)).map(Value.tensor)
            return free ? owner : nil
        }

        /// A numeric tensor's type, shape and buffer; the value itself ends here.
        private static func parts(_ value: consuming Value?) -> (ElementType, [Int], TensorBuffer)? {
            guard case .tensor(let tensor)? = value, let buffer = tensor.buffer else { return nil }
            return (tensor.elementType, tensor.shape, buffer)
        }
    }
}
