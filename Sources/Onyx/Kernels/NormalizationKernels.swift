/// Float32 kernels for the normalization operators (LayerNormalization,
/// InstanceNormalization, GroupNormalization and the fused `ai.onyx`
/// LayerNormalization, SkipLayerNorm and GroupNorm).
///
/// Each row (LayerNorm) or (sample, group) block (Instance/GroupNorm) is
/// contiguous and handled by one thread, in a fixed order, so results are
/// bitwise identical for any thread count. Per row:
///
/// 1. statistics: the sum of `x − x₀` (a pivot, so large means do not
///    swamp the spread), then the sums of `d` and `d²` for
///    `d = x − mean`, with the mean's Float rounding error carried as a
///    second Float term. Both passes accumulate 16 lanes of Float over
///    chunks of at most ``chunk`` elements and add the chunks in Double;
///    the second pass corrects the mean by `Σd / n` (the corrected
///    two-pass algorithm), so the variance never suffers the cancellation
///    of `E[x²] − E[x]²`;
/// 2. the affine map `y = d · inv · scale + bias` in Float.
///
/// Both stages are SIMD loops over the row (vector instructions; no
/// allocation or dynamic dispatch per row). Large tensors split their rows
/// over threads (``RunOptions/threads``, one per active core by default).
enum NormalizationKernels {
    /// Elements in one Float partial sum before it is added in Double.
    static let chunk = 256
    /// Least elements worth giving one thread (about 10 µs of work).
    static let minimumElementsPerThread = 1 << 15

