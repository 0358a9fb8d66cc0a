import Foundation

/// Signal-processing operators: DFT (17, 20), STFT (17); the window
/// generators and MelWeightMatrix are in `SpectralOps+Windows.swift`.
///
/// Complex values travel as a trailing dimension: size 1 for real, 2 for
/// (real, imaginary). Transforms run in Double through ``FFTPlan`` and are
/// rounded once to the input's type.
enum SpectralOps {
    static let floatTypes: [ElementType] = [.float, .double, .float16, .bfloat16]

    static func register(into registry: inout OpRegistry) {
        registry.register("DFT", versions: [17, 20]) { context in
            let inverse = try context.int("inverse", default: 0) != 0
            let onesided = try context.int("onesided", default: 0) != 0
            let axisAttribute = context.opset < 20 ? try context.int("axis", default: 1) : nil
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let length = try inputs.optionalTensor(1).map { try scalarInt($0, "dft_length") }
                let axis = try axisAttribute ?? inputs.optionalTensor(2).map { try scalarInt($0, "axis") } ?? -2
                return [.tensor(try dft(x, length: length, axis: axis, inverse: inverse, onesided: onesided))]
            }
        }
        registry.register("STFT", since: 17) { context in
            let onesided = try context.int("onesided", default: 1) != 0
            return ClosureKernel { inputs, _ in [.tensor(try stft(inputs, onesided: onesided))] }
        }
        registerWindows(into: &registry)
    }

    /// The single integer of a scalar (or one-element) integer tensor.
    static func scalarInt(_ tensor: Tensor, _ name: String) throws -> Int {
        guard tensor.elementType == .int32 || tensor.elementType == .int64, tensor.count == 1,
              let value = try tensor.int64Values().first, let result = Int(exactly: value)
        else { throw OnyxError.invalidModel("\(name) must be a scalar int32 or int64, got \(tensor)") }
        return result
    }

    /// DFT along `axis` (not the trailing complex dim). The signal is
    /// truncated or zero-padded to `dft_length` (default: the axis length,
    /// or 2·(m−1) for IRFFT). Forward + onesided keeps bins 0…⌊L/2⌋
    /// (RFFT); inverse divides by L; inverse + onesided treats the input as
    /// the non-negative half of a Hermitian spectrum (imaginary parts of
    /// the DC and, for even L, Nyquist bins ignored) and returns the real
    /// signal with a trailing dim of 1 (IRFFT).
    static func dft(_ x: Tensor, length: Int?, axis: Int, inverse: Bool, onesided: Bool) throws -> Tensor {
        guard floatTypes.contains(x.elementType) else {
            throw OnyxError.wrongElementType("DFT input must be floating point, got \(x.elementType)")
        }
        let rank = x.shape.count
        guard rank >= 2, let components = x.shape.last, components == 1 || components == 2 else {
            throw OnyxError.shapeMismatch("input must have rank ≥ 2 with a last dim of 1 or 2, got \(x.shape)")
        }
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0, resolved <= rank - 2 else {
            throw OnyxError.invalidModel("axis \(axis) is out of range [-\(rank), -2] ∪ [0, \(rank - 2)]")
        }
        let m = x.shape[resolved]
        let fftLength = length ?? (inverse && onesided ? 2 * (m - 1) : m)
        var plan = try FFTPlan(length: fftLength)
        let irfft = inverse && onesided
        let outLength = !inverse && onesided ? fftLength / 2 + 1 : fftLength
        var outShape = x.shape
        outShape[resolved] = outLength
        outShape[rank - 1] = irfft ? 1 : 2
        let outer = x.shape[..<resolved].reduce(1, *)
        let inner = x.shape[(resolved + 1)..<(rank - 1)].reduce(1, *)
        let values = try x.doubleValues()
        var out = try TensorAllocation.array(repeating: 0 as Double, shape: outShape)
        var re = [Double](repeating: 0, count: fftLength)
        var im = [Double](repeating: 0, count: fftLength)
        let outComponents = outShape[rank - 1]
        let scale = inverse ? 1 / Double(fftLength) : 1
        for o in 0..<outer {
            for i in 0..<inner {
                for k in 0..<fftLength {
                    re[k] = 0
                    im[k] = 0
                }
                let used = irfft ? min(m, fftLength / 2 + 1) : min(m, fftLength)
                for k in 0..<used {
                    let at = ((o * m + k) * inner + i) * components
                    re[k] = values[at]
                    im[k] = components == 2 ? values[at + 1] : 0
                }
                if irfft {
                    im[0] = 0
                    if fftLength % 2 == 0 { im[fftLength / 2] = 0 }
                    for k in (fftLength / 2 + 1)..<max(fftLength, fftLength / 2 + 1) {
                        re[k] = re[fftLength - k]
                        im[k] = -im[fftLength - k]
                    }
                }
                plan.transform(&re, &im, inverse: inverse)
                for k in 0..<outLength {
                    let at = ((o * outLength + k) * inner + i) * outComponents
                    out[at] = re[k] * scale
                    if outComponents == 2 { out[at + 1] = im[k] * scale }
                }
            }
        }
        return try Tensor.fromDoubles(out, shape: outShape, as: x.elementType)
    }

    /// STFT of a `[batch, length, 1|2]` signal: frames of `frame_length`
    /// (default: the window's length, else the signal's) every `frame_step`
    /// samples, `⌊(length − frame_length) / frame_step⌋ + 1` of them, each
    /// multiplied by the window (default all ones) and transformed. Output
    /// `[batch, frames, bins, 2]` with bins = ⌊frame_length/2⌋ + 1 when
    /// onesided, frame_length otherwise.
    static func stft(_ inputs: [Value?], onesided: Bool) throws -> Tensor {
        let signal = try inputs.tensor(0)
        guard floatTypes.contains(signal.elementType) else {
            throw OnyxError.wrongElementType("signal must be floating point, got \(signal.elementType)")
        }
        guard signal.shape.count == 3, signal.shape[2] == 1 || signal.shape[2] == 2 else {
            throw OnyxError.shapeMismatch("signal must be [batch, length, 1 or 2], got \(signal.shape)")
        }
        let step = try scalarInt(try inputs.tensor(1), "frame_step")
        let window = try inputs.optionalTensor(2)
        let requestedLength = try inputs.optionalTensor(3).map { try scalarInt($0, "frame_length") }
        let (batches, length, components) = (signal.shape[0], signal.shape[1], signal.shape[2])
        if let window {
            guard window.elementType == signal.elementType, window.shape.count == 1,
                  requestedLength == nil || window.shape[0] == requestedLength
            else { throw OnyxError.shapeMismatch("window must be 1-D of frame_length elements, got \(window.shape)") }
        }
        let frameLength = requestedLength ?? window?.shape[0] ?? length
        guard step >= 1, frameLength >= 1, frameLength <= length else {
            throw OnyxError.invalidModel(
                "frame_step (\(step)) must be positive and frame_length (\(frameLength)) in [1, \(length)]")
        }
        let weights = try window?.doubleValues() ?? [Double](repeating: 1, count: frameLength)
        let frames = (length - frameLength) / step + 1
        let bins = onesided ? frameLength / 2 + 1 : frameLength
        let outShape = [batches, frames, bins, 2]
        var out = try TensorAllocation.array(repeating: 0 as Double, shape: outShape)
        var plan = try FFTPlan(length: frameLength)
        let values = try signal.doubleValues()
        var re = [Double](repeating: 0, count: frameLength)
        var im = [Double](repeating: 0, count: frameLength)
        for b in 0..<batches {
            for f in 0..<frames {
                for k in 0..<frameLength {
                    let at = (b * length + f * step + k) * components
                    re[k] = values[at] * weights[k]
                    im[k] = components == 2 ? values[at + 1] * weights[k] : 0
                }
                plan.transform(&re, &im, inverse: false)
                for k in 0..<bins {
                    let at = ((b * frames + f) * bins + k) * 2
                    out[at] = re[k]
                    out[at + 1] = im[k]
                }
            }
        }
        return try Tensor.fromDoubles(out, shape: outShape, as: signal.elementType)
    }
}
