import CKernels

/// The float32 fast paths of pooling: 2-D MaxPool (without the Indices
/// output) and AveragePool on the C kernels — max pooling by
/// `onyx_maxpool2d_f32`, average pooling as a depthwise convolution with unit
/// weights followed by the division — and the global pools as whole-plane
/// reductions. Planes split across threads; each plane is computed the same
/// way whatever the split. A NaN in a max window gives NaN.
extension PoolOps {
    /// The geometry of one 2-D plane for the C kernels.
    static func planeGeometry(_ geometry: ConvGeometry) -> onyx_depthwise2d {
        var shape = onyx_depthwise2d()
        shape.in_h = geometry.input[0]
        shape.in_w = geometry.input[1]
        shape.out_h = geometry.output[0]
        shape.out_w = geometry.output[1]
        shape.kernel_h = geometry.kernel[0]
        shape.kernel_w = geometry.kernel[1]
        shape.stride_h = geometry.strides[0]
        shape.stride_w = geometry.strides[1]
        shape.dilation_h = geometry.dilations[0]
        shape.dilation_w = geometry.dilations[1]
        shape.pad_top = geometry.padBegin[0]
        shape.pad_left = geometry.padBegin[1]
        return shape
    }

    /// 2-D float32 max or average pooling, or nil when the fast path does not apply.
    static func fastPool(
        _ x: Tensor, _ attributes: ConvGeometry.Attributes, kind: PoolKind, threads: Int?
    ) throws -> Tensor? {
        guard x.elementType == .float, x.shape.count == 4 else { return nil }
        let includePad: Bool
        switch kind {
        case .max: includePad = false
        case .average(let include): includePad = include
        case .lp: return nil
        }
        let geometry = try ConvGeometry(attributes, input: Array(x.shape[2...]))
        let planes = x.shape[0] &* x.shape[1]
        let inputPlane = try Tensor.checkedCount(geometry.input)
        let outputPlane = try Tensor.checkedCount(geometry.output)
        let taps = try Tensor.checkedCount(geometry.kernel)
        let outShape = Array(x.shape[0..<2]) + geometry.output
        // Refuse an absurd output (e.g. huge pads) before building per-position tables.
        _ = try TensorAllocation.checkedBytes(.float, count: try Tensor.checkedCount(outShape))
        _ = try TensorAllocation.checkedBytes(.int64, count: outputPlane)
        var divisors: [Float] = []
        if case .average = kind {
            let counts = includePad ? paddedTapCounts(geometry) : insideTapCounts(geometry)
            divisors = counts.map { Float($0) }
        }
        let ones = [Float](repeating: 1, count: taps)
        let shape = planeGeometry(geometry)
        let isMax: Bool
        if case .max = kind { isMax = true } else { isMax = false }
        let scratchCount = withUnsafePointer(to: shape) {
            Int(isMax ? onyx_maxpool2d_scratch_count($0) : onyx_depthwise2d_scratch_count($0))
        }
        // Each plane's kernel writes all of its outputs; the buffer is not zeroed first.
        return try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let inBase = input.baseAddress else {
                    out.update(repeating: 0)
                    return
                }
                try Gemm.forEachItem(
                    count: planes, threads: threads, workPerItem: Gemm.saturatingProduct(outputPlane, taps, 1),
                    // Every scratch float is written by the kernel before it is read.
                    makeScratch: { try FloatScratch(count: scratchCount) }
                ) { plane, _, scratch in
                    var geometry = shape
                    let source = inBase + plane &* inputPlane
                    let target = outBase + plane &* outputPlane
                    if isMax {
                        onyx_maxpool2d_f32(&geometry, source, target, scratch.base)
                    } else {
                        onyx_depthwise2d_f32(&geometry, plane, 1, 1, inBase, ones, nil, outBase, scratch.base)
                        for index in 0..<outputPlane { target[index] /= divisors[index] }
                    }
                }
            }
        }
    }

    /// Per output position, the taps inside the input (2-D).
    static func insideTapCounts(_ g: ConvGeometry) -> [Int] {
        func inside(_ axis: Int) -> [Int] {
            (0..<g.output[axis]).map { o in
                (0..<g.kernel[axis]).filter { k in
                    let position = o * g.strides[axis] + k * g.dilations[axis] - g.padBegin[axis]
                    return position >= 0 && position < g.input[axis]
                }.count
            }
        }
        let rows = inside(0)
        let columns = inside(1)
        return rows.flatMap { r in columns.map { r * $0 } }
    }

    /// GlobalAveragePool / GlobalMaxPool on float32, or nil when not float32.
    static func fastGlobal(_ x: Tensor, max isMax: Bool, threads: Int?) throws -> Tensor? {
        guard x.elementType == .float, x.shape.count >= 3 else { return nil }
        let planes = x.shape[0] &* x.shape[1]
        let size = try Tensor.checkedCount(Array(x.shape[2...]))
        guard size > 0 else { return nil }
        let outShape = Array(x.shape[0..<2]) + [Int](repeating: 1, count: x.shape.count - 2)
        return try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let inBase = input.baseAddress else {
                    out.update(repeating: 0)
                    return
                }
                FloatElementwise.forChunks(count: planes, threads: threads, cost: size) { low, high in
                    for plane in low..<high {
                        let source = inBase + plane &* size
                        outBase[plane] = isMax ? onyx_max_f32(size, source) : Float(onyx_sum_f32(size, source) / Double(size))
                    }
                }
            }
        }
    }
}
