import Foundation

/// TensorScatter (opset 24): a KV-cache update. `present_cache` is
/// `past_cache` with, for every prefix index before `axis` (default −2, never
/// the batch axis 0), the `update` rows `0..<S` written at sequence positions
/// `write_indices[batch] + s` (write indices default to 0).
///
/// - mode "linear": the positions must lie in `0..<max_sequence_length`
///   (out-of-range writes are an error).
/// - mode "circular": positions wrap modulo `max_sequence_length` (Python's
///   nonnegative modulo, so negative indices wrap too).
///
/// Every element type is copied exactly: byte-sized types as bytes, strings
/// as strings, the 4- and 2-bit kinds through their decoded values.
enum TensorScatterOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("TensorScatter", since: 24) { context in
            let mode = try context.string("mode", default: "linear")
            try context.check("mode", mode, in: ["linear", "circular"])
            let axis = try context.int("axis", default: -2)
            return ClosureKernel { inputs, _ in
                [.tensor(try scatter(
                    try inputs.tensor(0), update: try inputs.tensor(1), writeIndices: try inputs.optionalTensor(2),
                    axis: axis, circular: mode == "circular"))]
            }
        }
    }

    static func scatter(_ past: Tensor, update: Tensor, writeIndices: Tensor?, axis: Int, circular: Bool) throws -> Tensor {
        let shape = past.shape
        let rank = shape.count
        let resolved = try normalizeAxis(axis, rank: rank)
        guard rank >= 2, resolved != 0 else {
            throw OnyxError.invalidModel("axis \(axis) must not be the batch axis of a rank-\(rank) cache")
        }
        guard update.elementType == past.elementType, update.shape.count == rank,
              (0..<rank).allSatisfy({ $0 == resolved ? update.shape[$0] <= shape[$0] : update.shape[$0] == shape[$0] }) else {
            throw OnyxError.shapeMismatch("update \(update.elementType) \(update.shape) does not fit past_cache \(past.elementType) \(shape) on axis \(resolved)")
        }
        if past.count == 0 { return past }
        let batch = shape[0]
        let capacity = shape[resolved]
        let length = update.shape[resolved]
        let outer = try Tensor.checkedCount(Array(shape[..<resolved]))
        let perBatch = try Tensor.checkedCount(Array(shape[1..<resolved]))
        let inner = try Tensor.checkedCount(Array(shape[(resolved + 1)...]))
        var starts = [Int](repeating: 0, count: batch)
        if let writeIndices {
            guard writeIndices.elementType == .int64, writeIndices.shape == [batch] else {
                throw OnyxError.shapeMismatch("write_indices must be int64 of shape (\(batch)), got \(writeIndices.elementType) \(writeIndices.shape)")
            }
            starts = try writeIndices.int64Values().map { Int(truncatingIfNeeded: $0) }
        }
        // sourceRow[r]: the update row written to cache row r, or -1 to keep the past.
        var sourceRow = [Int](repeating: -1, count: outer * capacity)
        for o in 0..<outer {
            let start = starts[o / max(perBatch, 1)]
            for s in 0..<length {
                var position = saturatingAdd(start, s)
                if circular {
                    position = ((position % capacity) + capacity) % capacity
                } else if position < 0 || position >= capacity {
                    throw OnyxError.invalidModel("write position \(position) is outside the cache length \(capacity) (mode linear)")
                }
                sourceRow[o * capacity + position] = o * length + s
            }
        }
        return try assemble(past, update, sourceRow: sourceRow, inner: inner)
    }

    /// The cache with each row `r` replaced by update row `sourceRow[r]` where that is not −1.
    private static func assemble(_ past: Tensor, _ update: Tensor, sourceRow: [Int], inner: Int) throws -> Tensor {
        let shape = past.shape
        if past.elementType == .string {
            var values = past.stringBytes ?? []
            copyRows(&values, update.stringBytes ?? [], sourceRow: sourceRow, inner: inner)
            return try Tensor(shape: shape, stringBytes: values)
        }
        guard let size = past.elementSize else {
            if past.elementType.isInteger {
                var values = try past.int64Values()
                let updates = try update.int64Values()
                copyRows(&values, updates, sourceRow: sourceRow, inner: inner)
                return try Tensor.fromInt64s(values, shape: shape, as: past.elementType)
            }
            var values = try past.floatValues()
            let updates = try update.floatValues()
            copyRows(&values, updates, sourceRow: sourceRow, inner: inner)
            return try Tensor.fromFloats(values, shape: shape, as: past.elementType)
        }
        let rowBytes = inner * size
        return try Tensor.make(past.elementType, shape) { output in
            past.withUnsafeBytes { pastBytes in
                update.withUnsafeBytes { updateBytes in
                    guard let pastBase = pastBytes.baseAddress, let updateBase = updateBytes.baseAddress else { return }
                    for (row, source) in sourceRow.enumerated() {
                        let from = source >= 0 ? updateBase + source * rowBytes : pastBase + row * rowBytes
                        (output + row * rowBytes).copyMemory(from: from, byteCount: rowBytes)
                    }
                }
            }
        }
    }

    private static func copyRows<T>(_ values: inout [T], _ updates: [T], sourceRow: [Int], inner: Int) {
        for (row, source) in sourceRow.enumerated() where source >= 0 {
            for k in 0..<inner { values[row * inner + k] = updates[source * inner + k] }
        }
    }
}
