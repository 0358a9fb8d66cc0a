/// ConvTranspose: the gradient of Conv with respect to its input, N-D, with
/// groups, strides, dilations, output_padding, and the output size given by
/// `output_shape`, by `pads`, or by `auto_pad` (SAME_*: input · stride).
///
/// When the pads are derived (output_shape or SAME_*), the total padding
/// `stride·(in−1) + output_padding + (k−1)·dilation + 1 − out` is split with
/// the odd unit at the end for SAME_UPPER and at the start otherwise, as the
/// spec says. Reference kernel: each input element scatters through the
/// kernel into the output (col2im form), accumulating in the element type.
enum ConvTransposeOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("ConvTranspose", versions: [1, 11, 22]) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let group = try context.int("group", default: 1)
            let outputPadding = try context.ints("output_padding")
            let outputShape = try context.ints("output_shape")
            guard group >= 1 else { throw OnyxError.invalidModel("group must be at least 1, got \(group)") }
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let w = try inputs.tensor(1)
                let b = try inputs.optionalTensor(2)
                let plan = try Layout(
                    x: x.shape, w: w.shape, attributes: attributes, group: group,
                    outputPadding: outputPadding, outputShape: outputShape)
                switch x.elementType {
                case .float: return [.tensor(try plan.run(Float.self, x, w, b))]
                case .double: return [.tensor(try plan.run(Double.self, x, w, b))]
                case .float16, .bfloat16:
                    let xf = try Tensor(shape: x.shape, scalars: try x.floatValues())
                    let wf = try Tensor(shape: w.shape, scalars: try w.floatValues())
                    let bf = try b.map { try Tensor(shape: $0.shape, scalars: try $0.floatValues()) }
                    let out = try plan.run(Float.self, xf, wf, bf)
                    return [.tensor(try Tensor.fromFloats(try out.scalars(as: Float.self), shape: out.shape, as: x.elementType))]
                default:
                    throw OnyxError.wrongElementType("ConvTranspose is not defined on \(x.elementType)")
                }
            }
        }
    }

    /// Sizes and pads of one ConvTranspose call.
    struct Layout {
        let batch, channels, filters, group: Int
        let input, kernel, strides, dilations, padBegin, output: [Int]

        init(x: [Int], w: [Int], attributes: ConvGeometry.Attributes, group: Int, outputPadding: [Int]?, outputShape: [Int]?) throws {
            guard x.count >= 3, w.count == x.count else {
                throw OnyxError.shapeMismatch("ConvTranspose needs X of rank ≥ 3 and W of the same rank, got \(x) and \(w)")
            }
            let rank = x.count - 2
            batch = x[0]
            channels = x[1]
            self.group = group
            guard channels == w[0], channels % group == 0 else {
                throw OnyxError.shapeMismatch("W \(w) does not fit X with \(channels) channels in \(group) groups")
            }
            filters = w[1] * group
            input = Array(x[2...])
            kernel = attributes.kernel ?? Array(w[2...])
            guard kernel == Array(w[2...]) else { throw OnyxError.shapeMismatch("kernel_shape \(kernel) differs from W \(w)") }
            strides = attributes.strides ?? Array(repeating: 1, count: rank)
            dilations = attributes.dilations ?? Array(repeating: 1, count: rank)
            let extra = outputPadding ?? Array(repeating: 0, count: rank)
            guard strides.count == rank, dilations.count == rank, extra.count >= rank,
                  (strides + dilations + kernel).allSatisfy({ $0 >= 1 && $0 <= 1 << 31 }),
                  extra.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 })
            else { throw OnyxError.invalidModel("strides, dilations, kernel and output_padding must fit \(rank) spatial dims") }
            var begin = [Int](repeating: 0, count: rank)
            var output = [Int](repeating: 0, count: rank)
            let same = attributes.autoPad == "SAME_UPPER" || attributes.autoPad == "SAME_LOWER"
            for axis in 0..<rank {
                let full = strides[axis] * (input[axis] - 1) + extra[axis] + (kernel[axis] - 1) * dilations[axis] + 1
                if let outputShape {
                    guard outputShape.count >= rank else { throw OnyxError.invalidModel("output_shape needs \(rank) values") }
                    let target = outputShape[outputShape.count - rank + axis]
                    let total = full - target
                    begin[axis] = attributes.autoPad == "SAME_UPPER" ? floorDiv(total, 2) : total - floorDiv(total, 2)
                    output[axis] = target
                } else if same {
                    let total = full - input[axis] * strides[axis]
                    begin[axis] = attributes.autoPad == "SAME_UPPER" ? floorDiv(total, 2) : total - floorDiv(total, 2)
                    output[axis] = input[axis] * strides[axis]
                } else {
                    let pads = attributes.pads ?? Array(repeating: 0, count: 2 * rank)
                    guard pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else {
                        throw OnyxError.invalidModel("pads must have \(2 * rank) non-negative values")
                    }
                    begin[axis] = pads[axis]
                    output[axis] = full - pads[axis] - pads[axis + rank]
                }
                guard output[axis] >= 0 else { throw OnyxError.shapeMismatch("the output would have a negative size") }
            }
            padBegin = begin
            self.output = output
        }

        func run<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type, _ x: Tensor, _ w: Tensor, _ b: Tensor?) throws -> Tensor {
            let inCount = try Tensor.checkedCount(input)
            let outCount = try Tensor.checkedCount(output)
            let taps = try Tensor.checkedCount(kernel)
            _ = try TensorAllocation.checkedBytes(.int64, count: try Tensor.checkedCount([inCount, taps]))
            // Output offset of every (input position, tap); -1 outside the output.
            var scatter = [Int](repeating: -1, count: inCount * taps)
            let inStrides = Tensor.strides(input)
            let kStrides = Tensor.strides(kernel)
            let outStrides = Tensor.strides(output)
            for p in 0..<inCount {
                for t in 0..<taps {
                    var offset = 0
                    var inside = true
                    for axis in 0..<input.count {
                        let i = (p / inStrides[axis]) % input[axis]
                        let k = (t / kStrides[axis]) % kernel[axis]
                        let position = i * strides[axis] + k * dilations[axis] - padBegin[axis]
                        if position < 0 || position >= output[axis] { inside = false; break }
                        offset += position * outStrides[axis]
                    }
                    if inside { scatter[p * taps + t] = offset }
                }
            }
            if let b, b.shape != [filters] { throw OnyxError.shapeMismatch("B must have shape [\(filters)], got \(b.shape)") }
            let bias = try b?.scalars(as: T.self)
            let inPerGroup = channels / group
            let outPerGroup = filters / group
            return try Tensor.make(T.self, [batch, filters] + output) { out in
                try x.withElements(T.self) { xs in
                    try w.withElements(T.self) { ws in
                        for n in 0..<batch {
                            for f in 0..<filters {
                                let start = bias?[f] ?? 0
                                let base = (n * filters + f) * outCount
                                for o in 0..<outCount { out[base + o] = start }
                            }
                            for c in 0..<channels {
                                let g = c / inPerGroup
                                let plane = (n * channels + c) * inCount
                                for m in 0..<outPerGroup {
                                    let target = (n * filters + g * outPerGroup + m) * outCount
                                    let weights = (c * outPerGroup + m) * taps
                                    for p in 0..<inCount {
                                        let value = xs[plane + p]
                                        for t in 0..<taps {
                                            let o = scatter[p * taps + t]
                                            if o >= 0 { out[target + o] += value * ws[weights + t] }
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
}

/// Floor division (rounds toward −∞), for split padding that may be negative.
func floorDiv(_ a: Int, _ b: Int) -> Int {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
