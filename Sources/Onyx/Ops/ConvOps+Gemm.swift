import CKernels

/// The float32 Conv fast path on the packed GEMM kernels. Per (batch, group)
/// the output block [filters/group, positions] is W_g · columns: for a 1×1
/// convolution with unit strides and no padding the columns are the input
/// planes themselves (no copy); otherwise the input is unfolded (im2col)
/// into a [channels/group · taps, positions] matrix, written straight into
/// the GEMM's packed-panel layout (no second copy). The weights are the A
/// operand, packed once per group when they are constant; the bias is fused
/// as a per-row bias, and an activation may be fused after it: ReLU and Clip
/// in the GEMM epilogue, other ``FusedActivation``s on each (batch, group)
/// output block right after its product, while it is still in cache.
extension ConvProblem {
    /// Constant float32 weights packed per group as the GEMM's A operand, or,
    /// for a convolution the Winograd path takes (see
    /// ``winogradCandidate(_:group:attributes:)``), transformed and packed for it instead.
    static func packedWeights(_ w: Tensor?, group: Int, attributes: ConvGeometry.Attributes? = nil) -> PackedConstant? {
        guard let w, w.elementType == .float, w.shape.count >= 3, group >= 1, w.count > 0,
              w.shape[0] % group == 0
        else { return nil }
        if let attributes, winogradCandidate(w.shape, group: group, attributes: attributes),
           let transformed = try? winogradWeights(w) {
            return PackedConstant(w, matrices: [], winograd: transformed)
        }
        guard let matrices = try? directWeights(w, group: group) else { return nil }
        return PackedConstant(w, matrices: matrices)
    }

    /// The weights packed per group as the GEMM's A operand.
    static func directWeights(_ w: Tensor, group: Int) throws -> [PackedMatrix] {
        let perGroup = w.shape[0] / group
        let depth = w.count / w.shape[0]
        return try w.withElements(Float.self) { weights in
            try (0..<group).map { g in
                try PackedMatrix(
                    .a, rows: perGroup, columns: depth,
                    from: .rowMajor(weights.baseAddress.map { $0 + g &* perGroup &* depth }, columns: depth))
            }
        }
    }

    /// True for a 1×1 (×1…) convolution with unit strides and no padding: its
    /// columns matrix is the input itself.
    var isPointwise: Bool {
        geometry.kernel.allSatisfy { $0 == 1 } && geometry.strides.allSatisfy { $0 == 1 }
            && (geometry.padBegin + geometry.padEnd).allSatisfy { $0 == 0 }
    }

