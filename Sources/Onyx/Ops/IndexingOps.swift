/// Gather, GatherElements, GatherND, Compress and NonZero, for every
/// element type.
///
/// Indices are int32 or int64; a negative index counts from the end of its
/// dimension (once), anything else outside the dimension is an error.
/// - Gather: output shape `data[:axis] + indices.shape + data[axis+1:]`.
/// - GatherElements: `indices` has data's rank; its dimensions other than
///   `axis` may not exceed data's; the output has the shape of `indices`.
/// - GatherND: `batch_dims` (opset 12+) leading dimensions of data and
///   indices must agree; each index tuple (the last indices dimension, of
///   length k ≤ rank - batch_dims) selects a slice of the remaining data axes.
/// - Compress: keeps the slices along `axis` (negative from opset 11;
///   absent: the flattened input) whose `condition` entry is true. As in
///   numpy, a condition shorter than the axis ignores the rest; entries
///   beyond the axis must be false.
/// - NonZero: int64 `[rank, count]` coordinates of the non-zero elements in
///   row-major order. Floats: NaN is non-zero, ±0 is zero; complex: either
///   part non-zero; strings: non-empty. A scalar input gives shape
///   `[0, count]`, as the reference does.
enum IndexingOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Gather", since: 1) { context in
            let axis = try context.int("axis", default: 0)
            return ClosureKernel { inputs, _ in
                [.tensor(try gather(try inputs.tensor(0), try inputs.tensor(1), axis: axis))]
            }
        }
        registry.register("GatherElements", since: 11) { context in
            let axis = try context.int("axis", default: 0)
            return ClosureKernel { inputs, _ in
                [.tensor(try gatherElements(try inputs.tensor(0), try inputs.tensor(1), axis: axis))]
            }
        }
        registry.register("GatherND", since: 11) { context in
            let batchDims = try context.int("batch_dims", default: 0)
            return ClosureKernel { inputs, _ in
                [.tensor(try gatherND(try inputs.tensor(0), try inputs.tensor(1), batchDims: batchDims))]
            }
        }
        registry.register("Compress", since: 9) { context in
            let axis = try context.int("axis")
            return ClosureKernel { inputs, _ in
                [.tensor(try compress(try inputs.tensor(0), try inputs.tensor(1), axis: axis))]
            }
        }
        registry.register("NonZero", since: 9) { _ in
            ClosureKernel { inputs, _ in [.tensor(try nonZero(try inputs.tensor(0)))] }
        }
    }

    static func gather(_ data: Tensor, _ indices: Tensor, axis: Int) throws -> Tensor {
        let rank = data.shape.count
        guard rank > 0 else { throw OnyxError.shapeMismatch("Gather needs data of rank ≥ 1") }
        let resolved = try normalizeAxis(axis, rank: rank)
        let dim = data.shape[resolved]
        let outer = try Tensor.checkedCount(Array(data.shape[..<resolved]))
        let inner = try Tensor.checkedCount(Array(data.shape[(resolved + 1)...]))
        let offsets = try indices.indexValues().map { try resolveIndex($0, dim: dim) &* inner }
        let outShape = Array(data.shape[..<resolved]) + indices.shape + Array(data.shape[(resolved + 1)...])
        if inner >= 8 {
            // Whole slices, one copy each, with no tables.
            return try Tensor.assemble(data.elementType, outShape, from: [data]) { copier in
                var to = 0
                for o in 0..<outer {
                    for offset in offsets {
                        try copier.copy(0, from: o &* dim &* inner &+ offset, to: to, count: inner)
                        to &+= inner
                    }
                }
            }
        }
        return try IndexedCopy.build(data, outShape: outShape, view: [outer, offsets.count, inner]) {
            [IndexedCopy.arithmetic(count: outer, stride: dim &* inner), offsets,
             IndexedCopy.arithmetic(count: inner, stride: 1)]
        }
    }

    static func gatherElements(_ data: Tensor, _ indices: Tensor, axis: Int) throws -> Tensor {
        let rank = data.shape.count
        guard rank > 0, indices.shape.count == rank else {
            throw OnyxError.shapeMismatch("indices \(indices.shape) must have the rank of data \(data.shape) (≥ 1)")
        }
        let resolved = try normalizeAxis(axis, rank: rank)
        for d in 0..<rank where d != resolved && indices.shape[d] > data.shape[d] {
            throw OnyxError.shapeMismatch("indices \(indices.shape) exceed data \(data.shape) outside axis \(axis)")
        }
        let values = try indices.indexValues()
        let strides = Tensor.strides(data.shape)
        let dim = data.shape[resolved]
        return try Tensor.assemble(data.elementType, indices.shape, from: [data]) { copier in
            var position = [Int](repeating: 0, count: rank)
            for (flat, value) in values.enumerated() {
                var offset = try resolveIndex(value, dim: dim) &* strides[resolved]
                for d in 0..<rank where d != resolved { offset &+= position[d] &* strides[d] }
                try copier.copy(0, from: offset, to: flat, count: 1)
                var d = rank - 1
                while d >= 0 {
                    position[d] &+= 1
                    if position[d] < indices.shape[d] { break }
                    position[d] = 0
                    d -= 1
                }
            }
        }
    }

    /// Element offsets (into data) and the slice size addressed by each index
    /// tuple of GatherND / ScatterND, batch by batch.
    static func tupleOffsets(_ data: [Int], _ indices: Tensor, batchDims: Int) throws -> (offsets: [Int], slice: Int) {
        let q = indices.shape.count
        guard q >= 1, batchDims >= 0, batchDims < q, batchDims <= data.count else {
            throw OnyxError.shapeMismatch("indices \(indices.shape) do not fit data \(data) with batch_dims \(batchDims)")
        }
        let k = indices.shape[q - 1]
        guard k <= data.count - batchDims else {
            throw OnyxError.shapeMismatch("index tuples of length \(k) exceed data \(data) after \(batchDims) batch dims")
        }
        guard Array(indices.shape[..<batchDims]) == Array(data[..<batchDims]) else {
            throw OnyxError.shapeMismatch("batch dims of indices \(indices.shape) and data \(data) differ")
        }
        let values = try indices.indexValues()
        let strides = Tensor.strides(data)
        let slice = try Tensor.checkedCount(Array(data[(batchDims + k)...]))
        let batchStride = batchDims > 0 ? strides[batchDims - 1] : 0
        let tuples = k > 0 ? values.count / k : try Tensor.checkedCount(Array(indices.shape.dropLast()))
        let batches = try Tensor.checkedCount(Array(data[..<batchDims]))
        let perBatch = batches > 0 ? tuples / batches : 0
        var offsets = [Int](repeating: 0, count: tuples)
        for tuple in 0..<tuples {
            var offset = perBatch > 0 ? (tuple / perBatch) &* batchStride : 0
            for j in 0..<k {
                let axis = batchDims + j
                offset &+= try resolveIndex(values[tuple &* k &+ j], dim: data[axis]) &* strides[axis]
            }
            offsets[tuple] = offset
        }
        return (offsets, slice)
    }

    static func gatherND(_ data: Tensor, _ indices: Tensor, batchDims: Int) throws -> Tensor {
        let (offsets, slice) = try tupleOffsets(data.shape, indices, batchDims: batchDims)
        let k = indices.shape.last ?? 0
        let outShape = Array(indices.shape.dropLast()) + Array(data.shape[(batchDims + k)...])
        return try Tensor.assemble(data.elementType, outShape, from: [data]) { copier in
            for (tuple, offset) in offsets.enumerated() {
                try copier.copy(0, from: offset, to: tuple &* slice, count: slice)
            }
        }
    }

    static func compress(_ input: Tensor, _ condition: Tensor, axis: Int?) throws -> Tensor {
        guard condition.elementType == .bool, condition.shape.count == 1 else {
            throw OnyxError.wrongElementType("condition must be a 1-D bool tensor, got \(condition)")
        }
        let data = axis == nil ? try input.reshaped([input.count]) : input
        let resolved = try normalizeAxis(axis ?? 0, rank: data.shape.count)
        guard resolved < data.shape.count else { throw OnyxError.shapeMismatch("cannot compress a scalar along an axis") }
        let dim = data.shape[resolved]
        let flags = try condition.scalars(as: Bool.self)
        var selected: [Int] = []
        for (index, keep) in flags.enumerated() where keep {
            guard index < dim else {
                throw OnyxError.shapeMismatch("condition selects index \(index) of an axis of size \(dim)")
            }
            selected.append(index)
        }
        let outer = try Tensor.checkedCount(Array(data.shape[..<resolved]))
        let inner = try Tensor.checkedCount(Array(data.shape[(resolved + 1)...]))
        var outShape = data.shape
        outShape[resolved] = selected.count
        return try IndexedCopy.build(data, outShape: outShape, view: [outer, selected.count, inner]) {
            [IndexedCopy.arithmetic(count: outer, stride: dim &* inner), selected.map { $0 &* inner },
             IndexedCopy.arithmetic(count: inner, stride: 1)]
        }
    }

    static func nonZero(_ input: Tensor) throws -> Tensor {
        let flags = try nonZeroFlags(input)
        let rank = input.shape.count
        let found = flags.reduce(0) { $1 ? $0 &+ 1 : $0 }
        let strides = Tensor.strides(input.shape)
        return try Tensor.make(Int64.self, [rank, found]) { out in
            var column = 0
            for (flat, flag) in flags.enumerated() where flag {
                var rest = flat
                for axis in 0..<rank {
                    out[axis &* found &+ column] = Int64(rest / strides[axis])
                    rest %= strides[axis]
                }
                column &+= 1
            }
        }
    }

    private static func nonZeroFlags(_ input: Tensor) throws -> [Bool] {
        switch input.elementType {
        case .string: return (input.stringBytes ?? []).map { !$0.isEmpty }
        case .bool: return try input.scalars(as: Bool.self)
        case .complex64, .complex128:
            let parts = try input.complexComponents()
            return (0..<input.count).map { parts[2 &* $0] != 0 || parts[2 &* $0 &+ 1] != 0 }
        case .int64: return try input.scalars(as: Int64.self).map { $0 != 0 }
        case .uint64: return try input.scalars(as: UInt64.self).map { $0 != 0 }
        default: return try input.doubleValues().map { $0 != 0 }
        }
    }
}
