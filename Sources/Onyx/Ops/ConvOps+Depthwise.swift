import CKernels

/// The float32 depthwise Conv fast path: 2-D, one filter per channel
/// (`group == channels == filters`), any strides, dilations and pads, computed
/// directly by C kernels (AVX-512 / AVX2 / baseline versions chosen at load
/// time): bias, then every tap in (ky, kx) order, then the activation.
///
/// The blocked kernel (`depthwise_blocked.c`) takes every geometry within its
/// range: 16 channels per vector, each input row transposed once into a ring
/// that stays in L1. It measured 1.0–2.8× faster than a plane at a time on
/// MobileNetV2 and EfficientNet-B0 shapes (stride 2 and 7×7 to 28×28 planes
/// gain most). The plane-at-a-time methods of `depthwise.c` remain as
/// fallbacks: stride phases in a per-worker scratch (same bits as the blocked
/// kernel) and, with no scratch, tap by tap into whole output rows. Blocks
/// of channels (or planes) are split across threads; each output is computed
/// the same way whatever the split, so results do not depend on the thread
/// count.
extension ConvProblem {
    /// True when the direct depthwise kernel applies.
    var isDepthwise2D: Bool {
        geometry.kernel.count == 2 && group == channels && filters == channels && channels > 1
    }

    /// Which depthwise kernel runs: `automatic` takes the blocked one where
    /// its range allows; the others force one (for tests; all compute the
    /// same bits, rows aside for taps in the padding).
    enum DepthwiseMethod: Sendable {
        case automatic
        case phases
        case rows
        case blocked
    }

    func runDepthwise(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ outShape: [Int], activation: Gemm.Activation, threads: Int?,
        method: DepthwiseMethod = .automatic
    ) throws -> Tensor {
        var shape = PoolOps.planeGeometry(geometry)
        (shape.activation, shape.clip_min, shape.clip_max) = activation.c
        _ = try Tensor.checkedCount(geometry.input)
        let outputPlane = try Tensor.checkedCount(geometry.output)
        let taps = try Tensor.checkedCount(geometry.kernel)
        let bias = try b?.scalars(as: Float.self)
        let blockedCount = withUnsafePointer(to: shape) { Int(onyx_depthwise2d_blocked_scratch_count($0)) }
        if blockedCount > 0, method == .blocked || method == .automatic {
            return try runDepthwiseBlocked(
                x, w, bias, outShape, shape: shape, scratchCount: blockedCount, work: Gemm.saturatingProduct(outputPlane, taps, 16),
                threads: threads)
        }
        let phases = method == .automatic || method == .phases || method == .blocked
        let scratchCount = phases ? withUnsafePointer(to: shape) { Int(onyx_depthwise2d_scratch_count($0)) } : 0
        let geometryCopy = shape
        let planes = batch &* channels
        // Runs of planes, a few per thread, so that the kernel's setup is paid once per run.
        let run = max(1, (planes + 7) / 8)
        return try withOperands(x, w, bias, outShape) { input, weights, biasBase, output in
            try Gemm.forEachItem(
                count: (planes + run - 1) / run, threads: threads, workPerItem: Gemm.saturatingProduct(outputPlane, taps, run),
                // Every scratch float is written by the kernel before it is read.
                makeScratch: { try FloatScratch(count: scratchCount) }
            ) { item, _, scratch in
                var geometry = geometryCopy
                let first = item &* run
                onyx_depthwise2d_f32(
                    &geometry, first, min(run, planes &- first), channels, input, weights, biasBase, output, scratch.base)
            }
        }
    }

    /// The blocked kernel over items of 16 channels of one batch entry, each
    /// split into `depthwiseRowParts` bands of output rows. With more than
    /// one thread the items are claimed one at a time as threads come free,
    /// each with its own scratch.
    private func runDepthwiseBlocked(
        _ x: Tensor, _ w: Tensor, _ bias: [Float]?, _ outShape: [Int], shape: onyx_depthwise2d, scratchCount: Int,
        work: Int, threads: Int?
    ) throws -> Tensor {
        let blocks = batch &* ((channels &+ 15) / 16)
        let rows = Int(shape.out_h)
        let threadCount = Gemm.threadCount(requested: threads, work: Gemm.saturatingProduct(work, blocks))
        let parts = Self.depthwiseRowParts(blocks: blocks, rows: rows, threads: threadCount)
        let items = blocks &* parts
        let geometryCopy = shape
        let channels = self.channels
        return try withOperands(x, w, bias, outShape) { input, weights, biasBase, output in
            guard threadCount > 1, items > 1 else {
                // Every scratch float is written by the kernel before it is read.
                let scratch = try FloatScratch(count: scratchCount)
                guard let base = scratch.base else { return }
                var geometry = geometryCopy
                onyx_depthwise2d_blocked_f32(&geometry, 0, blocks, 0, rows, channels, input, weights, biasBase, output, base)
                return
            }
            try Gemm.forEachClaimed(items, parallel: true) { item in
                let block = item / parts, part = item % parts
                let scratch = try FloatScratch(count: scratchCount)
                guard let base = scratch.base else { return }
                var geometry = geometryCopy
                onyx_depthwise2d_blocked_f32(
                    &geometry, block, 1, rows &* part / parts, rows &* (part &+ 1) / parts, channels, input, weights,
                    biasBase, output, base)
            }
        }
    }

    /// Bands of output rows per 16-channel block so that the items share out
    /// evenly over `threads`: 1 when the blocks already do (a multiple of the
    /// threads, or enough that claiming them one at a time evens out),
    /// otherwise the fewest bands (at least 4 rows each) that make the item
    /// count a multiple of the threads. A band re-reads the kernel's
    /// (kernel height − 1) input rows above it, so fewer bands cost less.
    static func depthwiseRowParts(blocks: Int, rows: Int, threads: Int) -> Int {
        guard threads > 1, blocks > 0, blocks % threads != 0, blocks < 8 * threads else { return 1 }
        var parts = 2
        while rows >= 4 * parts {
            if (blocks &* parts) % threads == 0 { return parts }
            parts += 1
            if parts > 4 * threads { break }
        }
        return 1
    }

    /// A new output of `outShape` that `body(input, weights, bias, output)`
    /// fills completely (all zero when the input or the weights are empty).
    private func withOperands(
        _ x: Tensor, _ w: Tensor, _ bias: [Float]?, _ outShape: [Int],
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>?, UnsafeMutablePointer<Float>) throws -> Void
    ) throws -> Tensor {
        try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                try w.withElements(Float.self) { weights in
                    guard let inBase = input.baseAddress, let weightBase = weights.baseAddress else {
                        outBase.update(repeating: 0, count: out.count)
                        return
                    }
                    try (bias ?? []).withUnsafeBufferPointer { biasValues in
                        try body(inBase, weightBase, biasValues.isEmpty ? nil : biasValues.baseAddress, outBase)
                    }
                }
            }
        }
    }
}
