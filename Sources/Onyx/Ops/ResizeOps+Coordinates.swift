/// How an output coordinate maps back into the input along one axis.
enum ResizeCoordinateMode: String, Sendable {
    case halfPixel = "half_pixel"
    case halfPixelSymmetric = "half_pixel_symmetric"
    case pytorchHalfPixel = "pytorch_half_pixel"
    case alignCorners = "align_corners"
    case asymmetric
    case tfHalfPixelForNN = "tf_half_pixel_for_nn"
    case tfCropAndResize = "tf_crop_and_resize"
}

/// How nearest mode picks a neighbor; `legacy` is Upsample / Resize-10
/// (no `nearest_mode` yet): floor when upsampling, ceil when downsampling.
enum ResizeNearestMode: String, Sendable {
    case roundPreferFloor = "round_prefer_floor"
    case roundPreferCeil = "round_prefer_ceil"
    case floor
    case ceil
    case legacy
}

enum ResizeMode: String, Sendable {
    case nearest, linear, cubic
}

/// One resized axis: its lengths, scale and region of interest.
struct ResizeAxis {
    var axis: Int
    var inLength: Int
    var outLength: Int
    var scale: Double
    var roiStart: Double = 0
    var roiEnd: Double = 1
    /// The ROI arrived as float32, whose arithmetic the reference keeps.
    var roiSingle = false

    /// `output_width` of the spec: the possibly fractional target length.
    var outWidth: Double { scale * Double(inLength) }

    /// The input coordinate of output index `y`, in the reference's order of operations.
    func source(_ y: Int, _ mode: ResizeCoordinateMode) -> Double {
        let y = Double(y)
        let inLength = Double(self.inLength)
        switch mode {
        case .alignCorners:
            return outWidth == 1 ? 0 : y * (inLength - 1) / (outWidth - 1)
        case .asymmetric:
            return y / scale
        case .tfCropAndResize:
            let width = roiSingle ? Double(Float(roiEnd) - Float(roiStart)) : roiEnd - roiStart
            let start = roiSingle ? Double(Float(roiStart) * Float(inLength - 1)) : roiStart * (inLength - 1)
            let x = outWidth == 1 ? width * (inLength - 1) / 2 : y * width * (inLength - 1) / (outWidth - 1)
            return x + start
        case .pytorchHalfPixel:
            return outLength > 1 ? (y + 0.5) / scale - 0.5 : 0
        case .halfPixel:
            return (y + 0.5) / scale - 0.5
        case .halfPixelSymmetric:
            let adjustment = Double(outLength) / outWidth
            let offset = inLength / 2 * (1 - adjustment)
            return offset + (y + 0.5) / scale - 0.5
        case .tfHalfPixelForNN:
            return (y + 0.5) / scale
        }
    }
}

/// The 1-D resampling of one axis: for each output index, `taps` input
/// indices (already clamped to the axis, i.e. edge padding) and weights, and
/// whether the position lies outside a tf_crop_and_resize region. Nearest
/// mode has one tap; its index is -1 (a zero) where `exclude_outside` drops
/// a neighbor beyond the axis, as the reference's renormalization does.
struct ResizeAxisKernel {
    let taps: Int
    var indices: [Int]
    var weights: [Double]
    var extrapolated: [Bool]

    /// Builds the kernel as ONNX's reference does: `x = source(y)`, the
    /// filter evaluated at `ratio = x - floor(x)` (1 for an integral `x`), the
    /// taps a window of the `taps` indices nearest to `x` (ties to the lower),
    /// located like the reference through `x + taps/2`, whose rounding can
    /// shift the window by one against the ratio when `x` lies within an ulp
    /// above an integer. Nearest mode picks within a two-tap window.
    init(_ axis: ResizeAxis, _ settings: ResizeSettings) throws {
        let scale = min(axis.scale, 1)
        switch (settings.mode, settings.antialias) {
        case (.nearest, _): taps = 1
        case (.linear, false): taps = 2
        case (.cubic, false): taps = 4
        case (.linear, true): taps = try Self.antialiasTaps(reach: 1, scale)
        case (.cubic, true): taps = try Self.antialiasTaps(reach: 2, scale)
        }
        let (total, overflow) = taps.multipliedReportingOverflow(by: axis.outLength)
        guard !overflow else { throw OnyxError.resourceLimit("resize kernel of \(taps) taps is too large") }
        _ = try TensorAllocation.checkedBytes(.double, count: total)
        indices = [Int](repeating: 0, count: total)
        weights = [Double](repeating: 0, count: total)
        extrapolated = [Bool](repeating: false, count: axis.outLength)
        let last = axis.inLength - 1
        var coefficients = [Double](repeating: 0, count: taps)
        for y in 0..<axis.outLength {
            let x = axis.source(y, settings.coordinateMode)
            if settings.coordinateMode == .tfCropAndResize, !(x >= 0 && x <= Double(last)) {
                extrapolated[y] = true
                continue
            }
            let bounded = x.isNaN ? 0 : min(max(x, -1e15), 1e15)
            let base = bounded.rounded(.down)
            let ratio = bounded == base ? 1 : bounded - base
            let half = max(taps / 2, 1)
            let padded = bounded + Double(half)
            let paddedBase = padded.rounded(.down)
            let first = Int(paddedBase) &- half &- (padded == paddedBase ? half : half &- 1)
            if settings.mode == .nearest {
                let index = Self.nearest(x: bounded, first: first, ratio: ratio, axis, settings)
                let outside = index < 0 || index > last
                indices[y] = settings.excludeOutside && outside ? -1 : min(max(index, 0), last)
                weights[y] = 1
                continue
            }
            fillCoefficients(&coefficients, ratio: ratio, scale: scale, settings)
            if settings.excludeOutside {
                var sum = 0.0
                for k in 0..<taps {
                    let index = first &+ k
                    if index < 0 || index > last { coefficients[k] = 0 }
                    sum += coefficients[k]
                }
                if sum == 0 { sum = 1 }
                for k in 0..<taps { coefficients[k] /= sum }
            }
            for k in 0..<taps {
                indices[y &* taps &+ k] = min(max(first &+ k, 0), last)
                weights[y &* taps &+ k] = coefficients[k]
            }
        }
    }

