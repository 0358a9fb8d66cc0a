/// If and Loop: operators that run subgraphs. Subgraphs read values of
/// enclosing graphs by name (GraphPlan resolves them); their outputs may be
/// tensors, sequences or optionals (opset 13 added sequences, 16 optionals;
/// the semantics are otherwise unchanged from opset 1, so one builder
/// serves every version).
enum ControlFlowOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("If", since: 1) { try ifKernel($0) }
        registry.register("Loop", since: 1) { try LoopKernel($0) }
    }

    /// Runs `then_branch` or `else_branch` on a one-element bool condition
    /// and returns that branch's outputs unchanged.
    static func ifKernel(_ context: OpContext) throws -> any Kernel {
        let outputs = context.outputCount
        for name in ["then_branch", "else_branch"] {
            guard let graph = try context.graph(name) else {
                throw OnyxError.invalidModel("attribute \"\(name)\" (a graph) is required")
            }
            guard graph.outputs.count == outputs else {
                throw OnyxError.invalidModel(
                    "\(name) yields \(graph.outputs.count) outputs, but the node has \(outputs)")
            }
        }
        let thenPlan = try context.subgraph("then_branch")
        let elsePlan = try context.subgraph("else_branch")
        return ClosureKernel { inputs, runContext in
            let condition = try ControlFlowSupport.truth(try inputs.tensor(0), "cond")
            let plan = condition ? thenPlan : elsePlan
            return try plan.run(feeds: [:], context: runContext).map { Optional($0) }
        }
    }
}

/// Loop: `for (i = 0; (M absent or i < M) && cond; ++i)` over the body
/// `(iteration_num, cond_in, carried...) -> (cond_out, carried..., scan...)`.
///
/// - M (int64) and cond (bool) are both optional. As the spec's table says,
///   when the node has no `cond` input the body's `cond_out` is ignored, so
///   `("", "")` only ends at the iteration limit.
/// - The iteration number is fed as an int64 scalar, `cond_in` as a bool
///   scalar (true when the node has no `cond`).
/// - Carried values may be tensors, sequences or empty optionals and are
///   passed through as they are.
/// - Scan outputs (tensors of one shape in every iteration) are stacked
///   along a new axis 0. With no iteration their element type and shape
///   come from the body's declared output type, else from one trial run of
///   the body whose result is discarded (see
///   `ControlFlowSupport.elementTemplate`).
/// - Running more than `maxLoopIterations` iterations is a `resourceLimit`
///   error.
struct LoopKernel: Kernel {
    let body: GraphPlan
    let declaredScanTypes: [ValueType?]
    let carriedCount: Int
    let hasCondition: Bool

    init(_ context: OpContext) throws {
        guard context.inputCount >= 2 else {
            throw OnyxError.invalidModel("Loop needs the inputs M and cond (either may be empty)")
        }
        carriedCount = context.inputCount - 2
        guard let graph = try context.graph("body") else {
            throw OnyxError.invalidModel("attribute \"body\" (a graph) is required")
        }
        try ControlFlowSupport.checkSignature(graph, "body", inputs: 2 + carriedCount, outputs: 1 + carriedCount)
        let scanCount = graph.outputs.count - 1 - carriedCount
        guard context.outputCount <= carriedCount + scanCount else {
            throw OnyxError.invalidModel(
                "Loop has \(context.outputCount) outputs, but its body yields \(carriedCount) carried values "
                    + "and \(scanCount) scan outputs")
        }
        declaredScanTypes = graph.outputs[(1 + carriedCount)...].map(\.type)
        hasCondition = context.hasInput(1)
        body = try context.subgraph("body")
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let tripCount = try inputs.optionalTensor(0).map { try ControlFlowSupport.integer($0, "M") }
        var condition = try inputs.optionalTensor(1).map { try ControlFlowSupport.truth($0, "cond") } ?? true
        var carried: [Value] = (0..<carriedCount).map { index in
            let position = 2 + index
            return position < inputs.count ? inputs[position] ?? Value.none : Value.none
        }
        var scans: [[Tensor]] = Array(repeating: [], count: declaredScanTypes.count)
        let limit = Int64(max(context.options.maxLoopIterations, 0))
        var iteration: Int64 = 0

        while condition, tripCount.map({ iteration < $0 }) ?? true {
            guard iteration < limit else {
                throw OnyxError.resourceLimit("Loop exceeded the limit of \(limit) iterations")
            }
            let outputs = try runBody(iteration: iteration, condition: condition, carried: carried, context: context)
            if hasCondition {
                condition = try ControlFlowSupport.truth(try outputs[0].asTensor(), "body output cond_out")
            }
            carried = Array(outputs[1..<(1 + carriedCount)])
            for index in scans.indices {
                guard case .tensor(let tensor) = outputs[1 + carriedCount + index] else {
                    throw OnyxError.wrongElementType("Loop scan output \(index) must be a tensor in every iteration")
                }
                scans[index].append(tensor)
            }
            iteration += 1
        }

        var results: [Value?] = carried.map { $0 }
        var probe: [Value]??
        for (index, elements) in scans.enumerated() {
            if !elements.isEmpty {
                results.append(.tensor(try AxisStacking.stack(elements, axis: 0)))
                continue
            }
            let (type, shape) = try ControlFlowSupport.elementTemplate(
                declared: declaredScanTypes[index],
                probe: {
                    if probe == nil {
                        probe = .some(try? runBody(iteration: 0, condition: condition, carried: carried, context: context))
                    }
                    return probe??[1 + carriedCount + index]
                },
                what: "Loop scan output \(index)")
            results.append(.tensor(try ControlFlowSupport.emptyStack(type, shape, axis: 0)))
        }
        return results
    }

    private func runBody(iteration: Int64, condition: Bool, carried: [Value], context: RunContext) throws -> [Value] {
        let names = body.inputNames
        var feeds: [String: Value] = [:]
        feeds[names[0]] = .tensor(Tensor(scalar: iteration))
        feeds[names[1]] = .tensor(Tensor(scalar: condition))
        for (index, value) in carried.enumerated() { feeds[names[2 + index]] = value }
        feeds.removeValue(forKey: "")
        let outputs = try body.run(feeds: feeds, context: context)
        guard outputs.count == 1 + carriedCount + declaredScanTypes.count else {
            throw OnyxError.invalidModel("Loop body returned \(outputs.count) values")
        }
        return outputs
    }
}