    /// The convolution on the fast paths, then `+ residual` (float32 of
    /// shape `outShape`, when given) and the activation. The GEMM paths add
    /// the residual in their epilogue after the bias; depthwise and Winograd
    /// add it in a pass after. Either way each element gets the bits of the
    /// unfused Conv, Add and activation.
    func runFloat(
        _ x: Tensor, _ w: Tensor, _ b: Tensor?, _ outShape: [Int], packed: PackedConstant?,
        activation: Gemm.Activation = .none, fused: FusedActivation? = nil, residual: Tensor? = nil, threads: Int?
    ) throws -> Tensor {
        let takesWinograd = packed.map { $0.matches(w) && !$0.winograd.isEmpty && winogradPays } ?? false
        if let residual, isDepthwise2D || takesWinograd || residual.shape != outShape {
            let y = try runFloat(x, w, b, outShape, packed: packed, threads: threads)
            let sum = try FloatElementwise.binary(ONYX_BINARY_ADD, y, residual, threads: threads)
            (fused ?? FusedActivation(gemmEpilogue: activation))?.apply(toFresh: sum, threads: threads)
            return sum
        }
        let epilogue = fused.map { $0.gemmEpilogue ?? .none } ?? activation
        let after = fused?.gemmEpilogue == nil ? fused : nil
        if isDepthwise2D {
            let y = try runDepthwise(x, w, b, outShape, activation: epilogue, threads: threads)
            after?.apply(toFresh: y, threads: threads)
            return y
        }
        if let packed, takesWinograd {
            let y = try runWinograd(x, b, outShape, weights: packed.winograd, activation: epilogue, threads: threads)
            after?.apply(toFresh: y, threads: threads)
            return y
        }
        let channelsPerGroup = channels / group
        let filtersPerGroup = filters / group
        let taps = try Tensor.checkedCount(geometry.kernel)
        let positions = try Tensor.checkedCount(geometry.output)
        let inputSize = try Tensor.checkedCount(geometry.input)
        let depth = try Tensor.checkedCount([channelsPerGroup, taps])
        let pointwise = isPointwise
        let unfold = pointwise ? nil : try Unfolding(geometry: geometry, taps: taps, positions: positions)
        // An empty input (all taps in the padding) unfolds into zeros whole, never by bands.
        let bandRows = x.count == 0 ? nil : unfold?.bandRows(depth: depth, filters: filtersPerGroup)
        // Columns of one unfolded matrix: all positions, or one band's.
        let unfolded = bandRows.map { $0 &* (geometry.output.last ?? 1) } ?? positions
        // Where the GEMM reads a row-major B in place, the columns are unfolded
        // row-major and never packed; otherwise straight into the packed layout.
        let rowMajorColumns = !pointwise && Gemm.readsBInPlace(m: filtersPerGroup, n: unfolded, k: depth)
        let columnCount = pointwise ? 0
            : rowMajorColumns ? try Tensor.checkedCount([depth, unfolded]) : onyx_sgemm_packed_b_count(depth, unfolded)
        _ = try TensorAllocation.checkedBytes(.float, count: columnCount)
        var packedGroups = packed.flatMap { $0.matches(w) && $0.matrices.count == group ? $0.matrices : nil }
        if packedGroups == nil, let packed, packed.matches(w), let direct = packed.direct {
            // Winograd weights for a geometry Winograd does not pay on: pack the plain ones once.
            packedGroups = try direct.get { try Self.directWeights(w, group: group) }
        }
        let bias = try b?.scalars(as: Float.self) ?? []
        return try Tensor.makeOverwritten(Float.self, outShape) { out in
            guard let outBase = out.baseAddress else { return }
            try Self.withResidual(residual) { residualBase in
                try x.withElements(Float.self) { input in
                    try w.withElements(Float.self) { weights in
                        try bias.withUnsafeBufferPointer { biasValues in
                            try Gemm.forEachItem(
                                count: batch &* group, threads: threads, workPerItem: Gemm.saturatingProduct(filtersPerGroup, positions, max(depth, 1)),
                                // Every element is written by the unfolding before it is read;
                                // bands unfold into scratch of their own.
                                makeScratch: { try FloatScratch(count: bandRows == nil ? columnCount : 0) }
                            ) { item, itemThreads, columns in
                                let (n, g) = item.quotientAndRemainder(dividingBy: group)
                                let source = input.baseAddress.map { $0 + (n &* channels &+ g &* channelsPerGroup) &* inputSize }
                                let weightOperand: Gemm.Operand = packedGroups.map { .packed($0[g]) }
                                    ?? .matrix(.rowMajor(weights.baseAddress.map { $0 + g &* filtersPerGroup &* depth }, columns: depth))
                                let rowBias: Gemm.Bias = b == nil ? .none
                                    : biasValues.baseAddress.map { .row($0 + g &* filtersPerGroup) } ?? .none
                                let offset = (n &* filters &+ g &* filtersPerGroup) &* positions
                                let target = outBase + offset
                                let residualTarget = residualBase.map { $0 + offset }
                                let multiply = { (columnsOperand: Gemm.Operand) in
                                    try Gemm.multiply(
                                        m: filtersPerGroup, n: positions, k: depth, a: weightOperand, b: columnsOperand,
                                        c: target, ldc: positions, bias: rowBias, residual: residualTarget, activation: epilogue,
                                        threads: itemThreads)
                                    after?.apply(UnsafeMutableBufferPointer(start: target, count: filtersPerGroup &* positions), threads: itemThreads)
                                }
                                guard let unfold else { return try multiply(.matrix(.rowMajor(source, columns: inputSize))) }
                                if let bandRows, let source {
                                    return try runBands(
                                        unfold, source: source, channels: channelsPerGroup, bandRows: bandRows, columnCount: columnCount,
                                        rowMajor: rowMajorColumns, weights: weightOperand, bias: rowBias, activation: epilogue, after: after,
                                        target: target, residual: residualTarget, threads: itemThreads)
                                }
                                guard let base = columns.base else { return try multiply(.matrix(.rowMajor(nil, columns: positions))) }
                                if let source {
                                    unfold.run(
                                        source, channels: channelsPerGroup, into: base, packed: !rowMajorColumns, threads: itemThreads)
                                } else {
                                    base.update(repeating: 0, count: columns.count)
                                }
                                try multiply(rowMajorColumns ? .matrix(.rowMajor(base, columns: positions)) : .packedBuffer(base))
                            }
                        }
                    }
                }
            }
        }
    }

