/// Moves blocks of elements along one axis: concatenating, stacking,
/// splitting and unstacking tensors. These are the shared mechanics of
/// Loop and Scan (scan inputs and outputs), SplitToSequence and
/// ConcatFromSequence.
///
/// Works for every element type: byte-sized types copy bytes, strings
/// copy element byte arrays, and the packed sub-byte types (int4, uint2,
/// float4e2m1, ...) copy bit fields. Every pass is linear in the elements.
enum AxisStacking {
    /// Concatenates `parts` along `axis`. All parts must share the element
    /// type, the rank and every dimension except `axis`.
    static func concatenate(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else {
            throw OnyxError.invalidModel("cannot concatenate an empty list of tensors")
        }
        let rank = first.shape.count
        guard axis >= 0, axis < rank else {
            throw OnyxError.invalidModel("axis \(axis) is out of range for rank \(rank)")
        }
        var total = 0
        for part in parts {
            guard part.elementType == first.elementType else {
                throw OnyxError.wrongElementType("cannot join \(first.elementType) and \(part.elementType) tensors")
            }
            guard part.shape.count == rank,
                  part.shape.indices.allSatisfy({ $0 == axis || part.shape[$0] == first.shape[$0] })
            else {
                throw OnyxError.shapeMismatch(
                    "shapes \(first.shape) and \(part.shape) differ outside axis \(axis)")
            }
            let (sum, overflow) = total.addingReportingOverflow(part.shape[axis])
            guard !overflow else { throw OnyxError.resourceLimit("concatenated dimension overflows") }
            total = sum
        }
        var shape = first.shape
        shape[axis] = total
        let outer = try Tensor.checkedCount(Array(shape[..<axis]))
        let inner = try Tensor.checkedCount(Array(shape[(axis + 1)...]))
        if first.elementType == .string {
            var out: [[UInt8]] = []
            out.reserveCapacity(try Tensor.checkedCount(shape))
            for o in 0..<outer {
                for part in parts {
                    let block = part.shape[axis] &* inner
                    guard block > 0, let values = part.stringBytes else { continue }
                    out.append(contentsOf: values[(o &* block)..<(o &* block &+ block)])
                }
            }
            return try Tensor(shape: shape, stringBytes: out)
        }
        return try Tensor.make(first.elementType, shape) { destination in
            var written = 0
            for o in 0..<outer {
                for part in parts {
                    let block = part.shape[axis] &* inner
                    copy(part, from: o &* block, count: block, to: destination, at: written)
                    written &+= block
                }
            }
        }
    }

    /// Stacks equally shaped `parts` along a new axis `axis` (0...rank).
    static func stack(_ parts: [Tensor], axis: Int) throws -> Tensor {
        guard let first = parts.first else {
            throw OnyxError.invalidModel("cannot stack an empty list of tensors")
        }
        guard axis >= 0, axis <= first.shape.count else {
            throw OnyxError.invalidModel("axis \(axis) is out of range for stacking rank \(first.shape.count)")
        }
        let expanded = try parts.map { part -> Tensor in
            guard part.shape == first.shape else {
                throw OnyxError.shapeMismatch("cannot stack tensors of shapes \(first.shape) and \(part.shape)")
            }
            var shape = part.shape
            shape.insert(1, at: axis)
            return try part.reshaped(shape)
        }
        return try concatenate(expanded, axis: axis)
    }

    /// Splits `tensor` along `axis` into consecutive parts of `lengths`,
    /// which must be non-negative and sum to the dimension.
    static func split(_ tensor: Tensor, axis: Int, lengths: [Int]) throws -> [Tensor] {
        let rank = tensor.shape.count
        guard axis >= 0, axis < rank else {
            throw OnyxError.invalidModel("axis \(axis) is out of range for rank \(rank)")
        }
        let dim = tensor.shape[axis]
        var sum = 0
        for length in lengths {
            guard length >= 0, length <= dim - sum else {
                throw OnyxError.shapeMismatch("split lengths \(lengths) do not fit dimension \(dim)")
            }
            sum += length
        }
        guard sum == dim else {
            throw OnyxError.shapeMismatch("split lengths \(lengths) sum to \(sum), not dimension \(dim)")
        }
        let outer = tensor.shape[..<axis].reduce(1, &*)
        let inner = tensor.shape[(axis + 1)...].reduce(1, &*)
        var parts: [Tensor] = []
        parts.reserveCapacity(lengths.count)
        var start = 0
        for length in lengths {
            var shape = tensor.shape
            shape[axis] = length
            let block = length &* inner
            let offset = start &* inner
            if tensor.elementType == .string {
                let values = tensor.stringBytes ?? []
                var out: [[UInt8]] = []
                out.reserveCapacity(outer &* block)
                for o in 0..<outer where block > 0 {
                    let base = o &* dim &* inner &+ offset
                    out.append(contentsOf: values[base..<(base &+ block)])
                }
                parts.append(try Tensor(shape: shape, stringBytes: out))
            } else {
                parts.append(try Tensor.make(tensor.elementType, shape) { destination in
                    for o in 0..<outer {
                        copy(tensor, from: o &* dim &* inner &+ offset, count: block, to: destination, at: o &* block)
                    }
                })
            }
            start += length
        }
        return parts
    }

    /// The sub-tensors of `tensor` at each index of `axis`, with that axis removed.
    static func unstack(_ tensor: Tensor, axis: Int) throws -> [Tensor] {
        guard axis >= 0, axis < tensor.shape.count else {
            throw OnyxError.invalidModel("axis \(axis) is out of range for rank \(tensor.shape.count)")
        }
        var shape = tensor.shape
        shape.remove(at: axis)
        let lengths = [Int](repeating: 1, count: tensor.shape[axis])
        return try split(tensor, axis: axis, lengths: lengths).map { try $0.reshaped(shape) }
    }

    /// Copies `count` elements of the numeric tensor `source`, starting at
    /// element `from`, into the zeroed buffer `destination` at element `at`.
    private static func copy(
        _ source: Tensor, from: Int, count: Int, to destination: UnsafeMutableRawPointer, at: Int
    ) {
        guard count > 0 else { return }
        let bits = source.elementType.bitWidth
        source.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            if bits % 8 == 0 {
                let size = bits / 8
                (destination + at &* size).copyMemory(from: base + from &* size, byteCount: count &* size)
                return
            }
            let mask = UInt8((1 << bits) - 1)
            let bytes = base.assumingMemoryBound(to: UInt8.self)
            let out = destination.assumingMemoryBound(to: UInt8.self)
            for i in 0..<count {
                let sourceBit = (from &+ i) &* bits
                let value = (bytes[sourceBit >> 3] >> UInt8(sourceBit & 7)) & mask
                let targetBit = (at &+ i) &* bits
                out[targetBit >> 3] |= value << UInt8(targetBit & 7)
            }
        }
    }
}
