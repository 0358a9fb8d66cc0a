import Foundation

struct RoiAlignSettings: Sendable {
    let maxMode: Bool
    let halfPixel: Bool
    let outputHeight: Int
    let outputWidth: Int
    let samplingRatio: Int
    let spatialScale: Float
}

extension DetectionOps {
    /// RoiAlign: each RoI `(x1, y1, x2, y2)` (scaled by `spatial_scale`,
    /// shifted by −0.5 under `half_pixel`) is split into
    /// `output_height × output_width` bins; each bin samples a regular grid
    /// (`sampling_ratio` per side, or `ceil(bin size)` when 0) by bilinear
    /// interpolation, then averages (`avg`) or takes the maximum (`max`).
    ///
    /// Follows the ONNX reference (and onnxruntime) exactly: without
    /// half_pixel, RoIs are at least 1×1; samples beyond one pixel outside
    /// the map contribute 0; `max` mode takes the largest of the four
    /// *weighted* corner terms, not the interpolated value. Opset 10 has no
    /// coordinate_transformation_mode and behaves as `output_half_pixel`.
    /// Geometry runs in the input's precision (Float for float / float16 /
    /// bfloat16, Double for double), as the reference does.
    static func roiAlign(_ inputs: [Value?], _ settings: RoiAlignSettings) throws -> Tensor {
        let x = try inputs.tensor(0)
        let rois = try inputs.tensor(1)
        let batchIndices = try inputs.tensor(2)
        guard [.float, .double, .float16, .bfloat16].contains(x.elementType), rois.elementType == x.elementType else {
            throw OnyxError.wrongElementType("X and rois must share a floating-point type, got \(x.elementType), \(rois.elementType)")
        }
        guard x.shape.count == 4, rois.shape.count == 2, rois.shape[1] == 4,
              batchIndices.shape == [rois.shape[0]]
        else {
            throw OnyxError.shapeMismatch(
                "X must be [N, C, H, W], rois [R, 4], batch_indices [R]; got \(x.shape), \(rois.shape), \(batchIndices.shape)")
        }
        let batches = try batchIndices.int64Values()
        for b in batches where b < 0 || b >= Int64(x.shape[0]) {
            throw OnyxError.invalidModel("batch index \(b) is outside [0, \(x.shape[0]))")
        }
        let outShape = [rois.shape[0], x.shape[1], settings.outputHeight, settings.outputWidth]
        guard x.shape[2] > 0 && x.shape[3] > 0 || batches.isEmpty || x.shape[1] == 0 else {
            throw OnyxError.shapeMismatch("RoiAlign needs a non-empty feature map, got \(x.shape)")
        }
        if x.elementType == .double {
            let out = try RoiAlignKernel<Double>(settings: settings, shape: x.shape)
                .run(data: try x.doubleValues(), rois: try rois.doubleValues(), batches: batches, outShape: outShape)
            return try Tensor.fromDoubles(out, shape: outShape, as: x.elementType)
        }
        let out = try RoiAlignKernel<Float>(settings: settings, shape: x.shape)
            .run(data: try x.floatValues(), rois: try rois.floatValues(), batches: batches, outShape: outShape)
        return try Tensor.fromFloats(out, shape: outShape, as: x.elementType)
    }
}

/// One bilinear sample: four flat offsets into a plane and their weights.
private struct BilinearTap<T> {
    var offsets: (Int, Int, Int, Int)
    var weights: (T, T, T, T)
}

private struct RoiAlignKernel<T: BinaryFloatingPoint> {
    let settings: RoiAlignSettings
    let channels: Int
    let height: Int
    let width: Int

    init(settings: RoiAlignSettings, shape: [Int]) throws {
        self.settings = settings
        (channels, height, width) = (shape[1], shape[2], shape[3])
    }

