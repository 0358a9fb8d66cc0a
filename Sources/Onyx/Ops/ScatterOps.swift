/// ScatterElements, ScatterND and the deprecated Scatter (opsets 9–10,
/// the same as ScatterElements without reduction).
///
/// The output starts as a copy of `data`; updates are applied in the order
/// of the indices, so with reduction "none" a repeated index keeps the last
/// update. `reduction` is "none" before opset 16, adds "add" and "mul" at
/// 16 and "max" and "min" at 18. Negative indices count from the end once;
/// out-of-range indices are an error.
/// - ScatterElements: indices and updates have one shape, of data's rank,
///   not larger than data outside `axis`.
/// - ScatterND: updates have shape `indices.shape[:-1] + data.shape[k:]`,
///   `k = indices.shape[-1] ≤ rank(data)`.
enum ScatterOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Scatter", since: 9) { context in
            let axis = try context.int("axis", default: 0)
            return ClosureKernel { inputs, _ in
                [.tensor(try scatterElements(try inputs.tensor(0), try inputs.tensor(1), try inputs.tensor(2),
                                             axis: axis, reduction: .none))]
            }
        }
        registry.register("ScatterElements", since: 11) { context in
            let axis = try context.int("axis", default: 0)
            let reduction = try ScatterReduction(context)
            return ClosureKernel { inputs, _ in
                [.tensor(try scatterElements(try inputs.tensor(0), try inputs.tensor(1), try inputs.tensor(2),
                                             axis: axis, reduction: reduction))]
            }
        }
        registry.register("ScatterND", since: 11) { context in
            let reduction = try ScatterReduction(context)
            return ClosureKernel { inputs, _ in
                [.tensor(try scatterND(try inputs.tensor(0), try inputs.tensor(1), try inputs.tensor(2),
                                       reduction: reduction))]
            }
        }
    }

    static func scatterElements(
        _ data: Tensor, _ indices: Tensor, _ updates: Tensor, axis: Int, reduction: ScatterReduction
    ) throws -> Tensor {
        let rank = data.shape.count
        guard rank > 0, indices.shape.count == rank, updates.shape == indices.shape else {
            throw OnyxError.shapeMismatch(
                "data \(data.shape), indices \(indices.shape) and updates \(updates.shape) must have one rank (≥ 1), "
                    + "indices and updates one shape")
        }
        let resolved = try normalizeAxis(axis, rank: rank)
        for d in 0..<rank where d != resolved && indices.shape[d] > data.shape[d] {
            throw OnyxError.shapeMismatch("indices \(indices.shape) exceed data \(data.shape) outside axis \(axis)")
        }
        let values = try indices.indexValues()
        let strides = Tensor.strides(data.shape)
        let dim = data.shape[resolved]
        var destinations = [Int](repeating: 0, count: values.count)
        var position = [Int](repeating: 0, count: rank)
        for (flat, value) in values.enumerated() {
            var offset = try resolveIndex(value, dim: dim) &* strides[resolved]
            for d in 0..<rank where d != resolved { offset &+= position[d] &* strides[d] }
            destinations[flat] = offset
            var d = rank - 1
            while d >= 0 {
                position[d] &+= 1
                if position[d] < indices.shape[d] { break }
                position[d] = 0
                d -= 1
            }
        }
        return try apply(data, updates, destinations: destinations, run: 1, reduction: reduction)
    }

    static func scatterND(_ data: Tensor, _ indices: Tensor, _ updates: Tensor, reduction: ScatterReduction) throws -> Tensor {
        let (destinations, run) = try IndexingOps.tupleOffsets(data.shape, indices, batchDims: 0)
        let k = indices.shape.last ?? 0
        let expected = Array(indices.shape.dropLast()) + Array(data.shape[k...])
        guard updates.shape == expected else {
            throw OnyxError.shapeMismatch("updates have shape \(updates.shape), expected \(expected)")
        }
        return try apply(data, updates, destinations: destinations, run: run, reduction: reduction)
    }

    /// Copies `data`, then combines run `i` of `updates` into the output at
    /// element offset `destinations[i]`, in order.
    static func apply(
        _ data: Tensor, _ updates: Tensor, destinations: [Int], run: Int, reduction: ScatterReduction
    ) throws -> Tensor {
        guard updates.elementType == data.elementType else {
            throw OnyxError.wrongElementType("updates are \(updates.elementType), data \(data.elementType)")
        }
        guard updates.count == destinations.count &* run else {
            throw OnyxError.shapeMismatch("updates \(updates.shape) do not match the indices")
        }
        guard reduction != .none else {
            return try Tensor.assemble(data.elementType, data.shape, from: [data, updates]) { copier in
                try copier.copy(0, from: 0, to: 0, count: copier.outputCount)
                for (index, destination) in destinations.enumerated() {
                    try copier.copy(1, from: index &* run, to: destination, count: run)
                }
            }
        }
        for destination in destinations where destination < 0 || destination > data.count &- run {
            throw OnyxError.invalidModel("internal: scatter destination \(destination) out of range")
        }
        return try data.elementType.visit(
            ScatterReducer(data: data, updates: updates, destinations: destinations, run: run, reduction: reduction))
    }
}
