/// Table-driven copy: the output is written row-major over `outShape`, and
/// each output axis has a table giving, for every position along it, the
/// element offset that position contributes in the source; an output
/// element reads the source at the sum of its axes' entries.
///
/// Transpose, Slice, Expand, Tile, Pad, Gather along an axis, Compress and
/// DepthToSpace are all such tables. A negative entry marks a position that
/// takes the `fill` element instead (Pad's constant). Runs of consecutive
/// source offsets along the innermost axis are copied as one block.
enum IndexedCopy {
    static func run(
        _ copier: ElementCopier, source: Int, outShape: [Int], tables: [[Int]],
        fill: (source: Int, element: Int)? = nil
    ) throws {
        let rank = outShape.count
        guard tables.count == rank, zip(tables, outShape).allSatisfy({ $0.count == $1 }) else {
            throw OnyxError.invalidModel("internal: copy tables do not match the output shape \(outShape)")
        }
        let total = try Tensor.checkedCount(outShape)
        guard total > 0 else { return }
        guard rank > 0 else { return try copier.copy(source, from: 0, to: 0, count: 1) }
        func fillRun(_ to: Int, _ count: Int) throws {
            guard let fill else { throw OnyxError.invalidModel("internal: copy table asks for a fill value") }
            try copier.fill(fill.source, from: fill.element, to: to, count: count)
        }
        let inner = outShape[rank - 1]
        let last = tables[rank - 1]
        var index = [Int](repeating: 0, count: rank - 1)
        var destination = 0
        for _ in 0..<(total / inner) {
            var base = 0
            var filled = false
            for axis in 0..<(rank - 1) {
                let entry = tables[axis][index[axis]]
                if entry < 0 { filled = true; break }
                base &+= entry
            }
            if filled {
                try fillRun(destination, inner)
            } else {
                var j = 0
                while j < inner {
                    var k = j &+ 1
                    if last[j] < 0 {
                        while k < inner, last[k] < 0 { k &+= 1 }
                        try fillRun(destination &+ j, k &- j)
                    } else {
                        while k < inner, last[k] == last[k &- 1] &+ 1 { k &+= 1 }
                        try copier.copy(source, from: base &+ last[j], to: destination &+ j, count: k &- j)
                    }
                    j = k
                }
            }
            destination &+= inner
            var axis = rank - 2
            while axis >= 0 {
                index[axis] &+= 1
                if index[axis] < outShape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
    }

    /// A tensor of `outShape` copied from `source` (and `fill`, a one-element
    /// tensor of the same type) through `tables` over `view` (default
    /// `outShape`, same element count). The tables are built only once the
    /// output's size has been checked and is non-zero, so they stay small.
    static func build(
        _ source: Tensor, outShape: [Int], view: [Int]? = nil, fill: Tensor? = nil, tables: () throws -> [[Int]]
    ) throws -> Tensor {
        let sources = fill.map { [source, $0] } ?? [source]
        return try Tensor.assemble(source.elementType, outShape, from: sources) { copier in
            guard copier.outputCount > 0 else { return }
            try run(copier, source: 0, outShape: view ?? outShape, tables: try tables(),
                    fill: fill == nil ? nil : (1, 0))
        }
    }

    /// Entries `(start + i * step) * stride` for `i` in `0..<count`.
    static func arithmetic(count: Int, start: Int = 0, step: Int = 1, stride: Int) -> [Int] {
        (0..<count).map { (start &+ $0 &* step) &* stride }
    }

    /// A tensor with `tensor`'s elements viewed as `viewShape` and its axes
    /// permuted: output axis `i` is view axis `perm[i]`.
    static func permuted(_ tensor: Tensor, viewShape: [Int], perm: [Int]) throws -> Tensor {
        guard try Tensor.checkedCount(viewShape) == tensor.count, perm.count == viewShape.count,
            Set(perm).count == perm.count, perm.allSatisfy({ $0 >= 0 && $0 < viewShape.count })
        else {
            throw OnyxError.invalidModel("permutation \(perm) does not fit shape \(viewShape)")
        }
        let strides = Tensor.strides(viewShape)
        let outShape = perm.map { viewShape[$0] }
        return try build(tensor, outShape: outShape) {
            perm.map { arithmetic(count: viewShape[$0], stride: strides[$0]) }
        }
    }
}
