import Foundation

/// Shrink (9), BitCast (26) and TfIdfVectorizer (9). ImageDecoder is in
/// `ImageDecoderOps.swift`, the ai.onnx.ml operators in `MLOps.swift`, the
/// training optimizers in `TrainingOps.swift`.
enum MiscOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Shrink", since: 9) { context in
            let lambd = Double(try context.float("lambd", default: 0.5))
            let bias = Double(try context.float("bias", default: 0))
            return ClosureKernel { inputs, _ in [.tensor(try shrink(try inputs.tensor(0), lambd: lambd, bias: bias))] }
        }
        registry.register("BitCast", since: 26) { context in
            guard let code = try context.int("to"), let raw = Int32(exactly: code), let target = ElementType(rawValue: raw),
                  target != .string
            else { throw OnyxError.invalidModel("attribute \"to\" must name a non-string element type") }
            return ClosureKernel { inputs, _ in [.tensor(try bitCast(try inputs.tensor(0), to: target))] }
        }
        registry.register("TfIdfVectorizer", since: 9) { context in
            let vectorizer = try TfIdfVectorizer(context)
            return ClosureKernel { inputs, _ in [.tensor(try vectorizer.run(try inputs.tensor(0)))] }
        }
        ImageDecoderOps.register(into: &registry)
        MLOps.register(into: &registry)
        TrainingOps.register(into: &registry)
    }

    /// `x + bias` where `x < −lambd`, `x − bias` where `x > lambd`, else 0;
    /// computed in Double and converted back (integers truncate and wrap,
    /// as the reference's `astype` does).
    static func shrink(_ x: Tensor, lambd: Double, bias: Double) throws -> Tensor {
        let allowed: [ElementType] = [
            .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64, .float16, .float, .double,
        ]
        guard allowed.contains(x.elementType) else {
            throw OnyxError.wrongElementType("Shrink is not defined on \(x.elementType)")
        }
        let values = try x.doubleValues().map { v -> Double in v < -lambd ? v + bias : (v > lambd ? v - bias : 0) }
        return try Tensor.fromDoubles(values, shape: x.shape, as: x.elementType)
    }

    /// Reinterprets the little-endian bytes as `target`, which must have the
    /// same bit width (sub-byte kinds keep their packing). Bool targets get
    /// each byte normalized to 0 or 1, the only values a bool can hold.
    static func bitCast(_ x: Tensor, to target: ElementType) throws -> Tensor {
        guard x.elementType != .string else { throw OnyxError.wrongElementType("BitCast from string is not supported") }
        guard x.elementType.bitWidth == target.bitWidth else {
            throw OnyxError.wrongElementType(
                "BitCast needs equal bit widths: \(x.elementType) has \(x.elementType.bitWidth), \(target) \(target.bitWidth)")
        }
        guard let buffer = x.buffer else { throw OnyxError.wrongElementType("BitCast needs a numeric tensor") }
        guard target == .bool, x.elementType != .bool else {
            return try Tensor(elementType: target, shape: x.shape, buffer: buffer)
        }
        return try Tensor.make(.bool, x.shape) { out in
            x.withUnsafeBytes { bytes in
                for i in 0..<bytes.count { out.storeBytes(of: bytes[i] != 0 ? 1 : 0, toByteOffset: i, as: UInt8.self) }
            }
        }
    }
}

/// TfIdfVectorizer: counts the pool's n-grams (lengths min…max, items
/// `skip + 1` apart for every skip 0…max_skip_count; unigrams once) in
/// each row of a `[C]` or `[B, C]` int32 / int64 / string input. The i-th
/// pool n-gram's count goes to output column `ngram_indexes[i]`, of
/// `max(ngram_indexes) + 1` columns. IDF clips counts to 1; IDF and TFIDF
/// scale by `weights` indexed by output column, as the reference and
/// onnxruntime do. Output float.
struct TfIdfVectorizer: Sendable {
    enum Mode: String, Sendable { case tf = "TF", idf = "IDF", tfidf = "TFIDF" }

    let mode: Mode
    let minGram: Int
    let maxGram: Int
    let maxSkip: Int
    let ngramIndexes: [Int]
    let weights: [Double]
    let outputSize: Int
    /// Pool strings numbered in order of first appearance (string pools only).
    let stringIDs: [[UInt8]: Int64]?
    /// The pool as a trie: children by item, and the 1-based n-gram id ending at each node (0: none).
    let children: [[Int64: Int]]
    let ids: [Int]

