import Foundation

/// An unnormalized complex discrete Fourier transform of one length, in
/// O(n log n) for every n: iterative radix-2 for powers of two, Bluestein's
/// chirp-z algorithm (a power-of-two convolution) otherwise. Holds scratch
/// buffers, so one plan serves many transforms of the same length.
struct FFTPlan {
    let length: Int
    private let size: Int
    private let cosines: [Double]
    private let sines: [Double]
    /// Bluestein: the chirp `exp(-iπk²/n)` and the transformed conjugate chirp filter.
    private var chirpRe: [Double] = []
    private var chirpIm: [Double] = []
    private var filterRe: [Double] = []
    private var filterIm: [Double] = []
    private var workRe: [Double] = []
    private var workIm: [Double] = []

    init(length: Int) throws {
        guard length >= 1 else { throw OnyxError.invalidModel("DFT length must be positive, got \(length)") }
        // Checked before 2 · length - 1 below can overflow.
        guard length <= 1 << 40 else { throw OnyxError.resourceLimit("DFT length \(length) is too large") }
        self.length = length
        let isPowerOfTwo = length & (length - 1) == 0
        var size = 1
        let needed = isPowerOfTwo ? length : 2 * length - 1
        while size < needed {
            guard size < 1 << 40 else { throw OnyxError.resourceLimit("DFT length \(length) is too large") }
            size <<= 1
        }
        _ = try TensorAllocation.checkedBytes(.double, count: size * (isPowerOfTwo ? 1 : 6))
        self.size = size
        let half = max(size / 2, 1)
        cosines = (0..<half).map { cos(2 * Double.pi * Double($0) / Double(size)) }
        sines = (0..<half).map { sin(2 * Double.pi * Double($0) / Double(size)) }
        if !isPowerOfTwo {
            let twoN = 2 * length
            chirpRe = [Double](repeating: 0, count: length)
            chirpIm = [Double](repeating: 0, count: length)
            filterRe = [Double](repeating: 0, count: size)
            filterIm = [Double](repeating: 0, count: size)
            var square = 0
            for k in 0..<length {
                let angle = Double.pi * Double(square) / Double(length)
                square = (square + 2 * k + 1) % twoN
                chirpRe[k] = cos(angle)
                chirpIm[k] = -sin(angle)
                filterRe[k] = chirpRe[k]
                filterIm[k] = -chirpIm[k]
                if k > 0 {
                    filterRe[size - k] = chirpRe[k]
                    filterIm[size - k] = -chirpIm[k]
                }
            }
            radix2(&filterRe, &filterIm, inverse: false)
            workRe = [Double](repeating: 0, count: size)
            workIm = [Double](repeating: 0, count: size)
        }
    }

    /// Transforms `re`/`im` (each `length` long) in place:
    /// `X[k] = Σ x[n]·exp(∓2πi·kn/N)` (minus for forward), without 1/N.
    mutating func transform(_ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        if size == length {
            radix2(&re, &im, inverse: inverse)
            return
        }
        let sign: Double = inverse ? -1 : 1
        for k in 0..<size {
            if k < length {
                let (xr, xi) = (re[k], sign * im[k])
                workRe[k] = xr * chirpRe[k] - xi * chirpIm[k]
                workIm[k] = xr * chirpIm[k] + xi * chirpRe[k]
            } else {
                workRe[k] = 0
                workIm[k] = 0
            }
        }
        radix2(&workRe, &workIm, inverse: false)
        for k in 0..<size {
            let (ar, ai) = (workRe[k], workIm[k])
            workRe[k] = ar * filterRe[k] - ai * filterIm[k]
            workIm[k] = ar * filterIm[k] + ai * filterRe[k]
        }
        radix2(&workRe, &workIm, inverse: true)
        let scale = 1 / Double(size)
        for k in 0..<length {
            let (yr, yi) = (workRe[k] * scale, workIm[k] * scale)
            re[k] = yr * chirpRe[k] - yi * chirpIm[k]
            im[k] = sign * (yr * chirpIm[k] + yi * chirpRe[k])
        }
    }

    /// In-place iterative radix-2 transform of `size` points.
    private func radix2(_ re: inout [Double], _ im: inout [Double], inverse: Bool) {
        let n = size
        guard n > 1 else { return }
        var j = 0
        for i in 1..<n {
            var bit = n >> 1
            while j & bit != 0 {
                j ^= bit
                bit >>= 1
            }
            j |= bit
            if i < j {
                re.swapAt(i, j)
                im.swapAt(i, j)
            }
        }
        let direction: Double = inverse ? 1 : -1
        var span = 2
        while span <= n {
            let step = n / span
            let half = span / 2
            for start in stride(from: 0, to: n, by: span) {
                for k in 0..<half {
                    let wr = cosines[k * step]
                    let wi = direction * sines[k * step]
                    let (a, b) = (start + k, start + k + half)
                    let tr = re[b] * wr - im[b] * wi
                    let ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
            }
            span <<= 1
        }
    }
}
