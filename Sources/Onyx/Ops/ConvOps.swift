/// Conv: N-dimensional convolution (1-D, 2-D, 3-D, …) with groups
/// (depthwise included), strides, dilations, explicit pads or `auto_pad`,
/// and an optional bias.
///
/// float32 runs on the packed GEMM kernels (`ConvOps+Gemm.swift`): 1×1
/// convolutions as a direct GEMM, others unfolded per (batch, group), with
/// constant weights packed when the plan is built. double, float16 and
/// bfloat16 use the reference kernel: the input is unfolded per (batch,
/// group) into a column matrix and multiplied by the group's weights with a
/// vectorizable loop, in double or in Float (rounded back).
enum ConvOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Conv", versions: [1, 11, 22]) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let group = try context.int("group", default: 1)
            guard group >= 1 else { throw OnyxError.invalidModel("group must be at least 1, got \(group)") }
            let packed = ConvProblem.packedWeights(
                context.constantInputs.count > 1 ? context.constantInputs[1] : nil, group: group, attributes: attributes)
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                let w = try inputs.tensor(1)
                let b = try inputs.optionalTensor(2)
                return [.tensor(try conv(
                    x, w, b, attributes: attributes, group: group, packed: packed, threads: run.options.threads))]
            }
        }
    }

    static func conv(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, attributes: ConvGeometry.Attributes, group: Int,
        packed: PackedConstant? = nil, threads: Int? = nil
    ) throws -> Tensor {
        let (problem, outShape) = try self.problem(x, w, b, attributes: attributes, group: group)
        switch x.elementType {
        case .float:
            return try problem.runFloat(x, w, b, outShape, packed: packed, threads: threads)
        case .double:
            return try problem.run(Double.self, x, w, b, outShape)
        case .float16, .bfloat16:
            let xf = try Tensor(shape: x.shape, scalars: try x.floatValues())
            let wf = try Tensor(shape: w.shape, scalars: try w.floatValues())
            let bf = try b.map { try Tensor(shape: $0.shape, scalars: try $0.floatValues()) }
            let result = try problem.run(Float.self, xf, wf, bf, outShape)
            return try Tensor.fromFloats(try result.scalars(as: Float.self), shape: outShape, as: x.elementType)
        default:
            throw OnyxError.wrongElementType("Conv is not defined on \(x.elementType)")
        }
    }

    /// Checks the operands and resolves the geometry; returns the problem and the output shape.
    static func problem(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, attributes: ConvGeometry.Attributes, group: Int
    ) throws -> (ConvProblem, [Int]) {
        guard x.shape.count >= 3, w.shape.count == x.shape.count else {
            throw OnyxError.shapeMismatch("Conv needs X of rank ≥ 3 and W of the same rank, got \(x.shape) and \(w.shape)")
        }
        guard x.elementType == w.elementType, b.map({ $0.elementType == x.elementType }) ?? true else {
            throw OnyxError.wrongElementType("X, W and B must share one element type")
        }
        let batch = x.shape[0]
        let channels = x.shape[1]
        let filters = w.shape[0]
        guard channels % group == 0, filters % group == 0, w.shape[1] == channels / group else {
            throw OnyxError.shapeMismatch(
                "W \(w.shape) does not fit X with \(channels) channels in \(group) groups")
        }
        if let b, b.shape != [filters] {
            throw OnyxError.shapeMismatch("B must have shape [\(filters)], got \(b.shape)")
        }
        let geometry = try ConvGeometry(attributes, input: Array(x.shape[2...]), kernel: Array(w.shape[2...]))
        // The GEMM reads W as [filters, channels/group × kernel]: kernel_shape must match it.
        guard geometry.kernel == Array(w.shape[2...]) else {
            throw OnyxError.shapeMismatch("kernel_shape \(geometry.kernel) does not match W \(w.shape)")
        }
        let outShape = [batch, filters] + geometry.output
        let problem = ConvProblem(geometry: geometry, batch: batch, channels: channels, filters: filters, group: group)
        return (problem, outShape)
    }
}

/// One convolution's sizes, and the unfold-and-multiply loop.
struct ConvProblem {
    let geometry: ConvGeometry
    let batch: Int
    let channels: Int
    let filters: Int
    let group: Int

    func run<T: BinaryFloatingPoint & TensorScalar>(
        _ type: T.Type, _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ outShape: [Int]
    ) throws -> Tensor {
        let channelsPerGroup = channels / group
        let filtersPerGroup = filters / group
        let taps = try Tensor.checkedCount(geometry.kernel)
        let positions = try Tensor.checkedCount(geometry.output)
        let inputSize = try Tensor.checkedCount(geometry.input)
        _ = try TensorAllocation.checkedBytes(.int64, count: try Tensor.checkedCount([positions, taps]))
        // Input offset of every (output position, tap); -1 in padding.
        var gather = [Int](repeating: -1, count: positions * taps)
        geometry.forEachTap { out, tap, input in gather[out * taps + tap] = input ?? -1 }
        let rows = channelsPerGroup * taps
        _ = try TensorAllocation.checkedBytes(T.elementType, count: try Tensor.checkedCount([rows, positions]))
        var columns = [T](repeating: 0, count: rows * positions)
        let bias = try b?.scalars(as: T.self)
        return try Tensor.make(T.self, outShape) { out in
            try x.withElements(T.self) { input in
                try w.withElements(T.self) { weights in
                    for n in 0..<batch {
                        for g in 0..<group {
                            columns.withUnsafeMutableBufferPointer { cols in
                                for c in 0..<channelsPerGroup {
                                    let plane = (n * channels + g * channelsPerGroup + c) * inputSize
                                    for p in 0..<positions {
                                        for tap in 0..<taps {
                                            let source = gather[p * taps + tap]
                                            cols[(c * taps + tap) * positions + p] = source < 0 ? 0 : input[plane + source]
                                        }
                                    }
                                }
                                for m in 0..<filtersPerGroup {
                                    let filter = g * filtersPerGroup + m
                                    let target = (n * filters + filter) * positions
                                    let start = bias?[filter] ?? 0
                                    for p in 0..<positions { out[target + p] = start }
                                    for row in 0..<rows {
                                        let weight = weights[filter * rows + row]
                                        let base = row * positions
                                        for p in 0..<positions { out[target + p] += weight * cols[base + p] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
