/// Slice and ReverseSequence.
///
/// Slice takes `starts`/`ends`/`axes` as attributes in opset 1 and as
/// int32/int64 inputs (plus `steps`) from opset 10. Per the spec, negative
/// starts/ends get the dimension added once; then for a positive step start
/// and end clamp to [0, dim], for a negative step start clamps to
/// [0, dim - 1] and end to [-1, dim - 1] (so INT64_MAX / INT64_MIN mean
/// "to the end"). A zero step or a repeated axis is an error.
///
/// ReverseSequence reverses, for each batch entry `b`, the first
/// `sequence_lens[b]` (within [0, time]) steps along `time_axis`; batch and
/// time are axes 0 and 1 in either order.
enum SliceOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Slice", since: 1) { context in
            guard let starts = try context.ints("starts"), let ends = try context.ints("ends") else {
                throw OnyxError.invalidModel("attributes \"starts\" and \"ends\" are required")
            }
            let axes = try context.ints("axes")
            return ClosureKernel { inputs, _ in
                [.tensor(try slice(try inputs.tensor(0), starts: starts, ends: ends, axes: axes, steps: nil))]
            }
        }
        registry.register("Slice", since: 10) { _ in
            ClosureKernel { inputs, _ in
                let starts = try inputs.tensor(1).indexValues("starts")
                let ends = try inputs.tensor(2).indexValues("ends")
                let axes = try inputs.optionalTensor(3)?.indexValues("axes")
                let steps = try inputs.optionalTensor(4)?.indexValues("steps")
                return [.tensor(try slice(try inputs.tensor(0), starts: starts, ends: ends, axes: axes, steps: steps))]
            }
        }
        registry.register("ReverseSequence", since: 10) { context in
            let batchAxis = try context.int("batch_axis", default: 1)
            let timeAxis = try context.int("time_axis", default: 0)
            guard [0, 1].contains(batchAxis), [0, 1].contains(timeAxis), batchAxis != timeAxis else {
                throw OnyxError.invalidModel("batch_axis \(batchAxis) and time_axis \(timeAxis) must be 0 and 1")
            }
            return ClosureKernel { inputs, _ in
                [.tensor(try reverseSequence(try inputs.tensor(0), try inputs.tensor(1), batchAxis, timeAxis))]
            }
        }
    }

    static func slice(_ data: Tensor, starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> Tensor {
        let rank = data.shape.count
        guard ends.count == starts.count, axes.map({ $0.count == starts.count }) ?? true,
            steps.map({ $0.count == starts.count }) ?? true
        else {
            throw OnyxError.invalidModel("starts, ends, axes and steps must have the same length")
        }
        var begin = [Int](repeating: 0, count: rank)
        var step = [Int](repeating: 1, count: rank)
        var outShape = data.shape
        var seen = Set<Int>()
        for i in 0..<starts.count {
            let axis = try normalizeAxis(axes?[i] ?? i, rank: rank)
            guard axis < rank, seen.insert(axis).inserted else {
                throw OnyxError.invalidModel("axes \(axes ?? []) repeat an axis or exceed rank \(rank)")
            }
            let dim = data.shape[axis]
            let stride = steps?[i] ?? 1
            guard stride != 0 else { throw OnyxError.invalidModel("slice step must not be 0") }
            var start = starts[i] < 0 ? starts[i] &+ dim : starts[i]
            var end = ends[i] < 0 ? ends[i] &+ dim : ends[i]
            var length = 0
            if stride > 0 {
                start = min(max(start, 0), dim)
                end = min(max(end, 0), dim)
                if end > start { length = (end - start - 1) / stride + 1 }
            } else if dim > 0 {
                start = min(max(start, 0), dim - 1)
                end = min(max(end, -1), dim - 1)
                let magnitude = stride == Int.min ? Int.max : -stride
                if start > end { length = (start - end - 1) / magnitude + 1 }
            }
            begin[axis] = start
            step[axis] = stride
            outShape[axis] = length
        }
        let strides = Tensor.strides(data.shape)
        return try IndexedCopy.build(data, outShape: outShape) {
            (0..<rank).map {
                IndexedCopy.arithmetic(count: outShape[$0], start: begin[$0], step: step[$0], stride: strides[$0])
            }
        }
    }

    static func reverseSequence(_ data: Tensor, _ lengths: Tensor, _ batchAxis: Int, _ timeAxis: Int) throws -> Tensor {
        guard data.shape.count >= 2 else {
            throw OnyxError.shapeMismatch("input must have rank ≥ 2, got shape \(data.shape)")
        }
        let batch = data.shape[batchAxis]
        let time = data.shape[timeAxis]
        let lens = try lengths.indexValues("sequence_lens")
        guard lengths.shape == [batch] else {
            throw OnyxError.shapeMismatch("sequence_lens has shape \(lengths.shape), expected [\(batch)]")
        }
        for length in lens where length < 0 || length > time {
            throw OnyxError.invalidModel("sequence length \(length) is outside [0, \(time)]")
        }
        let strides = Tensor.strides(data.shape)
        let inner = strides[1]
        return try Tensor.assemble(data.elementType, data.shape, from: [data]) { copier in
            try copier.copy(0, from: 0, to: 0, count: copier.outputCount)
            for (b, length) in lens.enumerated() {
                for t in 0..<length {
                    try copier.copy(
                        0, from: b &* strides[batchAxis] &+ (length - 1 - t) &* strides[timeAxis],
                        to: b &* strides[batchAxis] &+ t &* strides[timeAxis], count: inner)
                }
            }
        }
    }
}
