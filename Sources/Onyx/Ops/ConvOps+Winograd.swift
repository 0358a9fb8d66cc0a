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

    /// Tile rows per band when the Winograd stages run a band of tile rows
    /// at a time, each band's transformed input and products (about 768 KB)
    /// staying in L2 from the input transform through the 16 GEMMs to the
    /// output transform, or nil for whole images. Only where the transformed
    /// weights fit in L2 too (at most 128 channels and filters), the bands
    /// keep 32 tiles or more (narrower GEMMs lose more than they save), and
    /// there are at least four bands per thread to claim. Results are the
    /// same bits either way: each tile and each product element is computed
    /// by the same operations in the same order.
    static func winogradBandTileRows(
        channels: Int, filters: Int, tileRows: Int, tileColumns: Int, threads: Int
    ) -> Int? {
        guard channels <= 128, filters <= 128, tileRows > 1, tileColumns > 0 else { return nil }
        let tiles = max(1, (768 << 10) / (64 * (channels + filters)))
        let rows = max(1, tiles / tileColumns)
        guard rows * tileColumns >= 32, rows < tileRows else { return nil }
        let bands = (tileRows + rows - 1) / rows
        return bands >= 4 * max(1, threads) ? rows : nil
    }

    func runWinograd(
        _ x: Tensor, _ b: Tensor?, _ outShape: [Int], weights: [PackedMatrix], activation: Gemm.Activation, threads: Int?,
        bandTileRows requestedBand: Int? = nil
    ) throws -> Tensor {
        var shape = onyx_winograd_geometry()
        shape.in_h = geometry.input[0]
        shape.in_w = geometry.input[1]
        shape.out_h = geometry.output[0]
        shape.out_w = geometry.output[1]
        shape.pad_top = geometry.padBegin[0]
        shape.pad_left = geometry.padBegin[1]
        let tileRows = (shape.out_h + 1) / 2, tileColumns = (shape.out_w + 1) / 2
        let workers = Gemm.threadCount(
            requested: threads, work: Gemm.saturatingProduct(filters, tileRows &* tileColumns, channels, 16))
        let band = requestedBand ?? Self.winogradBandTileRows(
            channels: channels, filters: filters, tileRows: tileRows, tileColumns: tileColumns, threads: workers)
        if let band, band > 0, band < tileRows {
            return try runWinogradBands(
                x, b, outShape, weights: weights, activation: activation, shape: shape, bandTileRows: band, workers: workers)
        }
        let tiles = tileRows &* tileColumns
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
                                        &g, 0, tileRows, channels * piece / pieces, channels * (piece + 1) / pieces, channels,
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
                                    &g, 0, tileRows, filters * piece / pieces, filters * (piece + 1) / pieces, filters, mBase,
                                    biasValues.isEmpty ? nil : biasValues.baseAddress, kind, low, high, target)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The Winograd stages a band of `bandTileRows` tile rows at a time per
    /// image, bands claimed one at a time by the threads, each band's stages
    /// on one thread with its own scratch.
    private func runWinogradBands(
        _ x: Tensor, _ b: Tensor?, _ outShape: [Int], weights: [PackedMatrix], activation: Gemm.Activation,
        shape: onyx_winograd_geometry, bandTileRows: Int, workers: Int
    ) throws -> Tensor {
        let tileRows = (shape.out_h + 1) / 2, tileColumns = (shape.out_w + 1) / 2
        let bands = (tileRows + bandTileRows - 1) / bandTileRows
        let bandTiles = bandTileRows &* tileColumns
        let vCount = try Tensor.checkedCount([16, channels, bandTiles])
        let mCount = try Tensor.checkedCount([16, filters, bandTiles])
        _ = try TensorAllocation.checkedBytes(.float, count: vCount &+ mCount)
        let scratchCount = withUnsafePointer(to: shape) { Int(onyx_winograd2_scratch_count($0)) }
        let inputSize = try Tensor.checkedCount(geometry.input)
        let outputSize = try Tensor.checkedCount(geometry.output)
        let bias = try b?.scalars(as: Float.self) ?? []
        let (kind, low, high) = activation.c
        let (channels, filters) = (self.channels, self.filters)
        return try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let inBase = input.baseAddress else { return outBase.update(repeating: 0, count: out.count) }
                try bias.withUnsafeBufferPointer { biasValues in
                    try Gemm.forEachClaimed(batch &* bands, parallel: workers > 1) { item in
                        let (image, band) = item.quotientAndRemainder(dividingBy: bands)
                        let ty0 = band &* bandTileRows, ty1 = min(tileRows, ty0 &+ bandTileRows)
                        let tiles = (ty1 &- ty0) &* tileColumns
                        // Every element of v and m is written by a transform or a GEMM before it is read.
                        let v = try FloatScratch(count: vCount), m = try FloatScratch(count: mCount)
                        let padded = try FloatScratch(count: scratchCount)
                        guard let vBase = v.base, let mBase = m.base, let paddedBase = padded.base else { return }
                        var g = shape
                        onyx_winograd2_input_f32(
                            &g, ty0, ty1, 0, channels, channels, inBase + image &* channels &* inputSize, vBase, paddedBase)
                        for e in 0..<16 {
                            try Gemm.multiply(
                                m: filters, n: tiles, k: channels, a: .packed(weights[e]),
                                b: .matrix(.rowMajor(vBase + e &* channels &* tiles, columns: tiles)),
                                c: mBase + e &* filters &* tiles, ldc: tiles, threads: 1)
                        }
                        onyx_winograd2_output_f32(
                            &g, ty0, ty1, 0, filters, filters, mBase, biasValues.isEmpty ? nil : biasValues.baseAddress,
                            kind, low, high, outBase + image &* filters &* outputSize)
                    }
                }
            }
        }
    }
}
