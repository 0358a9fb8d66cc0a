/// Spatial geometry shared by Conv, ConvTranspose and the pooling ops:
/// kernel, strides, dilations and pads resolved against an input shape,
/// including the `auto_pad` modes and `ceil_mode`.
struct ConvGeometry: Sendable {
    let kernel: [Int]
    let strides: [Int]
    let dilations: [Int]
    /// Leading pads per spatial axis.
    let padBegin: [Int]
    let padEnd: [Int]
    let input: [Int]
    let output: [Int]

    /// Attribute values as read from the node, before an input shape is known.
    struct Attributes: Sendable {
        var kernel: [Int]?
        var strides: [Int]?
        var dilations: [Int]?
        var pads: [Int]?
        var autoPad: String
        var ceilMode: Bool

        init(kernel: [Int]?, strides: [Int]?, dilations: [Int]?, pads: [Int]?, autoPad: String, ceilMode: Bool) {
            self.kernel = kernel
            self.strides = strides
            self.dilations = dilations
            self.pads = pads
            self.autoPad = autoPad
            self.ceilMode = ceilMode
        }

        init(_ context: OpContext, kernelAttribute: String = "kernel_shape") throws {
            kernel = try context.ints(kernelAttribute)
            strides = try context.ints("strides")
            dilations = try context.ints("dilations")
            pads = try context.ints("pads")
            autoPad = try context.string("auto_pad", default: "NOTSET")
            ceilMode = try context.int("ceil_mode", default: 0) != 0
            try context.check("auto_pad", autoPad, in: ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])
        }
    }

    /// Resolves `attributes` for spatial input dims `input`; `kernel` is the
    /// kernel size when the attribute is absent (Conv: from the weights).
    init(_ attributes: Attributes, input: [Int], kernel fallbackKernel: [Int]? = nil) throws {
        let rank = input.count
        guard let kernel = attributes.kernel ?? fallbackKernel, kernel.count == rank else {
            throw OnyxError.invalidModel("kernel_shape must have \(rank) values for \(rank) spatial dims")
        }
        let strides = attributes.strides ?? Array(repeating: 1, count: rank)
        let dilations = attributes.dilations ?? Array(repeating: 1, count: rank)
        guard strides.count == rank, dilations.count == rank,
              (strides + dilations + kernel).allSatisfy({ $0 >= 1 && $0 <= 1 << 31 })
        else {
            throw OnyxError.invalidModel("strides, dilations and kernel_shape must be positive, one per spatial dim")
        }
        var begin = [Int](repeating: 0, count: rank)
        var end = [Int](repeating: 0, count: rank)
        var output = [Int](repeating: 0, count: rank)
        for axis in 0..<rank {
            let extent = (kernel[axis] - 1) * dilations[axis] + 1
            switch attributes.autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                output[axis] = (input[axis] + strides[axis] - 1) / strides[axis]
                let total = max(0, (output[axis] - 1) * strides[axis] + extent - input[axis])
                begin[axis] = attributes.autoPad == "SAME_UPPER" ? total / 2 : (total + 1) / 2
                end[axis] = total - begin[axis]
            case "VALID":
                output[axis] = input[axis] >= extent ? (input[axis] - extent) / strides[axis] + 1 : 0
            default:
                if let pads = attributes.pads {
                    guard pads.count == 2 * rank, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else {
                        throw OnyxError.invalidModel("pads must have \(2 * rank) non-negative values")
                    }
                    begin[axis] = pads[axis]
                    end[axis] = pads[axis + rank]
                }
                let span = input[axis] + begin[axis] + end[axis] - extent
                if span < 0 {
                    output[axis] = 0
                } else if attributes.ceilMode {
                    var count = (span + strides[axis] - 1) / strides[axis] + 1
                    // A window may not start inside the end padding.
                    if (count - 1) * strides[axis] >= input[axis] + begin[axis] { count -= 1 }
                    output[axis] = count
                } else {
                    output[axis] = span / strides[axis] + 1
                }
            }
        }
        self.kernel = kernel
        self.strides = strides
        self.dilations = dilations
        self.padBegin = begin
        self.padEnd = end
        self.input = input
        self.output = output
    }

    var kernelCount: Int { kernel.reduce(1, *) }
    var outputCount: Int { output.reduce(1, *) }
    var inputCount: Int { input.reduce(1, *) }

    /// Calls `body(outputIndex, kernelIndex, inputIndex)` for every output
    /// position and kernel tap, with `inputIndex` nil where the tap falls in
    /// padding. Indices are row-major over the spatial dims.
    func forEachTap(_ body: (Int, Int, Int?) -> Void) {
        let rank = input.count
        let outStrides = Tensor.strides(output)
        let kernelStrides = Tensor.strides(kernel)
        let inStrides = Tensor.strides(input)
        var outPosition = [Int](repeating: 0, count: rank)
        for out in 0..<outputCount {
            var rest = out
            for axis in 0..<rank {
                outPosition[axis] = rest / max(outStrides[axis], 1)
                rest -= outPosition[axis] * outStrides[axis]
            }
            for tap in 0..<kernelCount {
                var remaining = tap
                var offset = 0
                var inside = true
                for axis in 0..<rank {
                    let k = remaining / max(kernelStrides[axis], 1)
                    remaining -= k * kernelStrides[axis]
                    let position = outPosition[axis] * strides[axis] + k * dilations[axis] - padBegin[axis]
                    if position < 0 || position >= input[axis] {
                        inside = false
                        break
                    }
                    offset += position * inStrides[axis]
                }
                body(out, tap, inside ? offset : nil)
            }
        }
    }
}
