/// Scan: runs the body `(state..., scan_element...) -> (state..., scan_out_element...)`
/// once per position of the scan inputs, carrying the states and stacking
/// the scan-output elements.
///
/// - Opset 8: inputs are `(sequence_lens?, state..., scan...)`; axis 0 of
///   every state and scan input is a batch axis that is iterated outside
///   the scan, axis 1 of the scan inputs is scanned; `directions` reverses
///   inputs (within each batch's sequence length). Outputs are final states
///   `[batch, ...]` and scan outputs `[batch, max_len, ...]`; positions past
///   a batch's `sequence_lens` are zero-filled (the spec leaves them undefined).
/// - Opset 9+: no batch axis and no `sequence_lens`; `scan_input_axes` and
///   `scan_input_directions` choose the scanned axis and direction per input,
///   `scan_output_axes` (in `[-r-1, r]` for element rank r) where each output
///   stacks, `scan_output_directions` = 1 prepends instead of appending.
/// - With no iteration, scan outputs take their element type and shape as
///   Loop does (`ControlFlowSupport.elementTemplate`).
/// - More body runs than `maxLoopIterations` (scan length, times the batch
///   for opset 8) is a `resourceLimit` error, checked before the first.
enum ScanOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Scan", versions: [8, 9]) { try ScanKernel($0) }
    }
}

/// The Scan kernel for one node; `batched` selects the opset-8 form.
struct ScanKernel: Kernel {
    let body: GraphPlan
    let declaredScanTypes: [ValueType?]
    let batched: Bool
    let stateCount: Int
    let scanInputCount: Int
    let inputAxes: [Int]
    let inputReversed: [Bool]
    let outputAxes: [Int]
    let outputReversed: [Bool]