    init(_ context: OpContext) throws {
        let modeName = try context.string("mode") ?? ""
        guard let mode = Mode(rawValue: modeName) else {
            throw OnyxError.invalidModel("mode must be TF, IDF or TFIDF, got \"\(modeName)\"")
        }
        self.mode = mode
        minGram = try context.int("min_gram_length", default: 0)
        maxGram = try context.int("max_gram_length", default: 0)
        maxSkip = try context.int("max_skip_count", default: 0)
        guard minGram >= 1, maxGram >= minGram, maxGram <= 1 << 31, (0...(1 << 31)).contains(maxSkip) else {
            throw OnyxError.invalidModel("need 1 ≤ min_gram_length ≤ max_gram_length and max_skip_count ≥ 0")
        }
        ngramIndexes = try context.ints("ngram_indexes") ?? []
        guard let largest = ngramIndexes.max(), ngramIndexes.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else {
            throw OnyxError.invalidModel("ngram_indexes must be a non-empty list of non-negative indices")
        }
        outputSize = largest + 1
        weights = (try context.floats("weights") ?? []).map(Double.init)
        guard weights.isEmpty || weights.count >= outputSize else {
            throw OnyxError.invalidModel("weights must have one entry per output column (\(outputSize))")
        }
        let integerPool = try context.ints("pool_int64s")
        var stringPool: [[UInt8]]?
        switch context.attributeValue("pool_strings") {
        case .strings(let list): stringPool = list
        case .string(let single): stringPool = [single]
        case nil: stringPool = nil
        default: throw OnyxError.invalidModel("pool_strings must be a list of strings")
        }
        guard (integerPool == nil) != (stringPool == nil) else {
            throw OnyxError.invalidModel("exactly one of pool_int64s and pool_strings must be set")
        }
        var pool = integerPool.map { $0.map(Int64.init) } ?? []
        if let stringPool {
            var numbering: [[UInt8]: Int64] = [:]
            for s in stringPool where numbering[s] == nil { numbering[s] = Int64(numbering.count) }
            pool = stringPool.map { numbering[$0] ?? -1 }
            stringIDs = numbering
        } else {
            stringIDs = nil
        }
        let counts = try context.ints("ngram_counts") ?? []
        var children: [[Int64: Int]] = [[:]]
        var ids = [0]
        var nextID = 1
        for (group, start) in counts.enumerated() {
            let size = group + 1
            let end = group + 1 < counts.count ? counts[group + 1] : pool.count
            guard start >= 0, start <= end, end <= pool.count else {
                throw OnyxError.invalidModel("ngram_counts \(counts) do not partition a pool of \(pool.count)")
            }
            let grams = (end - start) / size
            guard size >= minGram, size <= maxGram else {
                nextID += grams
                continue
            }
            for gram in 0..<grams {
                var node = 0
                for item in pool[(start + gram * size)..<(start + (gram + 1) * size)] {
                    if let next = children[node][item] {
                        node = next
                    } else {
                        children.append([:])
                        ids.append(0)
                        children[node][item] = children.count - 1
                        node = children.count - 1
                    }
                }
                guard nextID <= ngramIndexes.count else {
                    throw OnyxError.invalidModel("ngram_indexes has \(ngramIndexes.count) entries, the pool more n-grams")
                }
                ids[node] = nextID
                nextID += 1
            }
        }
        self.children = children
        self.ids = ids
    }

    func run(_ x: Tensor) throws -> Tensor {
        let items: [Int64]
        if let stringIDs {
            guard let strings = x.stringBytes else { throw OnyxError.wrongElementType("a string pool needs string input") }
            items = strings.map { stringIDs[$0] ?? -1 }
        } else {
            guard x.elementType == .int32 || x.elementType == .int64 else {
                throw OnyxError.wrongElementType("an int64 pool needs int32 or int64 input, got \(x.elementType)")
            }
            items = try x.int64Values()
        }
        guard x.shape.count <= 2 else { throw OnyxError.shapeMismatch("input must be [C] or [B, C], got \(x.shape)") }
        let rows = x.shape.count == 2 ? x.shape[0] : 1
        let columns = x.shape.last ?? 1
        let outShape = x.shape.count == 2 ? [rows, outputSize] : [outputSize]
        var counts = try TensorAllocation.array(repeating: 0 as Int, shape: outShape)
        for row in 0..<rows {
            let base = row * columns
            let outBase = row * outputSize
            var startSize = minGram
            for skip in 1...(maxSkip + 1) {
                for start in 0..<columns {
                    if start + skip * (startSize - 1) >= columns { break }
                    var (item, node, size) = (start, 0, 1)
                    while !children[node].isEmpty, size <= maxGram, item < columns,
                          let next = children[node][items[base + item]] {
                        if size >= startSize, ids[next] != 0 { counts[outBase + ngramIndexes[ids[next] - 1]] += 1 }
                        (node, size, item) = (next, size + 1, item + skip)
                    }
                }
                if startSize == 1 {
                    startSize = 2
                    if startSize > maxGram { break }
                }
            }
        }
        let values = counts.enumerated().map { index, count -> Float in
            let weight = weights.isEmpty ? 1 : weights[index % outputSize]
            switch mode {
            case .tf: return Float(count)
            case .idf: return count > 0 ? Float(weight) : 0
            case .tfidf: return Float(weight * Double(count))
            }
        }
        return try Tensor(shape: outShape, scalars: values)
    }
}
