import CKernels

/// The float32 depthwise Conv fast path: 2-D, one filter per channel
/// (`group == channels == filters`), any strides, dilations and pads. Each
/// output plane is computed directly by a C kernel (AVX-512 / AVX2 / baseline
/// versions chosen at load time): bias, then every tap in (ky, kx) order,
/// then the activation. The kernel reads the plane through stride phases
/// kept in a per-worker scratch so all rows form one vector loop (see
/// `depthwise.c`); with no scratch (a plane too large for it) it adds tap by
/// tap into whole output rows. Planes are split
/// across threads; each plane is computed the same way whatever the split,
/// so results do not depend on the thread count.
extension ConvProblem {
    /// True when the direct depthwise kernel applies.
    var isDepthwise2D: Bool {
        geometry.kernel.count == 2 && group == channels && filters == channels && channels > 1
    }

    /// `phases: false` forces the row method (for tests).
    func runDepthwise(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ outShape: [Int], activation: Gemm.Activation, threads: Int?,
        phases: Bool = true
    ) throws -> Tensor {
        var shape = PoolOps.planeGeometry(geometry)
        (shape.activation, shape.clip_min, shape.clip_max) = activation.c
        _ = try Tensor.checkedCount(geometry.input)
        let outputPlane = try Tensor.checkedCount(geometry.output)
        let taps = try Tensor.checkedCount(geometry.kernel)
        let bias = try b?.scalars(as: Float.self)
        let scratchCount = phases ? withUnsafePointer(to: shape) { Int(onyx_depthwise2d_scratch_count($0)) } : 0
        let geometryCopy = shape
        let planes = batch &* channels
        // Runs of planes, a few per thread, so that the kernel's setup is paid once per run.
        let run = max(1, (planes + 7) / 8)
        return try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                try w.withElements(Float.self) { weights in
                    guard let inBase = input.baseAddress, let weightBase = weights.baseAddress else {
                        outBase.update(repeating: 0, count: out.count)
                        return
                    }
                    let work = Gemm.saturatingProduct(outputPlane, taps, run)
                    try (bias ?? []).withUnsafeBufferPointer { biasValues in
                        try Gemm.forEachItem(
                            count: (planes + run - 1) / run, threads: threads, workPerItem: work,
                            // Every scratch float is written by the kernel before it is read.
                            makeScratch: {
                                scratchCount == 0 ? []
                                    : [Float](unsafeUninitializedCapacity: scratchCount) { _, count in count = scratchCount }
                            }
                        ) { item, _, scratch in
                            var geometry = geometryCopy
                            let first = item &* run
                            scratch.withUnsafeMutableBufferPointer { buffer in
                                onyx_depthwise2d_f32(
                                    &geometry, first, min(run, planes &- first), channels, inBase, weightBase,
                                    biasValues.isEmpty ? nil : biasValues.baseAddress, outBase,
                                    buffer.isEmpty ? nil : buffer.baseAddress)
                            }
                        }
                    }
                }
            }
        }
    }
}