    /// Calls `body` with the residual's floats, or nil without one.
    private static func withResidual<R>(_ residual: Tensor?, _ body: (UnsafePointer<Float>?) throws -> R) throws -> R {
        guard let residual else { return try body(nil) }
        return try residual.withElements(Float.self) { try body($0.baseAddress) }
    }
}

extension ConvProblem {
    /// One (batch, group) product a band of `bandRows` output rows at a time:
    /// each band unfolded into its own scratch and multiplied at once, while
    /// its columns are in cache. Bands are claimed one at a time by the
    /// threads, each product on one thread; a band is computed the same way
    /// whatever the thread count.
    fileprivate func runBands(
        _ unfold: Unfolding, source: UnsafePointer<Float>, channels: Int, bandRows: Int, columnCount: Int, rowMajor: Bool,
        weights: Gemm.Operand, bias: Gemm.Bias, activation: Gemm.Activation, after: FusedActivation?,
        target: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, threads: Int
    ) throws {
        let outHeight = geometry.output[0], outWidth = geometry.output.last ?? 1
        let positions = outHeight &* outWidth
        let depth = channels &* unfold.taps
        let filtersPerGroup = filters / group
        let bands = (outHeight &+ bandRows &- 1) / bandRows
        let workers = Gemm.threadCount(requested: threads, work: Gemm.saturatingProduct(filtersPerGroup, positions, depth))
        try Gemm.forEachClaimed(bands, parallel: workers > 1) { band in
            let rows = band &* bandRows..<min(outHeight, (band &+ 1) &* bandRows)
            let count = rows.count &* outWidth
            // Every element is written by the unfolding before it is read.
            let columns = try FloatScratch(count: columnCount)
            guard let base = columns.base else { return }
            unfold.run(source, channels: channels, into: base, packed: !rowMajor, rows: rows, threads: 1)
            let c = target + rows.lowerBound &* outWidth
            let b: Gemm.Operand = rowMajor ? .matrix(.rowMajor(base, columns: count)) : .packedBuffer(base)
            try Gemm.multiply(
                m: filtersPerGroup, n: count, k: depth, a: weights, b: b, c: c, ldc: positions, bias: bias,
                residual: residual.map { $0 + rows.lowerBound &* outWidth }, activation: activation, threads: 1)
            if let after {
                for filter in 0..<filtersPerGroup {
                    after.apply(UnsafeMutableBufferPointer(start: c + filter &* positions, count: count), threads: 1)
                }
            }
        }
    }
}

/// im2col: one group's input planes unfolded into rows (channel, tap) ×
/// columns (output position), zeros where a tap falls in the padding, each
/// row packed into the GEMM's B layout as soon as it is made. 1-D and 2-D
/// convolutions copy whole runs of an input row; higher ranks go through a
/// table of input offsets.
struct Unfolding {
    let geometry: ConvGeometry
    let taps: Int
    let positions: Int
    /// Input offset of each (tap, position), -1 in padding; ranks above 2 only.
    let table: [Int]?

    init(geometry: ConvGeometry, taps: Int, positions: Int) throws {
        self.geometry = geometry
        self.taps = taps
        self.positions = positions
        if geometry.input.count > 2 {
            let count = try Tensor.checkedCount([taps, positions])
            _ = try TensorAllocation.checkedBytes(.int64, count: count)
            var table = [Int](repeating: -1, count: count)
            geometry.forEachTap { out, tap, input in table[tap &* positions &+ out] = input ?? -1 }
            self.table = table
        } else {
            table = nil
        }
    }

    /// Output rows per band when the columns are better unfolded and
    /// multiplied a band of output rows at a time (the band's columns stay in
    /// L2 between the unfolding and the GEMM), or nil. Only for 1-D / 2-D
    /// convolutions with few filters per group, where each unfolded value is
    /// used too few times to pay for its trip through memory (ResNet-50's
    /// first 7×7 conv unfolds 7.4 MB for 64 filters), only when the whole
    /// matrix would not fit in L2, and only with bands of 256 columns or more.
    func bandRows(depth: Int, filters: Int) -> Int? {
        guard table == nil, filters <= 128, depth > 0 else { return nil }
        let outWidth = geometry.output.last ?? 1
        let outHeight = geometry.input.count == 2 ? geometry.output[0] : 1
        let bandFloats = 1 << 16
        guard Gemm.saturatingProduct(depth, positions) > 2 * bandFloats, outHeight > 1 else { return nil }
        let rows = max(1, bandFloats / max(1, depth &* outWidth))
        // Narrower bands make narrow GEMMs that re-read the weights per band
        // (ResNet-50's 3×3 stride-2 conv at depth 1152: 2 rows, 1.4× slower).
        guard rows &* outWidth >= 256 else { return nil }
        return rows < outHeight ? rows : nil
    }

