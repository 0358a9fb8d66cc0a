/// Concat and Split along one axis.
///
/// - Concat: all inputs have the same type and rank (≥ 1) and agree on
///   every dimension but `axis`; `axis` is required from opset 4 (default 1
///   before), negative from 11. Zero-size inputs contribute nothing.
/// - Split: the lengths come from the `split` attribute (opsets 1–12; opset
///   1 also as a second input), the `split` input (13+), or the
///   `num_outputs` attribute (18+); otherwise (or when the list is empty, as
///   onnxruntime reads it) from the number of outputs.
///   Without explicit lengths every part gets ceil(dim / n) and the last one
///   the remainder, as the reference does (an error if that would be negative).
enum ConcatSplitOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Concat", since: 1) { context in try concat(axis: try context.int("axis", default: 1)) }
        registry.register("Concat", since: 4) { context in
            guard let axis = try context.int("axis") else { throw OnyxError.invalidModel("attribute \"axis\" is required") }
            return try concat(axis: axis)
        }
        registry.register("Split", since: 1) { context in
            try split(context, splitInput: true, splitAttribute: try context.ints("split"))
        }
        registry.register("Split", versions: [2, 11]) { context in
            try split(context, splitInput: false, splitAttribute: try context.ints("split"))
        }
        registry.register("Split", since: 13) { context in try split(context, splitInput: true, splitAttribute: nil) }
        registry.register("Split", since: 18) { context in
            let parts = try context.int("num_outputs")
            if let parts, parts < 1 || parts != context.outputCount {
                throw OnyxError.invalidModel("num_outputs = \(parts) but the node has \(context.outputCount) outputs")
            }
            if parts != nil && context.hasInput(1) {
                throw OnyxError.invalidModel("Split takes either the split input or num_outputs, not both")
            }
            return try split(context, splitInput: true, splitAttribute: nil)
        }
    }

    static func concat(axis: Int) throws -> any Kernel {
        ClosureKernel { inputs, _ in
            let tensors = try (0..<inputs.count).map { try inputs.tensor($0) }
            guard let first = tensors.first else { throw OnyxError.invalidModel("Concat needs at least one input") }
            let rank = first.shape.count
            guard rank > 0 else { throw OnyxError.shapeMismatch("cannot concatenate scalars") }
            let resolved = try normalizeAxis(axis, rank: rank)
            var outShape = first.shape
            outShape[resolved] = 0
            for tensor in tensors {
                guard tensor.shape.count == rank,
                    zip(tensor.shape, first.shape).enumerated().allSatisfy({ $0.offset == resolved || $0.element.0 == $0.element.1 })
                else {
                    throw OnyxError.shapeMismatch(
                        "cannot concatenate \(tensors.map(\.shape)) along axis \(axis)")
                }
                let (sum, overflow) = outShape[resolved].addingReportingOverflow(tensor.shape[resolved])
                guard !overflow else { throw OnyxError.resourceLimit("concatenated dimension overflows") }
                outShape[resolved] = sum
            }
            let outer = try Tensor.checkedCount(Array(first.shape[..<resolved]))
            let inner = try Tensor.checkedCount(Array(first.shape[(resolved + 1)...]))
            // Every output element is some input's: the rows below cover the output.
            let result = try Tensor.assemble(first.elementType, outShape, from: tensors, writesAll: true) { copier in
                guard copier.outputCount > 0 else { return }
                var destination = 0
                for row in 0..<outer {
                    for (index, tensor) in tensors.enumerated() {
                        let run = tensor.shape[resolved] &* inner
                        try copier.copy(index, from: row &* run, to: destination, count: run)
                        destination &+= run
                    }
                }
            }
            return [.tensor(result)]
        }
    }

    static func split(_ context: OpContext, splitInput: Bool, splitAttribute: [Int]?) throws -> any Kernel {
        let axis = try context.int("axis", default: 0)
        let parts = try context.int("num_outputs") ?? context.outputCount
        let outputs = context.outputCount
        return ClosureKernel { inputs, _ in
            let data = try inputs.tensor(0)
            let resolved = try normalizeAxis(axis, rank: data.shape.count)
            guard resolved < data.shape.count else { throw OnyxError.shapeMismatch("cannot split a scalar") }
            var lengths = splitAttribute
            if splitInput, let tensor = try inputs.optionalTensor(1) {
                lengths = tensor.elementType.isInteger ? try tensor.indexValues("split") : try tensor.int64Values().map { Int($0) }
            }
            let sizes = try splitSizes(dim: data.shape[resolved], lengths: lengths, parts: parts, outputs: outputs)
            let outer = try Tensor.checkedCount(Array(data.shape[..<resolved]))
            let inner = try Tensor.checkedCount(Array(data.shape[(resolved + 1)...]))
            let run = data.shape[resolved] &* inner
            var offset = 0
            var results: [Value?] = []
            for size in sizes {
                var shape = data.shape
                shape[resolved] = size
                let start = offset
                results.append(.tensor(try Tensor.assemble(data.elementType, shape, from: [data]) { copier in
                    for row in 0..<outer {
                        try copier.copy(0, from: row &* run &+ start &* inner, to: row &* size &* inner, count: size &* inner)
                    }
                }))
                offset &+= size
            }
            return results
        }
    }

    static func splitSizes(dim: Int, lengths: [Int]?, parts: Int, outputs: Int) throws -> [Int] {
        if let lengths, !lengths.isEmpty {
            guard lengths.count == outputs, lengths.allSatisfy({ $0 >= 0 && $0 <= dim }),
                lengths.reduce(0, &+) == dim
            else {
                throw OnyxError.shapeMismatch("split \(lengths) does not divide a dimension of \(dim) into \(outputs) outputs")
            }
            return lengths
        }
        guard parts > 0 else { throw OnyxError.invalidModel("Split needs at least one output") }
        let chunk = dim / parts + (dim % parts == 0 ? 0 : 1)
        let last = dim - chunk * (parts - 1)
        guard last >= 0 else {
            throw OnyxError.shapeMismatch("a dimension of \(dim) cannot be split into \(parts) parts")
        }
        return Array(repeating: chunk, count: parts - 1) + [last]
    }
}
