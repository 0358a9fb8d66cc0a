import Foundation

extension DetectionOps {
    static func registerConvLike(into registry: inout OpRegistry) {
        registry.register("DeformConv", versions: [19, 22]) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let group = try context.int("group", default: 1)
            let offsetGroup = try context.int("offset_group", default: 1)
            guard (1...(1 << 31)).contains(group), (1...(1 << 31)).contains(offsetGroup) else {
                throw OnyxError.invalidModel("group and offset_group must be positive")
            }
            return ClosureKernel { inputs, _ in
                [.tensor(try deformConv(inputs, attributes, group: group, offsetGroup: offsetGroup))]
            }
        }
        registry.register("MaxUnpool", versions: [9, 11, 22]) { context in
            guard let kernel = try context.ints("kernel_shape") else {
                throw OnyxError.invalidModel("kernel_shape is required")
            }
            let strides = try context.ints("strides") ?? Array(repeating: 1, count: kernel.count)
            let pads = try context.ints("pads") ?? Array(repeating: 0, count: 2 * kernel.count)
            guard strides.count == kernel.count, pads.count == 2 * kernel.count,
                  (kernel + strides).allSatisfy({ $0 >= 1 && $0 <= 1 << 31 }), pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 })
            else {
                throw OnyxError.invalidModel("kernel_shape, strides and pads must be positive / non-negative, one per spatial dim")
            }
            return ClosureKernel { inputs, _ in
                [.tensor(try maxUnpool(inputs, kernel: kernel, strides: strides, pads: pads))]
            }
        }
    }

    /// MaxUnpool: scatters X into zeros of the shape MaxPool's input would
    /// have had, `(in − 1)·stride − pad_begin − pad_end + kernel` per spatial
    /// dim, at the flat indices I (over the whole tensor, as MaxPool's
    /// Indices output). With `output_shape`, that result is placed at the
    /// origin of a zero tensor of the requested (not smaller) shape, as the
    /// ONNX reference does. Elements are copied bit for bit.
    static func maxUnpool(_ inputs: [Value?], kernel: [Int], strides: [Int], pads: [Int]) throws -> Tensor {
        let x = try inputs.tensor(0)
        let indices = try inputs.tensor(1)
        let rank = kernel.count
        guard x.shape.count == rank + 2, indices.shape == x.shape, indices.elementType == .int64 else {
            throw OnyxError.shapeMismatch("X must have rank \(rank + 2) and I (int64) the same shape, got \(x.shape), \(indices.shape)")
        }
        guard let size = x.elementSize else { throw OnyxError.wrongElementType("MaxUnpool is not defined on \(x.elementType)") }
        var inferred = Array(x.shape[0..<2])
        for axis in 0..<rank {
            let dim = (x.shape[axis + 2] - 1) * strides[axis] - pads[axis] - pads[axis + rank] + kernel[axis]
            guard dim >= 0 else { throw OnyxError.shapeMismatch("unpooled dim \(axis) would be negative (\(dim))") }
            inferred.append(dim)
        }
        var outShape = inferred
        if let requested = try inputs.optionalTensor(2) {
            let dims = try requested.int64Values()
            guard dims.count == inferred.count, zip(dims, inferred).allSatisfy({ $0 >= Int64($1) && $0 <= 1 << 40 }) else {
                throw OnyxError.shapeMismatch("output_shape \(dims) must have rank \(inferred.count) and cover \(inferred)")
            }
            outShape = dims.map { Int($0) }
        }
        let inferredCount = try Tensor.checkedCount(inferred)
        let flatIndices = try indices.int64Values()
        if let bad = flatIndices.first(where: { $0 < 0 || $0 >= Int64(inferredCount) }) {
            throw OnyxError.invalidModel("index \(bad) is outside the unpooled tensor of \(inferredCount) elements")
        }
        let outStrides = Tensor.strides(outShape)
        let inferredStrides = Tensor.strides(inferred)
        return try Tensor.make(x.elementType, outShape) { out in
            x.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                for (element, flat) in flatIndices.enumerated() {
                    var rest = Int(flat)
                    var target = 0
                    for axis in 0..<inferred.count {
                        target += (rest / inferredStrides[axis]) * outStrides[axis]
                        rest %= inferredStrides[axis]
                    }
                    (out + target * size).copyMemory(from: base + element * size, byteCount: size)
                }
            }
        }
    }

    /// DeformConv (N-D): a grouped convolution whose taps sample X at
    /// `o·stride − pad_begin + k·dilation + offset` with N-linear
    /// interpolation (zero outside the input, as GridSample with
    /// align_corners = 1 and zero padding), each tap scaled by `mask`
    /// (default 1). Channels are split into `offset_group` groups sharing one
    /// offset/mask set. The output's spatial shape is Conv's and must match
    /// the offset's. Computation in Double.
    static func deformConv(
        _ inputs: [Value?], _ attributes: ConvGeometry.Attributes, group: Int, offsetGroup: Int
    ) throws -> Tensor {
        let x = try inputs.tensor(0)
        let w = try inputs.tensor(1)
        let offset = try inputs.tensor(2)
        let bias = try inputs.optionalTensor(3)
        let mask = try inputs.optionalTensor(4)
        guard [.float, .double, .float16, .bfloat16].contains(x.elementType),
              [w, offset, bias ?? x, mask ?? x].allSatisfy({ $0.elementType == x.elementType })
        else { throw OnyxError.wrongElementType("all inputs must share one floating-point type") }
        let dims = x.shape.count - 2
        guard dims >= 1, w.shape.count == dims + 2 else {
            throw OnyxError.shapeMismatch("X must have rank ≥ 3 and W the same rank, got \(x.shape), \(w.shape)")
        }
        let (batches, channels, outChannels) = (x.shape[0], x.shape[1], w.shape[0])
        guard w.shape[1] * group == channels, outChannels % group == 0, channels % offsetGroup == 0,
              offsetGroup <= max(channels, 1)
        else {
            throw OnyxError.shapeMismatch("X \(x.shape) and W \(w.shape) do not fit group \(group), offset_group \(offsetGroup)")
        }
        let geometry = try ConvGeometry(attributes, input: Array(x.shape[2...]), kernel: Array(w.shape[2...]))
        guard geometry.kernel == Array(w.shape[2...]) else {
            throw OnyxError.shapeMismatch("kernel_shape \(geometry.kernel) does not match W \(w.shape)")
        }
        let taps = geometry.kernelCount
        let positions = geometry.outputCount
        guard offset.shape == [batches, offsetGroup * taps * dims] + geometry.output else {
            throw OnyxError.shapeMismatch("offset shape \(offset.shape) does not fit output \(geometry.output)")
        }
        if let mask, mask.shape != [batches, offsetGroup * taps] + geometry.output {
            throw OnyxError.shapeMismatch("mask shape \(mask.shape) does not fit output \(geometry.output)")
        }
        if let bias, bias.shape != [outChannels] { throw OnyxError.shapeMismatch("B must have shape [\(outChannels)]") }
        let xs = try x.doubleValues(), ws = try w.doubleValues(), offsets = try offset.doubleValues()
        let masks = try mask?.doubleValues()
        let biases = try bias?.doubleValues()
        let outShape = [batches, outChannels] + geometry.output
        var out = try TensorAllocation.array(repeating: 0 as Double, shape: outShape)
        let planeSize = geometry.inputCount
        let inStrides = Tensor.strides(geometry.input)
        let outCoords = coordinates(geometry.output)
        let kernelCoords = coordinates(geometry.kernel)
        let perOffsetGroup = channels / offsetGroup
        let (inPerGroup, outPerGroup) = (channels / group, outChannels / group)
        var columns = try TensorAllocation.array(repeating: 0 as Double, shape: [channels, taps, positions])
        var point = [Double](repeating: 0, count: dims)
        for n in 0..<batches {
            for g in 0..<offsetGroup {
                for k in 0..<taps {
                    let tapBase = (n * offsetGroup + g) * taps + k
                    for o in 0..<positions {
                        for i in 0..<dims {
                            point[i] = Double(outCoords[o * dims + i] * geometry.strides[i] - geometry.padBegin[i]
                                + kernelCoords[k * dims + i] * geometry.dilations[i])
                                + offsets[(tapBase * dims + i) * positions + o]
                        }
                        let scale = masks?[tapBase * positions + o] ?? 1
                        for c in (g * perOffsetGroup)..<((g + 1) * perOffsetGroup) {
                            let plane = (n * channels + c) * planeSize
                            columns[(c * taps + k) * positions + o] =
                                scale * interpolate(xs, plane: plane, point, geometry.input, inStrides)
                        }
                    }
                }
            }
            for oc in 0..<outChannels {
                let outBase = (n * outChannels + oc) * positions
                let b = biases?[oc] ?? 0
                for o in 0..<positions { out[outBase + o] = b }
                let firstChannel = (oc / outPerGroup) * inPerGroup
                for ci in 0..<inPerGroup {
                    for k in 0..<taps {
                        let weight = ws[(oc * inPerGroup + ci) * taps + k]
                        let row = ((firstChannel + ci) * taps + k) * positions
                        for o in 0..<positions { out[outBase + o] += weight * columns[row + o] }
                    }
                }
            }
        }
        return try Tensor.fromDoubles(out, shape: outShape, as: x.elementType)
    }

    /// Row-major multi-indices of every position of `shape`, flattened.
    static func coordinates(_ shape: [Int]) -> [Int] {
        let count = shape.reduce(1, *)
        var result = [Int](repeating: 0, count: count * shape.count)
        var index = [Int](repeating: 0, count: shape.count)
        for position in 0..<count {
            for axis in 0..<shape.count { result[position * shape.count + axis] = index[axis] }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }

    /// N-linear interpolation of one plane at `point`; corners outside are 0.
    private static func interpolate(_ data: [Double], plane: Int, _ point: [Double], _ shape: [Int], _ strides: [Int]) -> Double {
        var sum = 0.0
        corners: for corner in 0..<(1 << point.count) {
            var weight = 1.0
            var flat = plane
            for axis in 0..<point.count {
                guard point[axis].isFinite else { return 0 }
                let low = point[axis].rounded(.down)
                let high = (corner >> axis) & 1 == 1
                let index = clampedInt(low) + (high ? 1 : 0)
                guard index >= 0, index < shape[axis] else { continue corners }
                let fraction = point[axis] - low
                weight *= high ? fraction : 1 - fraction
                flat += index * strides[axis]
            }
            sum += weight * data[flat]
        }
        return sum
    }
}
