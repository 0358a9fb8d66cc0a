import CKernels
import Dispatch

/// Timings of the float32 GEMM for the `onyx-kernel-bench` harness: the same
/// `Gemm.multiply` the operators call, on matrices of small integers.
package enum KernelBenchmark {
    /// The microkernel this CPU runs ("avx2-fma", "neon" or "portable").
    package static var kernelName: String { String(cString: onyx_sgemm_kernel_name()) }

    /// Which operand is packed before timing, as plan-time weights are.
    package enum Prepacked: Sendable {
        case none
        case a
        case b
    }

    /// The fastest of repeated m × n × k products in seconds, over about
    /// `duration` seconds (and at least eight runs) after one warm-up run.
    /// With `residual`, an m × n matrix is added in the epilogue (then a
    /// Relu), as a Conv fused with its skip connection does.
    package static func sgemmSeconds(
        m: Int, n: Int, k: Int, threads: Int, prepacked: Prepacked = .none, residual: Bool = false,
        duration: Double = 0.5
    ) throws -> Double {
        let a = (0..<(m * k)).map { Float($0 % 7 - 3) }
        let b = (0..<(k * n)).map { Float($0 % 5 - 2) }
        var c = [Float](repeating: 0, count: m * n)
        // Empty without a residual: its base address is then nil.
        let skip = residual ? (0..<(m * n)).map { Float($0 % 3 - 1) } : []
        return try a.withUnsafeBufferPointer { ap in
            try b.withUnsafeBufferPointer { bp in
                try skip.withUnsafeBufferPointer { rp in
                    try c.withUnsafeMutableBufferPointer { cp in
                        guard let out = cp.baseAddress else { return 0 }
                        let aMatrix = Gemm.Matrix.rowMajor(ap.baseAddress, columns: k)
                        let bMatrix = Gemm.Matrix.rowMajor(bp.baseAddress, columns: n)
                        let aOperand: Gemm.Operand = prepacked == .a
                            ? .packed(try PackedMatrix(.a, rows: m, columns: k, from: aMatrix)) : .matrix(aMatrix)
                        let bOperand: Gemm.Operand = prepacked == .b
                            ? .packed(try PackedMatrix(.b, rows: k, columns: n, from: bMatrix)) : .matrix(bMatrix)
                        let once = {
                            try Gemm.multiply(
                                m: m, n: n, k: k, a: aOperand, b: bOperand, c: out, ldc: n, residual: rp.baseAddress,
                                activation: residual ? .relu : .none, threads: threads)
                        }
                        try once()
                        var best = Double.infinity
                        var spent = 0.0
                        var runs = 0
                        // At least eight timed runs, however long each takes: a 2048³ product
                        // (~90 ms on one core) otherwise got two or three per round, and on this
                        // shared VM the best of so few missed the two-thread rate by up to 20%.
                        repeat {
                            let start = DispatchTime.now().uptimeNanoseconds
                            try once()
                            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                            best = min(best, seconds)
                            spent += seconds
                            runs += 1
                        } while spent < duration || runs < 8
                        return best
                    }
                }
            }
        }
    }
}
