/// Whole-tensor float32 normalizations on the row kernels of
/// ``NormalizationKernels``: rows split over threads, one output buffer per
/// call and nothing allocated per row.
extension NormalizationKernels {
    /// The float32 elements of `tensor`, repeated with period `period` to
    /// `count` values (a parameter broadcast along a row), or nil when the
    /// tensor is not float32 or `count` is not a multiple of `period`.
    static func row(_ tensor: Tensor, period: Int, count: Int) -> [Float]? {
        guard tensor.elementType == .float, period > 0, count % period == 0,
              let values = try? tensor.scalars(as: Float.self), values.count >= period
        else { return nil }
        if period == count && values.count == count { return values }
        return (0..<count).map { values[$0 % period] }
    }

    /// LayerNormalization of float32 `x` seen as `rows × columns` (both > 0),
    /// with `scale` and `bias` holding one value per column. Returns Y and,
    /// when `statistics`, the mean and `1 / sqrt(var + epsilon)` of each row.
    static func layerNorm(
        _ x: Tensor, rows: Int, columns: Int, scale: [Float], bias: [Float]?, epsilon: Double, threads: Int?,
        statistics: Bool
    ) throws -> (y: Tensor, mean: [Double], invStdDev: [Double]) {
        var means = [Double](repeating: 0, count: statistics ? rows : 0)
        var inverses = [Double](repeating: 0, count: statistics ? rows : 0)
        let y = try x.withUnsafeBufferPointer(as: Float.self) { input in
            // Every row is written below; the buffer is not zeroed first.
            try Tensor.makeOverwritten(Float.self, x.shape) { out in
                guard let xp = input.baseAddress, let yp = out.baseAddress, scale.count == columns else {
                    out.update(repeating: 0)
                    return
                }
                let parts = threadCount(rows: rows, elementsPerRow: columns, requested: threads)
                means.withUnsafeMutableBufferPointer { meanOut in
                    inverses.withUnsafeMutableBufferPointer { inverseOut in
                        scale.withUnsafeBufferPointer { sp in
                            withOptionalPointer(bias) { bp in
                                forEachRowRange(rows: rows, threads: parts) { range in
                                    for row in range {
                                        let offset = row &* columns
                                        let m = moments(xp + offset, columns)
                                        let inverse = m.inverse(epsilon: epsilon)
                                        affineRow(xp + offset, yp + offset, columns, moments: m, inverse: Float(inverse),
                                                  scale: sp.baseAddress ?? xp, bias: bp)
                                        if statistics {
                                            meanOut[row] = m.mean
                                            inverseOut[row] = inverse
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (y, means, inverses)
    }

    /// `LayerNormalization(a + b)` for float32 `a` seen as `rows × columns`
    /// and `b` repeating with period `bPeriod` elements (a multiple of
    /// `columns`; `a.count` for the same shape); also returns the sum when
    /// `wantsSum`.
    static func skipLayerNorm(
        _ a: Tensor, _ b: Tensor, bPeriod: Int, rows: Int, columns: Int, scale: [Float], bias: [Float]?, epsilon: Double,
        threads: Int?, wantsSum: Bool
    ) throws -> (y: Tensor, sum: Tensor?) {
        var sum: Tensor?
        let y = try a.withUnsafeBufferPointer(as: Float.self) { ap in
            try b.withUnsafeBufferPointer(as: Float.self) { bp in
                guard bPeriod > 0, bPeriod % max(columns, 1) == 0, bp.count >= bPeriod, ap.count % bPeriod == 0 else {
                    throw OnyxError.shapeMismatch("SkipLayerNorm input B \(b.shape) does not repeat along A \(a.shape)")
                }
                let run = { (sumOut: UnsafeMutablePointer<Float>?, yOut: UnsafeMutablePointer<Float>) in
                    guard let a0 = ap.baseAddress, let b0 = bp.baseAddress, scale.count == columns else {
                        yOut.update(repeating: 0, count: ap.count)
                        sumOut?.update(repeating: 0, count: ap.count)
                        return
                    }
                    let parts = threadCount(rows: rows, elementsPerRow: columns, requested: threads)
                    scale.withUnsafeBufferPointer { sp in
                        withOptionalPointer(bias) { biasPointer in
                            forEachRowRange(rows: rows, threads: parts) { range in
                                for row in range {
                                    let offset = row &* columns
                                    let target = (sumOut ?? yOut) + offset
                                    addRow(a0 + offset, b0 + offset % bPeriod, target, columns)
                                    let m = moments(target, columns)
                                    affineRow(target, yOut + offset, columns, moments: m,
                                              inverse: Float(m.inverse(epsilon: epsilon)),
                                              scale: sp.baseAddress ?? a0, bias: biasPointer)
                                }
                            }
                        }
                    }
                }
                if wantsSum {
                    var result: Tensor?
                    // `run` writes every element of both (rows of a.count values).
                    sum = try Tensor.makeOverwritten(Float.self, a.shape) { sumBuffer in
                        result = try Tensor.makeOverwritten(Float.self, a.shape) { out in
                            guard let s = sumBuffer.baseAddress, let o = out.baseAddress else { return }
                            run(s, o)
                        }
                    }
                    guard let result else { throw OnyxError.invalidModel("SkipLayerNorm produced no output") }
                    return result
                }
                return try Tensor.makeOverwritten(Float.self, a.shape) { out in
                    guard let o = out.baseAddress else { return }
                    run(nil, o)
                }
            }
        }
        return (y, sum)
    }

    /// Group (or instance) normalization of float32 `x` `[N, C, …]`: blocks of
    /// `C / groups` channels per sample, per-channel `scale` and `bias`
    /// (`C` values each).
    static func groupNorm(_ x: Tensor, groups: Int, scale: [Double], bias: [Double], epsilon: Double, threads: Int?) throws -> Tensor {
        let channels = x.shape[1]
        let spatial = try Tensor.checkedCount(Array(x.shape[2...]))
        guard groups > 0, channels % groups == 0, scale.count == channels, bias.count == channels else {
            throw OnyxError.shapeMismatch("\(channels) channels do not split into \(groups) groups with \(scale.count) scales")
        }
        let perGroup = channels / groups
        let block = perGroup &* spatial
        return try x.withUnsafeBufferPointer(as: Float.self) { input in
            // Every block is written below; the buffer is not zeroed first.
            try Tensor.makeOverwritten(Float.self, x.shape) { out in
                guard let xp = input.baseAddress, let yp = out.baseAddress, block > 0 else {
                    out.update(repeating: 0)
                    return
                }
                let blocks = input.count / block
                let parts = threadCount(rows: blocks, elementsPerRow: block, requested: threads)
                forEachRowRange(rows: blocks, threads: parts) { range in
                    for blockIndex in range {
                        let start = blockIndex &* block
                        let m = moments(xp + start, block)
                        let inverse = m.inverse(epsilon: epsilon)
                        let firstChannel = (blockIndex % groups) &* perGroup
                        for k in 0..<perGroup {
                            let c = firstChannel &+ k
                            let base = start &+ k &* spatial
                            channelRow(xp + base, yp + base, spatial, moments: m,
                                       a: Float(inverse * scale[c]), b: Float(bias[c]))
                        }
                    }
                }
            }
        }
    }

    /// Calls `body` with the base address of `values`, or nil when absent.
    private static func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let values else { return body(nil) }
        return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
