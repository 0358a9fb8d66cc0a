/// Multidirectional (numpy-style) broadcasting.
enum Broadcast {
    /// The broadcast shape of `shapes`, or an error naming them.
    static func shape(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (axis, dim) in shape.enumerated() {
                let current = result[offset + axis]
                if current == dim || dim == 1 { continue }
                if current == 1 {
                    result[offset + axis] = dim
                } else {
                    throw OnyxError.shapeMismatch(
                        "shapes \(shapes.map { "\($0)" }.joined(separator: ", ")) cannot be broadcast together")
                }
            }
        }
        return result
    }

    /// Element strides that read `shape` as if it had `target`'s shape
    /// (0 along broadcast axes).
    static func strides(of shape: [Int], broadcastTo target: [Int]) -> [Int] {
        let own = Tensor.strides(shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { axis in
            let source = axis - offset
            guard source >= 0, shape[source] != 1 else { return 0 }
            return own[source]
        }
    }

    /// Calls `body(outputIndex, offsets)` for every element of `outShape`,
    /// with each operand's element offset; operands are given by strides.
    /// The innermost axis runs as a tight loop.
    static func forEach(
        _ outShape: [Int], strides operandStrides: [[Int]], _ body: (Int, UnsafeMutablePointer<Int>) -> Void
    ) {
        let count = outShape.reduce(1, &*)
        guard count > 0 else { return }
        let operands = operandStrides.count
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: max(operands, 1))
        defer { offsets.deallocate() }
        offsets.initialize(repeating: 0, count: max(operands, 1))
        let rank = outShape.count
        if rank == 0 {
            body(0, offsets)
            return
        }
        let inner = outShape[rank - 1]
        let innerStrides = operandStrides.map { $0[rank - 1] }
        var index = [Int](repeating: 0, count: rank)
        var out = 0
        while out < count {
            let base = (0..<operands).map { operand in
                var offset = 0
                for axis in 0..<(rank - 1) { offset &+= index[axis] &* operandStrides[operand][axis] }
                return offset
            }
            for i in 0..<inner {
                for operand in 0..<operands { offsets[operand] = base[operand] &+ i &* innerStrides[operand] }
                body(out, offsets)
                out += 1
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < outShape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { break }
        }
    }

    /// Applies `op` elementwise to two typed operands with broadcasting.
    static func binary<T, U>(
        _ a: UnsafeBufferPointer<T>, _ aShape: [Int], _ b: UnsafeBufferPointer<T>, _ bShape: [Int],
        into out: UnsafeMutableBufferPointer<U>, outShape: [Int], _ op: (T, T) throws -> U
    ) throws {
        if aShape == bShape {
            for i in 0..<out.count { out[i] = try op(a[i], b[i]) }
        } else if b.count == 1 && out.count == a.count {
            let scalar = b[0]
            for i in 0..<out.count { out[i] = try op(a[i], scalar) }
        } else if a.count == 1 && out.count == b.count {
            let scalar = a[0]
            for i in 0..<out.count { out[i] = try op(scalar, b[i]) }
        } else {
            let strides = [strides(of: aShape, broadcastTo: outShape), strides(of: bShape, broadcastTo: outShape)]
            var failure: Error?
            forEach(outShape, strides: strides) { index, offsets in
                guard failure == nil else { return }
                do {
                    out[index] = try op(a[offsets[0]], b[offsets[1]])
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
    }
}
