import CKernels

/// The float32 depthwise Conv fast path: 2-D, one filter per channel
/// (`group == channels == filters`), any strides, dilations and pads. Each
/// output plane is computed directly by a C kernel (AVX-512 / AVX2 / baseline
/// versions chosen at load time): bias, then every tap in (ky, kx) order
/// accumulated over whole output rows, then the activation. Planes are split
/// across threads; each plane is computed the same way whatever the split,
/// so results do not depend on the thread count.
extension ConvProblem {
    /// True when the direct depthwise kernel applies.
    var isDepthwise2D: Bool {
        geometry.kernel.count == 2 && group == channels && filters == channels && channels > 1
    }

    func runDepthwise(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ outShape: [Int], activation: Gemm.Activation, threads: Int?
    ) throws -> Tensor {
        var shape = PoolOps.planeGeometry(geometry)
        switch activation {
        case .none: shape.activation = Int32(ONYX_ACTIVATION_NONE.rawValue)
        case .relu: shape.activation = Int32(ONYX_ACTIVATION_RELU.rawValue)
        case .clip(let low, let high):
            shape.activation = Int32(ONYX_ACTIVATION_CLIP.rawValue)
            shape.clip_min = low
            shape.clip_max = high
        }
        let inputPlane = try Tensor.checkedCount(geometry.input)
        let outputPlane = try Tensor.checkedCount(geometry.output)
        let taps = try Tensor.checkedCount(geometry.kernel)
        let bias = try b?.scalars(as: Float.self)
        let geometryCopy = shape
        return try Tensor.make(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                try w.withElements(Float.self) { weights in
                    guard let inBase = input.baseAddress, let weightBase = weights.baseAddress else {
                        outBase.update(repeating: 0, count: out.count)
                        return
                    }
                    let planes = batch &* channels
                    let work = Gemm.saturatingProduct(outputPlane, taps, 1)
                    try Gemm.forEachItem(count: planes, threads: threads, workPerItem: work, makeScratch: { () }) {
                        plane, _, _ in
                        let channel = plane % channels
                        var geometry = geometryCopy
                        onyx_depthwise2d_f32(
                            &geometry, inBase + plane &* inputPlane, weightBase + channel &* taps,
                            bias?[channel] ?? 0, outBase + plane &* outputPlane)
                    }
                }
            }
        }
    }
}