    func run(data: [T], rois: [T], batches: [Int64], outShape: [Int]) throws -> [T] {
        let (pooledH, pooledW) = (settings.outputHeight, settings.outputWidth)
        let (bins, binsOverflow) = pooledH.multipliedReportingOverflow(by: pooledW)
        guard !binsOverflow else { throw OnyxError.resourceLimit("output_height × output_width overflows") }
        var out = try TensorAllocation.array(repeating: 0 as T, shape: outShape)
        let offset: T = settings.halfPixel ? 0.5 : 0
        let scale = T(settings.spatialScale)
        var taps: [BilinearTap<T>] = []
        for r in 0..<batches.count {
            let startW = rois[r * 4] * scale - offset
            let startH = rois[r * 4 + 1] * scale - offset
            var roiW = rois[r * 4 + 2] * scale - offset - startW
            var roiH = rois[r * 4 + 3] * scale - offset - startH
            if !settings.halfPixel {
                roiW = max(roiW, 1)
                roiH = max(roiH, 1)
            }
            let binH = roiH / T(pooledH)
            let binW = roiW / T(pooledW)
            let gridH = try gridSize(binH)
            let gridW = try gridSize(binW)
            let samples = max(gridH * gridW, 1)
            let (tapCount, overflow) = (gridH * gridW).multipliedReportingOverflow(by: bins)
            guard !overflow else { throw OnyxError.resourceLimit("RoiAlign sampling grid is too large") }
            _ = try TensorAllocation.checkedBytes(.double, count: tapCount &* 5)
            taps.removeAll(keepingCapacity: true)
            for ph in 0..<pooledH {
                for pw in 0..<pooledW {
                    for iy in 0..<gridH {
                        let y = startH + T(ph) * binH + (T(iy) + 0.5) * binH / T(gridH)
                        for ix in 0..<gridW {
                            let x = startW + T(pw) * binW + (T(ix) + 0.5) * binW / T(gridW)
                            taps.append(tap(y: y, x: x))
                        }
                    }
                }
            }
            let batch = Int(batches[r])
            for c in 0..<channels {
                let plane = (batch * channels + c) * height * width
                let outBase = (r * channels + c) * pooledH * pooledW
                var index = 0
                for bin in 0..<bins {
                    var value: T = 0
                    for sample in 0..<(gridH * gridW) {
                        let t = taps[index]
                        index += 1
                        let a = t.weights.0 * data[plane + t.offsets.0]
                        let b = t.weights.1 * data[plane + t.offsets.1]
                        let cc = t.weights.2 * data[plane + t.offsets.2]
                        let d = t.weights.3 * data[plane + t.offsets.3]
                        if settings.maxMode {
                            let m = max(max(a, b), max(cc, d))
                            value = sample == 0 ? m : max(value, m)
                        } else {
                            value += a + b + cc + d
                        }
                    }
                    out[outBase + bin] = settings.maxMode ? value : value / T(samples)
                }
            }
        }
        return out
    }

    /// Samples per bin side: `sampling_ratio`, or ceil(bin size) (≥ 0).
    private func gridSize(_ bin: T) throws -> Int {
        if settings.samplingRatio > 0 { return settings.samplingRatio }
        let size = bin.rounded(.up)
        guard !size.isNaN, size != .infinity else { throw OnyxError.invalidModel("RoI size is not finite") }
        guard size > 0 else { return 0 }
        guard size <= T(1 << 24) else { throw OnyxError.resourceLimit("RoI bin of \(size) samples per side is too large") }
        return Int(size)
    }

    private func tap(y yIn: T, x xIn: T) -> BilinearTap<T> {
        guard yIn.isFinite, xIn.isFinite, yIn >= -1, yIn <= T(height), xIn >= -1, xIn <= T(width) else {
            return BilinearTap(offsets: (0, 0, 0, 0), weights: (0, 0, 0, 0))
        }
        var y = max(yIn, 0)
        var x = max(xIn, 0)
        var yLow = Int(y)
        var xLow = Int(x)
        let yHigh: Int
        let xHigh: Int
        if yLow >= height - 1 {
            yLow = height - 1
            yHigh = yLow
            y = T(yLow)
        } else {
            yHigh = yLow + 1
        }
        if xLow >= width - 1 {
            xLow = width - 1
            xHigh = xLow
            x = T(xLow)
        } else {
            xHigh = xLow + 1
        }
        let ly = y - T(yLow)
        let lx = x - T(xLow)
        let hy = 1 - ly
        let hx = 1 - lx
        return BilinearTap(
            offsets: (yLow * width + xLow, yLow * width + xHigh, yHigh * width + xLow, yHigh * width + xHigh),
            weights: (hy * hx, hy * lx, ly * hx, ly * lx))
    }
}
