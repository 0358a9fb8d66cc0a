/// RotaryEmbedding (opset 23): rotates the first `rotary_embedding_dim`
/// features of every head (all of them when the attribute is 0) by angles
/// whose cosine and sine come from the caches.
///
/// - X is 4-D `(B, H, S, D)` or 3-D `(B, S, H·D)` with `num_heads`; Y has X's shape.
/// - With `position_ids` `(B, S)` the caches are `(max_position, rot/2)` and
///   row `position_ids[b, s]` is used (negative ids count from the end, as
///   NumPy indexing does; others out of range are an error). Without them the
///   caches are `(B, S, rot/2)` (batch or sequence of size 1 broadcast).
/// - Pairs `(x1, x2)` are the two halves of the rotated block, or with
///   `interleaved` the even and odd features; each becomes
///   `(cos·x1 − sin·x2, sin·x1 + cos·x2)` written back to the same places.
///
/// Computes in Float, rounding every product and sum to X's type as the
/// reference does for float16 and bfloat16.
enum RotaryEmbeddingOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("RotaryEmbedding", since: 23) { context in
            let interleaved = try context.int("interleaved", default: 0) != 0
            let rotaryDim = try context.int("rotary_embedding_dim", default: 0)
            let numHeads = try context.int("num_heads")
            guard rotaryDim >= 0, rotaryDim % 2 == 0 else {
                throw OnyxError.invalidModel("rotary_embedding_dim must be a nonnegative even number, got \(rotaryDim)")
            }
            return ClosureKernel { inputs, _ in
                [.tensor(try apply(
                    try inputs.tensor(0), cos: try inputs.tensor(1), sin: try inputs.tensor(2),
                    positions: try inputs.optionalTensor(3), interleaved: interleaved, rotaryDim: rotaryDim, numHeads: numHeads))]
            }
        }
    }

    static func apply(
        _ x: Tensor, cos: Tensor, sin: Tensor, positions: Tensor?, interleaved: Bool, rotaryDim: Int, numHeads: Int?
    ) throws -> Tensor {
        let rounding = try Rounding(x.elementType)
        guard x.elementType != .double, cos.elementType == x.elementType, sin.elementType == x.elementType else {
            throw OnyxError.wrongElementType("X, cos_cache and sin_cache must share one of float, float16, bfloat16")
        }
        let shape = x.shape
        if x.count == 0 { return x }
        let batch: Int, length: Int, heads: Int, headSize: Int
        let strides: (batch: Int, head: Int, position: Int)
        switch shape.count {
        case 4:
            (batch, heads, length, headSize) = (shape[0], shape[1], shape[2], shape[3])
            strides = (heads * length * headSize, length * headSize, headSize)
        case 3:
            guard let numHeads, numHeads > 0, shape[2] % numHeads == 0 else {
                throw OnyxError.invalidModel("3-D input needs a positive num_heads dividing \(shape[2])")
            }
            (batch, length, heads, headSize) = (shape[0], shape[1], numHeads, shape[2] / numHeads)
            strides = (length * heads * headSize, headSize, heads * headSize)
        default:
            throw OnyxError.shapeMismatch("X must be 3-D or 4-D, got \(shape)")
        }
        let rotary = rotaryDim == 0 ? headSize : rotaryDim
        guard rotary <= headSize, rotary % 2 == 0 else {
            throw OnyxError.invalidModel("rotary_embedding_dim \(rotary) must be even and at most the head size \(headSize)")
        }
        let half = rotary / 2
        let rows = try cacheRows(cos: cos, sin: sin, positions: positions, batch: batch, length: length, half: half)
        let cosValues = try cos.floatValues()
        let sinValues = try sin.floatValues()
        var values = try x.floatValues()
        var x1 = [Float](repeating: 0, count: half)
        var x2 = [Float](repeating: 0, count: half)
        for b in 0..<batch {
            for s in 0..<length {
                let cacheBase = rows[b * length + s] * half
                for h in 0..<heads {
                    let base = b * strides.batch + h * strides.head + s * strides.position
                    for k in 0..<half {
                        x1[k] = values[base + (interleaved ? 2 * k : k)]
                        x2[k] = values[base + (interleaved ? 2 * k + 1 : k + half)]
                    }
                    for k in 0..<half {
                        let c = cosValues[cacheBase + k]
                        let n = sinValues[cacheBase + k]
                        let real = ((c * x1[k]).rounded(rounding) - (n * x2[k]).rounded(rounding)).rounded(rounding)
                        let imaginary = ((n * x1[k]).rounded(rounding) + (c * x2[k]).rounded(rounding)).rounded(rounding)
                        values[base + (interleaved ? 2 * k : k)] = real
                        values[base + (interleaved ? 2 * k + 1 : k + half)] = imaginary
                    }
                }
            }
        }
        return try Float.store(values, shape: shape, as: x.elementType)
    }

    /// For each (batch, position) pair, the cache row (in units of `half`
    /// elements) holding its cosines and sines.
    private static func cacheRows(cos: Tensor, sin: Tensor, positions: Tensor?, batch: Int, length: Int, half: Int) throws -> [Int] {
        guard cos.shape == sin.shape, cos.shape.last == half else {
            throw OnyxError.shapeMismatch("cos_cache \(cos.shape) and sin_cache \(sin.shape) must agree and end in rotary_embedding_dim/2 = \(half)")
        }
        var rows = [Int](repeating: 0, count: batch * length)
        if let positions {
            guard positions.elementType == .int64, positions.shape == [batch, length], cos.shape.count == 2 else {
                throw OnyxError.shapeMismatch(
                    "position_ids must be int64 (\(batch), \(length)) with 2-D caches, got \(positions.shape) and caches \(cos.shape)")
            }
            let limit = cos.shape[0]
            for (index, id) in try positions.int64Values().enumerated() {
                guard id >= -Int64(limit), id < Int64(limit) else {
                    throw OnyxError.invalidModel("position id \(id) is outside the \(limit) cache rows")
                }
                let row = Int(id)
                rows[index] = row < 0 ? row + limit : row
            }
        } else {
            guard cos.shape.count == 3, cos.shape[0] == batch || cos.shape[0] == 1, cos.shape[1] == length || cos.shape[1] == 1 else {
                throw OnyxError.shapeMismatch("without position_ids the caches must be (\(batch), \(length), \(half)), got \(cos.shape)")
            }
            let batchStride = cos.shape[0] == 1 ? 0 : cos.shape[1]
            let positionStride = cos.shape[1] == 1 ? 0 : 1
            for b in 0..<batch {
                for s in 0..<length { rows[b * length + s] = b * batchStride + s * positionStride }
            }
        }
        return rows
    }
}
