import CKernels

/// The float32 Winograd F(2×2, 3×3) path for 2-D 3×3 convolutions with unit
/// strides and dilations, one group and constant weights: 16 multiplies per
/// 2×2 output tile and (filter, channel) instead of 36. Per image, the input
/// transform (`winograd.c`) turns each tile's 4×4 patch into 16 values per
/// channel; 16 GEMMs on the packed kernels multiply the weights transformed
/// at plan time by them; the output transform turns each tile's 16 sums back
/// into 2×2 outputs with the bias and a ReLU/Clip epilogue. The transforms
/// are adds only (and halvings of the weights), so results stay within a
/// few ulp of the direct sum's scale. Every stage splits its work into
/// pieces computed the same way whatever the thread count.
extension ConvProblem {
    /// True when a convolution with these weights and attributes may take the
    /// Winograd path (decided when the plan is built, so its weights are
    /// transformed then): 3×3, unit strides and dilations, one group, and at
    /// least 16 filters and channels (fewer leave the transforms dominant).
    static func winogradCandidate(_ weightShape: [Int], group: Int, attributes: ConvGeometry.Attributes) -> Bool {
        guard weightShape.count == 4, weightShape[2] == 3, weightShape[3] == 3, group == 1,
              weightShape[0] >= 16, weightShape[1] >= 16
        else { return false }
        let unit = { (values: [Int]?) in values.map { $0.allSatisfy { $0 == 1 } } ?? true }
        return unit(attributes.strides) && unit(attributes.dilations)
    }

    /// The weights transformed (`G g Gᵀ`) into 16 packed filters × channels matrices.
    static func winogradWeights(_ w: Tensor) throws -> [PackedMatrix] {
        let (filters, channels) = (w.shape[0], w.shape[1])
        let count = try Tensor.checkedCount([16, filters, channels])
        _ = try TensorAllocation.checkedBytes(.float, count: count)
        var transformed = [Float](repeating: 0, count: count)
        try w.withElements(Float.self) { weights in
            transformed.withUnsafeMutableBufferPointer { u in
                onyx_winograd2_weights_f32(filters, channels, weights.baseAddress, u.baseAddress)
            }
        }
        return try transformed.withUnsafeBufferPointer { u in
            try (0..<16).map { e in
                try PackedMatrix(
                    .a, rows: filters, columns: channels,
                    from: .rowMajor(u.baseAddress.map { $0 + e &* filters &* channels }, columns: channels))
            }
        }
    }

    /// True when this problem's geometry suits the Winograd kernels and its
    /// tiles do fewer multiplies than the direct product (16 per tile against
    /// 9 per output position; a 1×1 output, for one, does not pay), with at
    /// least ``winogradMinimumTiles`` tiles per image.
    var winogradPays: Bool {
        guard geometry.kernel == [3, 3], geometry.strides == [1, 1], geometry.dilations == [1, 1], group == 1
        else { return false }
        let tiles = (geometry.output[0] + 1) / 2 * ((geometry.output[1] + 1) / 2)
        return 16 * tiles < 8 * geometry.output[0] * geometry.output[1] && tiles >= Self.winogradMinimumTiles
    }

    /// Below this many tiles the 16 GEMMs are too narrow to hide their
    /// weights: Winograd reads 16/9 as many weights as the direct product,
    /// from memory once per run, and ResNet-50's 7×7 layer4 convs (16 tiles,
    /// 16 MB of transformed weights) ran 1.6× slower than on the direct path.
    static let winogradMinimumTiles = 32

    func runWinograd(
        _ x: Tensor, _ b: Tensor?, _ outShape: [Int], weights: [PackedMatrix], activation: Gemm.Activation, threads: Int?
    ) throws -> Tensor {
        var shape = onyx_winograd_geometry()
        shape.in_h = geometry.input[0]
        shape.in_w = geometry.input[1]
        shape.out_h = geometry.output[0]
        shape.out_w = geometry.output[1]
        shape.pad_top = geometry.padBegin[0]
        shape.pad_left = geometry.padBegin[1]
        let tiles = (shape.out_h + 1) / 2 * ((shape.out_w + 1) / 2)
        let inputSize = try Tensor.checkedCount(geometry.input)
        let outputSize = try Tensor.checkedCount(geometry.output)
        let vCount = try Tensor.checkedCount([16, channels, tiles])
        let mCount = try Tensor.checkedCount([16, filters, tiles])
        _ = try TensorAllocation.checkedBytes(.float, count: vCount &+ mCount)
        let scratchCount = withUnsafePointer(to: shape) { Int(onyx_winograd2_scratch_count($0)) }
        let bias = try b?.scalars(as: Float.self) ?? []
        let (kind, low, high) = activation.c
        // Every element of both buffers is written by a transform or a GEMM before it is read.
        let v = try FloatScratch(count: vCount), m = try FloatScratch(count: mCount)
        let (channels, filters) = (self.channels, self.filters)
        let pieces = 8
        return try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let inBase = input.baseAddress else { return outBase.update(repeating: 0, count: out.count) }
                try withExtendedLifetime((v, m)) {
                    try bias.withUnsafeBufferPointer { biasValues in
                        guard let vBase = v.base, let mBase = m.base else { return }
                        for image in 0..<batch {
                            let source = inBase + image &* channels &* inputSize
                            try Gemm.forEachItem(
                                count: pieces, threads: threads, workPerItem: channels / pieces &* tiles &* 64,
                                makeScratch: { [Float](repeating: 0, count: scratchCount) }
                            ) { piece, _, scratch in
                                var g = shape
                                scratch.withUnsafeMutableBufferPointer { buffer in
                                    onyx_winograd2_input_f32(
                                        &g, channels * piece / pieces, channels * (piece + 1) / pieces, channels,
                                        source, vBase, buffer.baseAddress)
                                }
                            }
                            try Gemm.forEachItem(
                                count: 16, threads: threads, workPerItem: Gemm.saturatingProduct(filters, tiles, channels),
                                makeScratch: { () }
                            ) { e, itemThreads, _ in
                                try Gemm.multiply(
                                    m: filters, n: tiles, k: channels, a: .packed(weights[e]),
                                    b: .matrix(.rowMajor(vBase + e &* channels &* tiles, columns: tiles)),
                                    c: mBase + e &* filters &* tiles, ldc: tiles, threads: itemThreads)
                            }
                            let target = outBase + image &* filters &* outputSize
                            try Gemm.forEachItem(
                                count: pieces, threads: threads, workPerItem: filters / pieces &* tiles &* 64,
                                makeScratch: { () }
                            ) { piece, _, _ in
                                var g = shape
                                onyx_winograd2_output_f32(
                                    &g, filters * piece / pieces, filters * (piece + 1) / pieces, filters, mBase,
                                    biasValues.isEmpty ? nil : biasValues.baseAddress, kind, low, high, target)
                            }
                        }
                    }
                }
            }
        }
    }
}
