/// The tensor-sequence operators of opset 11 (SplitToSequence also
/// re-registered at 24 for its wider type list) and SequenceMap (17).
///
/// A sequence is `Value.sequence(tensors, elementType:)`; the element type
/// is kept so an empty sequence stays typed. All tensors of a sequence share
/// one element type; inserting another type is an error. Positions are
/// int32/int64 scalars (or one-element tensors), negative counting from the
/// back: `[-n, n-1]` for SequenceAt/SequenceErase, `[-n, n]` for SequenceInsert.
enum SequenceOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("SequenceConstruct", since: 11) { _ in ClosureKernel { inputs, _ in
            let tensors = try (0..<inputs.count).map { try inputs.tensor($0) }
            return [.sequence(tensors, elementType: try commonType(tensors))]
        } }
        registry.register("SequenceEmpty", since: 11) { context in
            let code = try context.int("dtype", default: Int(ElementType.float.rawValue))
            guard let type = Int32(exactly: code).flatMap(ElementType.init(rawValue:)) else {
                throw OnyxError.unsupportedOperator("attribute \"dtype\" = \(code) is not a known element type")
            }
            return ClosureKernel { _, _ in [.sequence([], elementType: type)] }
        }
        registry.register("SequenceLength", since: 11) { _ in ClosureKernel { inputs, _ in
            [.tensor(Tensor(scalar: Int64(try sequence(inputs, 0).items.count)))]
        } }
        registry.register("SequenceAt", since: 11) { _ in ClosureKernel { inputs, _ in
            let items = try sequence(inputs, 0).items
            return [.tensor(items[try ControlFlowSupport.position(try inputs.tensor(1), count: items.count)])]
        } }
        registry.register("SequenceInsert", since: 11) { _ in ClosureKernel { inputs, _ in
            var (items, type) = try sequence(inputs, 0)
            let tensor = try inputs.tensor(1)
            if let type, type != tensor.elementType {
                throw OnyxError.wrongElementType("cannot insert a \(tensor.elementType) tensor into a sequence of \(type)")
            }
            let position = try inputs.optionalTensor(2).map {
                try ControlFlowSupport.position($0, count: items.count, allowEnd: true)
            } ?? items.count
            items.insert(tensor, at: position)
            return [.sequence(items, elementType: tensor.elementType)]
        } }
        registry.register("SequenceErase", since: 11) { _ in ClosureKernel { inputs, _ in
            var (items, type) = try sequence(inputs, 0)
            guard !items.isEmpty else { throw OnyxError.invalidModel("cannot erase from an empty sequence") }
            let position = try inputs.optionalTensor(1).map {
                try ControlFlowSupport.position($0, count: items.count)
            } ?? items.count - 1
            items.remove(at: position)
            return [.sequence(items, elementType: type)]
        } }
        registry.register("ConcatFromSequence", since: 11) { try concatFromSequence($0) }
        registry.register("SplitToSequence", versions: [11, 24]) { try splitToSequence($0) }
        registry.register("SequenceMap", since: 17) { try SequenceMapKernel($0) }
    }

    /// Input `index` as a sequence: its tensors and element type.
    static func sequence(_ inputs: [Value?], _ index: Int) throws -> (items: [Tensor], type: ElementType?) {
        guard index < inputs.count, let value = inputs[index] else {
            throw OnyxError.invalidModel("input \(index) (a sequence) is required")
        }
        guard case .sequence(let items, let type) = value else {
            throw OnyxError.wrongElementType("input \(index) must be a sequence")
        }
        return (items, type ?? items.first?.elementType)
    }

    /// The one element type of `tensors`, or an error when they differ.
    static func commonType(_ tensors: [Tensor]) throws -> ElementType? {
        let type = tensors.first?.elementType
        for tensor in tensors where tensor.elementType != type {
            throw OnyxError.wrongElementType("sequence tensors must share one type, got \(type.map(String.init(describing:)) ?? "?") and \(tensor.elementType)")
        }
        return type
    }

    /// ConcatFromSequence: numpy `concatenate` (new_axis = 0, axis in
    /// `[-r, r-1]`) or `stack` (new_axis = 1, axis in `[-r-1, r]`). An empty
    /// sequence is an error: the result's shape is unknown.
    static func concatFromSequence(_ context: OpContext) throws -> any Kernel {
        guard let axis = try context.int("axis") else {
            throw OnyxError.invalidModel("attribute \"axis\" is required")
        }
        let newAxis = try context.int("new_axis", default: 0)
        guard newAxis == 0 || newAxis == 1 else {
            throw OnyxError.invalidModel("attribute \"new_axis\" must be 0 or 1, got \(newAxis)")
        }
        return ClosureKernel { inputs, _ in
            let items = try sequence(inputs, 0).items
            guard let first = items.first else {
                throw OnyxError.invalidModel("ConcatFromSequence needs a non-empty sequence")
            }
            _ = try commonType(items)
            let rank = first.shape.count + newAxis
            let resolved = try normalizeAxis(axis, rank: rank)
            if newAxis == 1 { return [.tensor(try AxisStacking.stack(items, axis: resolved))] }
            guard rank > 0 else { throw OnyxError.invalidModel("cannot concatenate scalars (use new_axis = 1)") }
            return [.tensor(try AxisStacking.concatenate(items, axis: resolved))]
        }
    }

    /// SplitToSequence: `split` omitted means parts of 1 (and `keepdims` = 0
    /// then drops the split axis); a scalar `split` gives parts of that size
    /// with a smaller last part; a 1-D `split` gives the listed lengths, which
    /// must sum to the dimension. `keepdims` is ignored when `split` is given.
    static func splitToSequence(_ context: OpContext) throws -> any Kernel {
        let axis = try context.int("axis", default: 0)
        let keepDims = try context.int("keepdims", default: 1) != 0
        return ClosureKernel { inputs, _ in
            let input = try inputs.tensor(0)
            let resolved = try normalizeAxis(axis, rank: input.shape.count)
            guard !input.shape.isEmpty else { throw OnyxError.invalidModel("cannot split a scalar") }
            let dim = input.shape[resolved]
            var lengths: [Int]
            let split = try inputs.optionalTensor(1)
            if let split {
                guard split.elementType == .int32 || split.elementType == .int64 else {
                    throw OnyxError.wrongElementType("split must be int32 or int64, got \(split.elementType)")
                }
                let values = try split.int64Values()
                if split.shape.isEmpty {
                    guard let size = values.first, size > 0 else {
                        throw OnyxError.invalidModel("a scalar split must be positive, got \(values)")
                    }
                    let chunk = Int(min(size, Int64(max(dim, 1))))
                    lengths = Array(repeating: chunk, count: dim / chunk)
                    if dim % chunk != 0 { lengths.append(dim % chunk) }
                } else {
                    guard split.shape.count == 1, values.allSatisfy({ $0 >= 0 && $0 <= Int64(dim) }) else {
                        throw OnyxError.invalidModel("split must be a scalar or a 1-D list of lengths within \(dim)")
                    }
                    lengths = values.map { Int($0) }
                }
            } else {
                lengths = Array(repeating: 1, count: dim)
            }
            var parts = try AxisStacking.split(input, axis: resolved, lengths: lengths)
            if split == nil, !keepDims {
                var shape = input.shape
                shape.remove(at: resolved)
                parts = try parts.map { try $0.reshaped(shape) }
            }
            return [.sequence(parts, elementType: input.elementType)]
        }
    }
}