    private static func antialiasTaps(reach: Double, _ scale: Double) throws -> Int {
        let start = (-reach / scale).rounded(.down) + 1
        guard start.isFinite, start > -1e9, let first = Int(exactly: start) else {
            throw OnyxError.resourceLimit("antialias filter for scale \(scale) is too wide")
        }
        return 2 &- 2 &* first
    }

    /// Nearest mode's pick within the reference's two-tap window at `first`.
    private static func nearest(x: Double, first: Int, ratio: Double, _ axis: ResizeAxis, _ settings: ResizeSettings) -> Int {
        let upper: Bool
        switch settings.nearestMode {
        case .roundPreferFloor: upper = ratio > 0.5
        case .roundPreferCeil: upper = ratio >= 0.5
        case .floor: upper = ratio == 1
        case .ceil: upper = true
        case .legacy: return Int(axis.scale < 1 ? x.rounded(.up) : x.rounded(.down))
        }
        return upper ? first &+ 1 : first
    }

    private func fillCoefficients(_ c: inout [Double], ratio r: Double, scale: Double, _ settings: ResizeSettings) {
        let a = settings.cubicA
        switch (settings.mode, settings.antialias) {
        case (.linear, false):
            c[0] = 1 - r
            c[1] = r
        case (.cubic, false):
            c[0] = ((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a
            c[1] = ((a + 2) * r - (a + 3)) * r * r + 1
            c[2] = ((a + 2) * (1 - r) - (a + 3)) * (1 - r) * (1 - r) + 1
            c[3] = ((a * ((1 - r) + 1) - 5 * a) * ((1 - r) + 1) + 8 * a) * ((1 - r) + 1) - 4 * a
        case (.linear, true):
            let start = 1 - taps / 2
            var sum = 0.0
            for k in 0..<taps {
                c[k] = min(max(1 - abs((Double(start &+ k) - r) * scale), 0), 1)
                sum += c[k]
            }
            for k in 0..<taps { c[k] /= sum }
        case (.cubic, true):
            let start = 1 - taps / 2
            var sum = 0.0
            for k in 0..<taps {
                let x = abs(scale * (Double(start &+ k) - r))
                let x2 = x * x
                let x3 = x * x2
                if x <= 1 {
                    c[k] = (a + 2) * x3 - (a + 3) * x2 + 1
                } else if x < 2 {
                    c[k] = a * x3 - 5 * a * x2 + 8 * a * x - 4 * a
                } else {
                    c[k] = 0
                }
                sum += c[k]
            }
            for k in 0..<taps { c[k] /= sum }
        case (.nearest, _):
            break
        }
    }

    /// Resamples `data` (of `shape`) along `axis` into a new buffer.
    func apply(_ data: [Double], shape: [Int], axis: Int, outLength: Int, extrapolation: Double) throws -> [Double] {
        let outer = shape[..<axis].reduce(1, &*)
        let inner = shape[(axis + 1)...].reduce(1, &*)
        let inLength = shape[axis]
        let count = try Tensor.checkedCount([outer, outLength, inner])
        _ = try TensorAllocation.checkedBytes(.double, count: count)
        var result = [Double](repeating: 0, count: count)
        data.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { out in
                for o in 0..<outer {
                    for y in 0..<outLength {
                        let target = (o &* outLength &+ y) &* inner
                        if extrapolated[y] {
                            for i in 0..<inner { out[target &+ i] = extrapolation }
                            continue
                        }
                        for k in 0..<taps {
                            let weight = weights[y &* taps &+ k]
                            let from = (o &* inLength &+ indices[y &* taps &+ k]) &* inner
                            for i in 0..<inner { out[target &+ i] += weight * source[from &+ i] }
                        }
                    }
                }
            }
        }
        return result
    }
}
