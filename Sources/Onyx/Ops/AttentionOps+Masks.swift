extension AttentionOps {
    /// The additive attention bias of one (batch, query head, query) row,
    /// summed in the reference's order: `attn_mask` + causal + window + padding.
    ///
    /// - `attn_mask` broadcasts right-aligned to `(B, Hq, Lq, kv)` (so a 3-D mask
    ///   is `(Hq, Lq, kv)`); a boolean mask contributes 0 (true) or −∞ (false),
    ///   a numeric one its value. A mask shorter than the keys is padded with −∞.
    /// - The causal frontier and the window are bottom-right aligned: query `i`
    ///   sits at absolute position `p = i + offset`, where `offset` is the past
    ///   length, or `nonpad_kv_seqlen[b] − Lq` for an external cache, else 0
    ///   (negative offsets are kept: they mask leading rows completely). Causal
    ///   allows `j ≤ p`; the window `p − left ≤ j ≤ p + right` per nonnegative bound.
    /// - `nonpad_kv_seqlen[b]` masks keys `j ≥ nonpad_kv_seqlen[b]`.
    ///
    /// A disallowed position *adds* −∞, so a `+∞` mask value there gives NaN
    /// as in the reference.
    struct Bias<S: ComputeReal> {
        private var mask: [S]?
        private var maskStrides = [0, 0, 0]
        private var maskLength = 0
        private let causal: Bool
        private let left: Int
        private let right: Int
        private var offsets: [Int]
        private var nonpad: [Int]?
        private let kvLength: Int

        /// True when the bias is zero everywhere (no mask, causal, window or padding).
        var isZero: Bool { mask == nil && !causal && left < 0 && right < 0 && nonpad == nil }

        init(mask maskTensor: Tensor?, nonpad nonpadTensor: Tensor?, _ g: Geometry, _ attributes: Attributes) throws {
            causal = attributes.isCausal
            left = attributes.leftWindow
            right = attributes.rightWindow
            kvLength = g.kvLength
            offsets = Array(repeating: g.pastLength, count: g.batch)
            if let nonpadTensor {
                guard nonpadTensor.elementType == .int64, nonpadTensor.count == g.batch, nonpadTensor.shape.count == 1 else {
                    throw OnyxError.shapeMismatch(
                        "nonpad_kv_seqlen must be an int64 tensor of shape (\(g.batch)), got \(nonpadTensor.elementType) \(nonpadTensor.shape)")
                }
                let lengths = try nonpadTensor.int64Values().map { Int(truncatingIfNeeded: $0) }
                nonpad = lengths
                offsets = lengths.map { saturatingSubtract($0, g.qLength) }
            }
            if let maskTensor { try loadMask(maskTensor, g) }
        }

        private mutating func loadMask(_ tensor: Tensor, _ g: Geometry) throws {
            let shape = tensor.shape
            let type = tensor.elementType
            let allowed = type == .bool || (type.isInteger && type.bitWidth >= 8) || (try? Rounding(type)) != nil
            guard shape.count <= 4, allowed else {
                throw OnyxError.shapeMismatch("attn_mask must be a numeric or bool tensor of rank at most 4, got \(tensor.elementType) \(shape)")
            }
            let aligned = Array(repeating: 1, count: 4 - shape.count) + shape
            let target = [g.batch, g.qHeads, g.qLength]
            let strides = Tensor.strides(aligned)
            for axis in 0..<3 {
                guard aligned[axis] == target[axis] || aligned[axis] == 1 else {
                    throw OnyxError.shapeMismatch("attn_mask \(shape) does not broadcast to (\(g.batch), \(g.qHeads), \(g.qLength), \(g.kvLength))")
                }
                maskStrides[axis] = aligned[axis] == 1 ? 0 : strides[axis]
            }
            maskLength = aligned[3]
            guard maskLength <= g.kvLength else {
                throw OnyxError.shapeMismatch("attn_mask's last dimension \(maskLength) exceeds the \(g.kvLength) keys")
            }
            if tensor.elementType == .bool {
                mask = try tensor.withBoolBytes { bytes in bytes.map { $0 != 0 ? S(0) : -S.infinity } }
            } else {
                mask = try S.load(tensor)
            }
        }

        /// Writes the bias of row (`b`, `h`, `i`) into `row` (`kvLength` elements).
        func fill(_ row: UnsafeMutableBufferPointer<S>, b: Int, h: Int, i: Int) {
            let negativeInfinity = -S.infinity
            if let mask {
                let base = b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2]
                for j in 0..<kvLength { row[j] = j < maskLength ? mask[base + j] : negativeInfinity }
            } else {
                for j in 0..<kvLength { row[j] = 0 }
            }
            let position = saturatingAdd(i, offsets[b])
            if causal {
                for j in 0..<kvLength where j > position { row[j] += negativeInfinity }
            }
            if left >= 0 || right >= 0 {
                let first = left >= 0 ? saturatingSubtract(position, left) : Int.min
                let last = right >= 0 ? saturatingAdd(position, right) : Int.max
                for j in 0..<kvLength where j < first || j > last { row[j] += negativeInfinity }
            }
            if let nonpad {
                let valid = nonpad[b]
                for j in 0..<kvLength where j >= valid { row[j] += negativeInfinity }
            }
        }
    }
}