/// SequenceMap: runs the body once per element of the first input (a
/// sequence). Each further input is fed whole when a tensor, or element by
/// element when a sequence (of the same length). Every body output becomes
/// a sequence output; an empty input gives empty outputs typed by the
/// body's declared output types where known.
struct SequenceMapKernel: Kernel {
    let body: GraphPlan
    let declaredTypes: [ElementType?]

    init(_ context: OpContext) throws {
        guard let graph = try context.graph("body") else {
            throw OnyxError.invalidModel("attribute \"body\" (a graph) is required")
        }
        try ControlFlowSupport.checkSignature(graph, "body", inputs: context.inputCount, outputs: context.outputCount)
        declaredTypes = graph.outputs.map { info in
            if case .sequence(let inner)? = info.type { return inner?.elementType }
            return info.type?.elementType
        }
        body = try context.subgraph("body")
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let count = try SequenceOps.sequence(inputs, 0).items.count
        let names = body.inputNames
        for (index, input) in inputs.enumerated() {
            if case .sequence(let items, _)? = input, items.count != count {
                throw OnyxError.shapeMismatch("input \(index) has \(items.count) elements, input 0 has \(count)")
            }
        }
        var outputs: [[Tensor]] = Array(repeating: [], count: declaredTypes.count)
        for element in 0..<count {
            var feeds: [String: Value] = [:]
            for (index, input) in inputs.enumerated() {
                guard let input else { continue }
                if case .sequence(let items, _) = input {
                    feeds[names[index]] = .tensor(items[element])
                } else {
                    feeds[names[index]] = input
                }
            }
            let results = try body.run(feeds: feeds, context: context)
            for index in outputs.indices { outputs[index].append(try results[index].asTensor()) }
        }
        return try outputs.enumerated().map { index, items in
            .sequence(items, elementType: try SequenceOps.commonType(items) ?? declaredTypes[index])
        }
    }
}