    /// Fills `target` with the unfolded `channels` planes at `input`: in the
    /// GEMM's packed-B layout (`onyx_sgemm_packed_b_count(channels · taps,
    /// positions)` floats) when `packed`, else as a row-major
    /// (channels · taps) × positions matrix. With `rows`, only the columns of
    /// output rows `rows` (1-D / 2-D only), as a matrix of that many columns.
    func run(
        _ input: UnsafePointer<Float>, channels: Int, into target: UnsafeMutablePointer<Float>, packed: Bool = true,
        rows band: Range<Int>? = nil, threads: Int
    ) {
        let inputSize = geometry.inputCount
        let depth = channels &* taps
        let outWidth = geometry.output.last ?? 1
        let positions = band.map { $0.count &* outWidth } ?? self.positions
        // Split by rows (channel, tap), not channels: a 3-channel input
        // (the first conv of an image model) still halves evenly.
        let parts = min(threads, depth, max(1, depth &* positions / (1 << 16)))
        let body = { (first: Int, last: Int) in
            var lineBuffer = [Float](repeating: 0, count: packed ? positions : 0)
            lineBuffer.withUnsafeMutableBufferPointer { buffer in
                let line = buffer.baseAddress
                for p in first..<last {
                    let (c, tap) = p.quotientAndRemainder(dividingBy: taps)
                    let plane = input + c &* inputSize
                    guard let row = packed ? line : target + p &* positions else { return }
                    if let table {
                        for index in 0..<positions {
                            let offset = table[tap &* positions &+ index]
                            row[index] = offset < 0 ? 0 : plane[offset]
                        }
                    } else {
                        unfoldRow(plane, tap: tap, rows: band, into: row)
                    }
                    if packed {
                        _ = onyx_sgemm_pack_b_part(depth, positions, row, positions, 1, p, p &+ 1, 0, positions, target)
                    }
                }
            }
        }
        guard parts > 1 else { return body(0, depth) }
        Gemm.parallelFor(parts) { part in body(depth &* part / parts, depth &* (part &+ 1) / parts) }
    }

    /// Row `tap` of one channel of a 1-D or 2-D convolution: `positions`
    /// values, or those of output rows `band`.
    private func unfoldRow(
        _ plane: UnsafePointer<Float>, tap: Int, rows band: Range<Int>?, into row: UnsafeMutablePointer<Float>
    ) {
        let twoD = geometry.input.count == 2
        let (height, width) = twoD ? (geometry.input[0], geometry.input[1]) : (1, geometry.input[0])
        let (outHeight, outWidth) = twoD ? (geometry.output[0], geometry.output[1]) : (1, geometry.output[0])
        let kernelWidth = twoD ? geometry.kernel[1] : geometry.kernel[0]
        let (strideH, strideW) = twoD ? (geometry.strides[0], geometry.strides[1]) : (1, geometry.strides[0])
        let (dilationH, dilationW) = twoD ? (geometry.dilations[0], geometry.dilations[1]) : (1, geometry.dilations[0])
        let (padH, padW) = twoD ? (geometry.padBegin[0], geometry.padBegin[1]) : (0, geometry.padBegin[0])
        let (kh, kw) = tap.quotientAndRemainder(dividingBy: kernelWidth)
        let shift = kw &* dilationW &- padW
        // Output columns whose input column ow · strideW + shift lies in [0, width).
        let low = min(outWidth, shift >= 0 ? 0 : (strideW &- 1 &- shift) / strideW)
        let high = max(low, min(outWidth, width &- shift <= 0 ? 0 : (width &- shift &+ strideW &- 1) / strideW))
        let rows = band ?? 0..<outHeight
        for oh in rows {
            let ih = oh &* strideH &+ kh &* dilationH &- padH
            let target = row + (oh &- rows.lowerBound) &* outWidth
            guard ih >= 0 && ih < height else {
                target.update(repeating: 0, count: outWidth)
                continue
            }
            let start = ih &* width &+ shift
            if low > 0 { target.update(repeating: 0, count: low) }
            if strideW == 1 {
                (target + low).update(from: plane + (start &+ low), count: high &- low)
            } else if high > low {
                onyx_gather_strided_f32(high &- low, plane + (start &+ low &* strideW), strideW, target + low)
            }
            if high < outWidth { (target + high).update(repeating: 0, count: outWidth &- high) }
        }
    }
}
