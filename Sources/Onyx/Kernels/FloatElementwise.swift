import CKernels

/// Fast float32 elementwise kernels on the C loops of `CKernels`
/// (`onyx_binary_f32`, `onyx_unary_f32`): no per-element dispatch, vector
/// code for the CPU at hand, big arrays split across threads.
///
/// Binary operands are broadcast by splitting the output into runs: the
/// longest trailing block of axes over which each operand is either
/// contiguous or a single broadcast value becomes one C call per outer
/// index. Splitting across threads cuts the flat output range; each element
/// is computed by the same operations whatever the split, so results do
/// not depend on the thread count.
enum FloatElementwise {
    /// Elements below which one thread does the whole array.
    static let minimumElementsPerThread = 1 << 14

    /// Binary arithmetic on two float32 tensors with broadcasting. With
    /// `context`'s donated buffer belonging to an operand the size of the
    /// output, the result overwrites that operand: each element of it is
    /// read only by the C call that writes the same element.
    static func binary(
        _ op: onyx_binary_op, _ a: Tensor, _ b: Tensor, threads: Int?, context: RunContext? = nil
    ) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        let runs = Runs(shape: shape, a: a.shape, b: b.shape)
        let count = try Tensor.checkedCount(shape)
        let donated = context.flatMap { $0.donation(for: a, outputCount: count) ?? $0.donation(for: b, outputCount: count) }
        return try Tensor.makeOverwritten(Float.self, shape, reusing: donated) { out in
            guard let outBase = out.baseAddress else { return }
            try a.withElements(Float.self) { x in
                try b.withElements(Float.self) { y in
                    guard let xBase = x.baseAddress, let yBase = y.baseAddress else { return }
                    forChunks(count: out.count, threads: threads, cost: 1) { low, high in
                        runs.forEachRun(from: low, to: high) { offset, count, aOffset, bOffset in
                            onyx_binary_f32(
                                Int32(op.rawValue), count, xBase + aOffset, runs.aStep, yBase + bOffset, runs.bStep,
                                outBase + offset)
                        }
                    }
                }
            }
        }
    }

    /// `op` applied to every element of a float32 tensor, over `x` itself
    /// when `context` donates its buffer.
    static func unary(
        _ op: onyx_unary_op, _ x: Tensor, alpha: Float = 0, beta: Float = 0, threads: Int?, context: RunContext? = nil
    ) throws -> Tensor {
        let donated = context?.donation(for: x, outputCount: x.count)
        return try Tensor.makeOverwritten(Float.self, x.shape, reusing: donated) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let inBase = input.baseAddress else { return }
                apply(op, inBase, outBase, count: out.count, alpha: alpha, beta: beta, threads: threads)
            }
        }
    }

    /// `op` over `count` floats from `input` to `output` (which may be the same).
    static func apply(
        _ op: onyx_unary_op, _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
        alpha: Float = 0, beta: Float = 0, threads: Int?
    ) {
        let cost = op == ONYX_UNARY_RELU || op == ONYX_UNARY_NEG || op == ONYX_UNARY_ABS ? 1 : 4
        forChunks(count: count, threads: threads, cost: cost) { low, high in
            onyx_unary_f32(Int32(op.rawValue), high - low, input + low, output + low, alpha, beta)
        }
    }

    /// Calls `body(low, high)` over consecutive ranges covering [0, count),
    /// on several threads when the array is big enough.
    static func forChunks(count: Int, threads requested: Int?, cost: Int, _ body: (Int, Int) -> Void) {
        guard count > 0 else { return }
        let allowed = min(max(requested ?? Gemm.activeCores, 1), Gemm.activeCores)
        let threads = max(1, min(allowed, count.multipliedReportingOverflow(by: cost).partialValue / minimumElementsPerThread))
        guard threads > 1 else { return body(0, count) }
        let chunk = (count + threads - 1) / threads
        Gemm.parallelFor(threads) { worker in
            let low = worker * chunk
            let high = min(count, low + chunk)
            if low < high { body(low, high) }
        }
    }

    /// How a broadcast binary op walks its output: `inner` elements per
    /// run, each operand stepping by 1 or 0 in a run; the outer axes give
    /// each run's operand offsets.
    struct Runs {
        let inner: Int
        let aStep: Int32
        let bStep: Int32
        let outerShape: [Int]
        let aOuterStrides: [Int]
        let bOuterStrides: [Int]

        init(shape: [Int], a: [Int], b: [Int]) {
            let aStrides = Broadcast.strides(of: a, broadcastTo: shape)
            let bStrides = Broadcast.strides(of: b, broadcastTo: shape)
            // Grow the trailing block while each operand stays contiguous
            // (stride = elements of the block so far) or broadcast (stride 0).
            var inner = 1
            var aMode: Int? = nil
            var bMode: Int? = nil
            var axis = shape.count
            func fits(_ stride: Int, _ mode: Int?, _ block: Int) -> Int? {
                if stride == 0 && mode != 1 { return 0 }
                if stride == block && mode != 0 { return 1 }
                return nil
            }
            while axis > 0 {
                let next = axis - 1
                if shape[next] == 1 {
                    axis = next
                    continue
                }
                guard let aFit = fits(aStrides[next], aMode, inner), let bFit = fits(bStrides[next], bMode, inner) else { break }
                aMode = aFit
                bMode = bFit
                inner &*= shape[next]
                axis = next
            }
            self.inner = inner
            aStep = Int32(aMode ?? 1)
            bStep = Int32(bMode ?? 1)
            outerShape = Array(shape[..<axis])
            aOuterStrides = Array(aStrides[..<axis])
            bOuterStrides = Array(bStrides[..<axis])
        }

        /// Calls `body(outputOffset, count, aOffset, bOffset)` for the runs
        /// covering output elements [low, high).
        func forEachRun(from low: Int, to high: Int, _ body: (Int, Int, Int, Int) -> Void) {
            var position = low
            while position < high {
                let (outer, within) = position.quotientAndRemainder(dividingBy: inner)
                var rest = outer
                var aOffset = 0
                var bOffset = 0
                for axis in stride(from: outerShape.count - 1, through: 0, by: -1) {
                    let (quotient, index) = rest.quotientAndRemainder(dividingBy: outerShape[axis])
                    aOffset &+= index &* aOuterStrides[axis]
                    bOffset &+= index &* bOuterStrides[axis]
                    rest = quotient
                }
                let count = min(inner - within, high - position)
                body(position, count, aOffset &+ within &* Int(aStep), bOffset &+ within &* Int(bStep))
                position &+= count
            }
        }
    }
}