    typealias Vector = SIMD8<Float>

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Vector {
        UnsafeRawPointer(p + i).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    private static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Vector.self)
    }

    @inline(__always)
    private static func widenedSum(_ v: Vector) -> Double {
        var total = 0.0
        for lane in 0..<Vector.scalarCount { total += Double(v[lane]) }
        return total
    }

    /// `Σ (p[i] − shift)` over `n` elements.
    private static func shiftedSum(_ p: UnsafePointer<Float>, _ n: Int, shift: Float) -> Double {
        let s = Vector(repeating: shift)
        var total = 0.0
        var i = 0
        while i + Vector.scalarCount <= n {
            let end = min(n, i + chunk)
            var a0 = Vector(), a1 = Vector()
            while i + 2 * Vector.scalarCount <= end {
                a0 += load(p, i) - s
                a1 += load(p, i + Vector.scalarCount) - s
                i += 2 * Vector.scalarCount
            }
            if i + Vector.scalarCount <= end {
                a0 += load(p, i) - s
                i += Vector.scalarCount
            }
            total += widenedSum(a0 + a1)
        }
        while i < n {
            total += Double(p[i] - shift)
            i += 1
        }
        return total
    }

    /// `(Σ d, Σ d²)` for `d = (p[i] − hi) − lo` over `n` elements.
    private static func centeredSums(_ p: UnsafePointer<Float>, _ n: Int, hi: Float, lo: Float) -> (Double, Double) {
        let h = Vector(repeating: hi), l = Vector(repeating: lo)
        var sum = 0.0, squares = 0.0
        var i = 0
        while i + Vector.scalarCount <= n {
            let end = min(n, i + chunk)
            var s0 = Vector(), s1 = Vector(), q0 = Vector(), q1 = Vector()
            while i + 2 * Vector.scalarCount <= end {
                let d0 = (load(p, i) - h) - l
                let d1 = (load(p, i + Vector.scalarCount) - h) - l
                s0 += d0
                s1 += d1
                q0 += d0 * d0
                q1 += d1 * d1
                i += 2 * Vector.scalarCount
            }
            if i + Vector.scalarCount <= end {
                let d0 = (load(p, i) - h) - l
                s0 += d0
                q0 += d0 * d0
                i += Vector.scalarCount
            }
            sum += widenedSum(s0 + s1)
            squares += widenedSum(q0 + q1)
        }
        while i < n {
            let d = (p[i] - hi) - lo
            sum += Double(d)
            squares += Double(d * d)
            i += 1
        }
        return (sum, squares)
    }

    /// The statistics of one row or block: its mean (split in a Float
    /// `hi + lo` pair for the affine stage) and `1 / sqrt(var + epsilon)`.
    struct Moments {
        var mean: Double
        var variance: Double
        var hi: Float
        var lo: Float

        func inverse(epsilon: Double) -> Double { 1 / (variance + epsilon).squareRoot() }
    }

    /// Mean and population variance of the `n > 0` floats at `p`.
    static func moments(_ p: UnsafePointer<Float>, _ n: Int) -> Moments {
        let count = Double(n)
        let pivot = p[0]
        var mean = Double(pivot) + shiftedSum(p, n, shift: pivot) / count
        var hi = Float(mean)
        var lo = Float(mean - Double(hi))
        let (sum, squares) = centeredSums(p, n, hi: hi, lo: lo)
        let correction = sum / count
        mean += correction
        hi = Float(mean)
        lo = Float(mean - Double(hi))
        return Moments(mean: mean, variance: max(squares / count - correction * correction, 0), hi: hi, lo: lo)
    }

    /// `y[j] = ((x[j] − hi) − lo) · inverse · scale[j] + bias[j]` for `j < n`
    /// (bias nil: no shift). `x` and `y` may be the same row.
    static func affineRow(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, moments m: Moments, inverse: Float,
        scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?
    ) {
        let h = Vector(repeating: m.hi), l = Vector(repeating: m.lo), v = Vector(repeating: inverse)
        var j = 0
        if let bias {
            while j + Vector.scalarCount <= n {
                store(((load(x, j) - h) - l) * v * load(scale, j) + load(bias, j), y, j)
                j += Vector.scalarCount
            }
            while j < n {
                y[j] = ((x[j] - m.hi) - m.lo) * inverse * scale[j] + bias[j]
                j += 1
            }
        } else {
            while j + Vector.scalarCount <= n {
                store(((load(x, j) - h) - l) * v * load(scale, j), y, j)
                j += Vector.scalarCount
            }
            while j < n {
                y[j] = ((x[j] - m.hi) - m.lo) * inverse * scale[j]
                j += 1
            }
        }
    }

    /// `y[j] = ((x[j] − hi) − lo) · a + b` for `j < n`: one channel of a
    /// group block, with `a = inverse · scale[c]` and `b = bias[c]`.
    static func channelRow(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int, moments m: Moments, a: Float, b: Float
    ) {
        let h = Vector(repeating: m.hi), l = Vector(repeating: m.lo)
        let av = Vector(repeating: a), bv = Vector(repeating: b)
        var j = 0
        while j + Vector.scalarCount <= n {
            store(((load(x, j) - h) - l) * av + bv, y, j)
            j += Vector.scalarCount
        }
        while j < n {
            y[j] = ((x[j] - m.hi) - m.lo) * a + b
            j += 1
        }
    }

    /// `y[j] = a[j] + b[j]` for `j < n`.
    static func addRow(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        while j + Vector.scalarCount <= n {
            store(load(a, j) + load(b, j), y, j)
            j += Vector.scalarCount
        }
        while j < n {
            y[j] = a[j] + b[j]
            j += 1
        }
    }

    /// Threads for `rows` rows of `elementsPerRow` elements when `requested` are allowed.
    static func threadCount(rows: Int, elementsPerRow: Int, requested: Int?) -> Int {
        let allowed = min(max(requested ?? Gemm.activeCores, 1), Gemm.activeCores)
        let work = Gemm.saturatingProduct(rows, max(elementsPerRow, 1))
        return max(1, min(allowed, rows, work / minimumElementsPerThread))
    }

    /// Calls `body(rows)` on disjoint ranges covering `0..<rows`, on up to
    /// `threads` threads; each row is in exactly one range.
    static func forEachRowRange(rows: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        guard threads > 1, rows > 1 else {
            body(0..<rows)
            return
        }
        let parts = min(rows, threads)
        Gemm.parallelFor(parts) { part in
            body((rows &* part / parts)..<(rows &* (part &+ 1) / parts))
        }
    }
}