    init(_ context: OpContext) throws {
        batched = context.opset < 9
        guard let scanInputs = try context.int("num_scan_inputs"), scanInputs >= 1 else {
            throw OnyxError.invalidModel("attribute \"num_scan_inputs\" must be at least 1")
        }
        scanInputCount = scanInputs
        stateCount = context.inputCount - (batched ? 1 : 0) - scanInputs
        guard stateCount >= 0 else {
            throw OnyxError.invalidModel("Scan has fewer inputs than num_scan_inputs = \(scanInputs)")
        }
        guard let graph = try context.graph("body") else {
            throw OnyxError.invalidModel("attribute \"body\" (a graph) is required")
        }
        try ControlFlowSupport.checkSignature(graph, "body", inputs: stateCount + scanInputs, outputs: stateCount)
        let scanOutputs = graph.outputs.count - stateCount
        guard context.outputCount <= graph.outputs.count else {
            throw OnyxError.invalidModel("Scan has \(context.outputCount) outputs, its body yields \(graph.outputs.count)")
        }
        declaredScanTypes = graph.outputs[stateCount...].map(\.type)

        func flags(_ name: String, count: Int) throws -> [Bool] {
            guard let values = try context.ints(name) else { return Array(repeating: false, count: count) }
            guard values.count == count, values.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw OnyxError.invalidModel("attribute \"\(name)\" must hold \(count) values of 0 or 1, got \(values)")
            }
            return values.map { $0 == 1 }
        }
        func axes(_ name: String, count: Int) throws -> [Int] {
            guard let values = try context.ints(name) else { return Array(repeating: 0, count: count) }
            guard values.count == count else {
                throw OnyxError.invalidModel("attribute \"\(name)\" must hold \(count) values, got \(values.count)")
            }
            return values
        }
        if batched {
            inputReversed = try flags("directions", count: scanInputs)
            inputAxes = Array(repeating: 0, count: scanInputs)
            outputReversed = Array(repeating: false, count: scanOutputs)
            outputAxes = Array(repeating: 0, count: scanOutputs)
        } else {
            inputReversed = try flags("scan_input_directions", count: scanInputs)
            inputAxes = try axes("scan_input_axes", count: scanInputs)
            outputReversed = try flags("scan_output_directions", count: scanOutputs)
            outputAxes = try axes("scan_output_axes", count: scanOutputs)
        }
        body = try context.subgraph("body")
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let offset = batched ? 1 : 0
        let states = try (0..<stateCount).map { try inputs.tensor(offset + $0) }
        let scans = try (0..<scanInputCount).map { try inputs.tensor(offset + stateCount + $0) }
        if batched { return try runBatched(states: states, scans: scans, lengths: try inputs.optionalTensor(0), context) }
        let axes = try zip(scans, inputAxes).map { try normalizeAxis($1, rank: $0.shape.count, name: "scan_input_axes") }
        let length = scans[0].shape.isEmpty ? 0 : scans[0].shape[axes[0]]
        for (scan, axis) in zip(scans, axes) where scan.shape.isEmpty || scan.shape[axis] != length {
            throw OnyxError.shapeMismatch("scan inputs have different lengths along their scan axes")
        }
        guard length <= context.options.maxLoopIterations else {
            throw OnyxError.resourceLimit("Scan would run \(length) iterations, over the limit of \(context.options.maxLoopIterations)")
        }
        let slices = try zip(scans, axes).map { try AxisStacking.unstack($0, axis: $1) }
        let zeroSlices = { try zip(scans, axes).map { scan, axis -> Value in
            var shape = scan.shape
            shape.remove(at: axis)
            return .tensor(try Tensor.zeros(scan.elementType, shape))
        } }
        let (finalStates, elements) = try iterate(
            states: states.map { .tensor($0) }, length: length, slices: slices, context)
        var results: [Value?] = finalStates.map { $0 }
        for (index, steps) in elements.enumerated() {
            let ordered = outputReversed[index] ? steps.reversed() : steps
            let (type, shape) = try template(index, steps: ordered, states: states, zeroSlices: zeroSlices, context)
            let axis = try normalizeAxis(outputAxes[index], rank: shape.count + 1, name: "scan_output_axes")
            results.append(.tensor(
                ordered.isEmpty
                    ? try ControlFlowSupport.emptyStack(type, shape, axis: axis)
                    : try AxisStacking.stack(ordered, axis: axis)))
        }
        return results
    }

    /// Opset 8: the loop over the batch axis.
    private func runBatched(states: [Tensor], scans: [Tensor], lengths: Tensor?, _ context: RunContext) throws -> [Value?] {
        guard scans.allSatisfy({ $0.shape.count >= 2 && $0.shape[0...1] == scans[0].shape[0...1] }) else {
            throw OnyxError.shapeMismatch("scan inputs must share their batch and sequence dimensions")
        }
        let batch = scans[0].shape[0]
        let maxLength = scans[0].shape[1]
        guard states.allSatisfy({ $0.shape.first == batch }) else {
            throw OnyxError.shapeMismatch("state inputs must have the batch size \(batch) on axis 0")
        }
        let sequenceLengths = try lengths.map { try $0.int64Values() } ?? Array(repeating: Int64(maxLength), count: batch)
        guard sequenceLengths.count == batch, sequenceLengths.allSatisfy({ $0 >= 0 && $0 <= Int64(maxLength) }) else {
            throw OnyxError.invalidModel("sequence_lens must hold \(batch) values in [0, \(maxLength)]")
        }
        guard batch.multipliedReportingOverflow(by: maxLength).partialValue <= context.options.maxLoopIterations,
              !batch.multipliedReportingOverflow(by: maxLength).overflow else {
            throw OnyxError.resourceLimit(
                "Scan would run \(batch) × \(maxLength) iterations, over the limit of \(context.options.maxLoopIterations)")
        }
        let batchStates = try states.map { try AxisStacking.unstack($0, axis: 0) }
        let batchScans = try scans.map { try AxisStacking.unstack($0, axis: 0) }
        var finalStates: [[Tensor]] = Array(repeating: [], count: stateCount)
        var outputs: [[[Tensor]]] = Array(repeating: [], count: declaredScanTypes.count)
        for b in 0..<batch {
            let length = Int(sequenceLengths[b])
            let slices = try batchScans.map { Array(try AxisStacking.unstack($0[b], axis: 0)[0..<length]) }
            let (last, elements) = try iterate(
                states: batchStates.map { .tensor($0[b]) }, length: length, slices: slices, context)
            for index in 0..<stateCount { finalStates[index].append(try last[index].asTensor()) }
            for index in outputs.indices { outputs[index].append(elements[index]) }
        }
        var results: [Value?] = try (0..<stateCount).map { index in
            .tensor(batch == 0 ? states[index] : try AxisStacking.stack(finalStates[index], axis: 0))
        }
        for (index, perBatch) in outputs.enumerated() {
            let sample = perBatch.lazy.compactMap(\.first).first
            let (type, shape) = try sample.map { ($0.elementType, $0.shape) } ?? template(
                index, steps: [], states: states.map { try Tensor.zeros($0.elementType, Array($0.shape.dropFirst())) },
                zeroSlices: { try scans.map { .tensor(try Tensor.zeros($0.elementType, Array($0.shape.dropFirst(2)))) } },
                context)
            let padding = try Tensor.zeros(type, shape)
            var flat: [Tensor] = []
            for steps in perBatch {
                flat.append(contentsOf: steps)
                flat.append(contentsOf: repeatElement(padding, count: maxLength - steps.count))
            }
            results.append(.tensor(
                flat.isEmpty
                    ? try Tensor.zeros(type, [batch, maxLength] + shape)
                    : try AxisStacking.stack(flat, axis: 0).reshaped([batch, maxLength] + shape)))
        }
        return results
    }

    /// Runs the body `length` times; `slices[j][t]` is scan input j at step t
    /// in forward order. Returns the final states and each scan output's elements.
    private func iterate(
        states initial: [Value], length: Int, slices: [[Tensor]], _ context: RunContext
    ) throws -> ([Value], [[Tensor]]) {
        let names = body.inputNames
        var states = initial
        var elements: [[Tensor]] = Array(repeating: [], count: declaredScanTypes.count)
        for step in 0..<length {
            var feeds: [String: Value] = [:]
            for (index, state) in states.enumerated() { feeds[names[index]] = state }
            for (index, inputSlices) in slices.enumerated() {
                feeds[names[stateCount + index]] = .tensor(inputSlices[inputReversed[index] ? length - 1 - step : step])
            }
            let outputs = try body.run(feeds: feeds, context: context)
            states = Array(outputs[0..<stateCount])
            for index in elements.indices {
                elements[index].append(try outputs[stateCount + index].asTensor())
            }
        }
        return (states, elements)
    }

    /// Element type and shape of scan output `index` (from its first element,
    /// or for no iteration from the declared type or a trial run).
    private func template(
        _ index: Int, steps: [Tensor], states: [Tensor], zeroSlices: () throws -> [Value], _ context: RunContext
    ) throws -> (ElementType, [Int]) {
        if let first = steps.first { return (first.elementType, first.shape) }
        return try ControlFlowSupport.elementTemplate(
            declared: declaredScanTypes[index],
            probe: {
                guard let scanValues = try? zeroSlices() else { return nil }
                let names = body.inputNames
                var feeds: [String: Value] = [:]
                for (position, value) in (states.map { Value.tensor($0) } + scanValues).enumerated() {
                    feeds[names[position]] = value
                }
                return (try? body.run(feeds: feeds, context: context))?[stateCount + index]
            },
            what: "Scan output \(index)")
    }
}
