import Foundation

extension SpectralOps {
    /// Element types `output_datatype` may name for the generators.
    static let generatorTypes: [ElementType] = [
        .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64, .float16, .float, .double, .bfloat16,
    ]

    static func registerWindows(into registry: inout OpRegistry) {
        let windows: [(String, Double, Double, Double)] = [
            ("HannWindow", 0.5, 0.5, 0),
            ("HammingWindow", 25.0 / 46.0, 21.0 / 46.0, 0),
            ("BlackmanWindow", 0.42, 0.5, 0.08),
        ]
        for (name, a0, a1, a2) in windows {
            registry.register(name, since: 17) { context in
                let periodic = try context.int("periodic", default: 1) != 0
                let type = try outputType(context)
                return ClosureKernel { inputs, _ in
                    let size = try scalarInt(try inputs.tensor(0), "size")
                    return [.tensor(try window(size: size, periodic: periodic, a0, a1, a2, as: type))]
                }
            }
        }
        registry.register("MelWeightMatrix", since: 17) { context in
            let type = try outputType(context)
            return ClosureKernel { inputs, _ in [.tensor(try melWeightMatrix(inputs, as: type))] }
        }
    }

    static func outputType(_ context: OpContext) throws -> ElementType {
        let code = try context.int("output_datatype", default: 1)
        guard let raw = Int32(exactly: code), let type = ElementType(rawValue: raw), generatorTypes.contains(type) else {
            throw OnyxError.invalidModel("output_datatype \(code) is not a supported numeric type")
        }
        return type
    }

    /// The generalized cosine window `a0 − a1·cos(2πn/N) + a2·cos(4πn/N)`
    /// for n in 0..<size, with N = size when periodic, size − 1 when
    /// symmetric (size 1 symmetric gives 0/0 = NaN, as the function body
    /// does). Computed in Double and cast to `output_datatype` (integer
    /// types truncate, as Cast does).
    static func window(size: Int, periodic: Bool, _ a0: Double, _ a1: Double, _ a2: Double, as type: ElementType) throws
        -> Tensor
    {
        guard size >= 0 else { throw OnyxError.invalidModel("window size must be non-negative, got \(size)") }
        _ = try TensorAllocation.checkedBytes(.double, count: size)
        let period = Double(periodic ? size : size - 1)
        let values = (0..<size).map { n -> Double in
            let angle = 2 * Double.pi * Double(n) / period
            return a0 - a1 * cos(angle) + a2 * cos(2 * angle)
        }
        return try Tensor.fromDoubles(values, shape: [size], as: type)
    }

    /// MelWeightMatrix `[dft_length/2 + 1, num_mel_bins]` of triangular
    /// filters peaking at 1, following the ONNX reference step by step:
    /// `num_mel_bins + 2` points evenly spaced on the mel scale
    /// `2595·log10(1 + f/700)` between the edges (the edges and the step
    /// computed in the edge tensors' precision), mapped back to Hz and to
    /// spectrogram bins `⌊(dft_length + 1)·f / sample_rate⌋`. A filter with a
    /// zero-width left half is 1 at its centre. Bin indices outside the
    /// spectrogram are an error.
    static func melWeightMatrix(_ inputs: [Value?], as type: ElementType) throws -> Tensor {
        let melBins = try scalarInt(try inputs.tensor(0), "num_mel_bins")
        let dftLength = try scalarInt(try inputs.tensor(1), "dft_length")
        let sampleRate = try scalarInt(try inputs.tensor(2), "sample_rate")
        let lowerTensor = try inputs.tensor(3)
        let upperTensor = try inputs.tensor(4)
        guard floatTypes.contains(lowerTensor.elementType), upperTensor.elementType == lowerTensor.elementType,
              lowerTensor.count == 1, upperTensor.count == 1,
              let lower = try lowerTensor.doubleValues().first, let upper = try upperTensor.doubleValues().first
        else { throw OnyxError.invalidModel("lower_edge_hertz and upper_edge_hertz must be floating-point scalars") }
        guard (1...(1 << 30)).contains(melBins), (1...(1 << 40)).contains(dftLength), sampleRate >= 1 else {
            throw OnyxError.invalidModel("num_mel_bins, dft_length and sample_rate must be positive")
        }
        let spectrogramBins = dftLength / 2 + 1
        let outCount = try Tensor.checkedCount([spectrogramBins, melBins])
        _ = try TensorAllocation.checkedBytes(.double, count: outCount)
        let points = melBins + 2
        let lowMel: Double
        let melStep: Double
        if lowerTensor.elementType == .double {
            lowMel = 2595 * log1p(lower / 700) / log(10.0)
            melStep = (2595 * log1p(upper / 700) / log(10.0) - lowMel) / Double(points)
        } else {
            let low = 2595 * log1p(Float(lower) / 700) / Float(log(10.0))
            let high = 2595 * log1p(Float(upper) / 700) / Float(log(10.0))
            lowMel = Double(low)
            melStep = Double((high - low) / Float(points))
        }
        var edges = [Int](repeating: 0, count: points)
        for i in 0..<points {
            let hertz = 700 * expm1((Double(i) * melStep + lowMel) / 2595 * log(10.0))
            let bin = (Double(dftLength + 1) * hertz / Double(sampleRate)).rounded(.down)
            guard bin >= 0, bin < Double(spectrogramBins) else {
                throw OnyxError.invalidModel("mel edge \(hertz) Hz falls outside the \(spectrogramBins) spectrogram bins")
            }
            edges[i] = Int(bin)
        }
        var out = [Double](repeating: 0, count: outCount)
        for i in 0..<melBins {
            let (left, center, right) = (edges[i], edges[i + 1], edges[i + 2])
            if center == left {
                out[center * melBins + i] = 1
            } else if center > left {
                for j in left...center { out[j * melBins + i] = Double(j - left) / Double(center - left) }
            }
            if right > center {
                for j in center..<right { out[j * melBins + i] = Double(right - j) / Double(right - center) }
            }
        }
        return try Tensor.fromDoubles(out, shape: [spectrogramBins, melBins], as: type)
    }
}
