/// Table-driven copy: the output is written row-major over `outShape`, and
/// each output axis has a table giving, for every position along it, the
/// element offset that position contributes in the source; an output
/// element reads the source at the sum of its axes' entries.
///
/// Transpose, Slice, Expand, Tile, Pad, Gather along an axis, Compress and
/// DepthToSpace are all such tables. A negative entry marks a position that
/// takes the `fill` element instead (Pad's constant). Along the innermost
/// axis, runs of consecutive source offsets are copied as blocks, or, when
/// runs are short, the row is gathered element by element.
enum IndexedCopy {
    static func run(
        _ copier: ElementCopier, source: Int, outShape givenShape: [Int], tables givenTables: [[Int]],
        fill: (source: Int, element: Int)? = nil
    ) throws {
        guard givenTables.count == givenShape.count, zip(givenTables, givenShape).allSatisfy({ $0.count == $1 }) else {
            throw OnyxError.invalidModel("internal: copy tables do not match the output shape \(givenShape)")
        }
        let total = try Tensor.checkedCount(givenShape)
        guard total > 0 else { return }
        let (outShape, tables) = mergingShortRows(givenShape, givenTables)
        let rank = outShape.count
        guard rank > 0 else { return try copier.copy(source, from: 0, to: 0, count: 1) }
        func fillRun(_ to: Int, _ count: Int) throws {
            guard let fill else { throw OnyxError.invalidModel("internal: copy table asks for a fill value") }
            try copier.fill(fill.source, from: fill.element, to: to, count: count)
        }
        let inner = outShape[rank - 1]
        let last = tables[rank - 1]
        let hasFill = last.contains { $0 < 0 }
        let breaks = zip(last.dropFirst(), last).reduce(0) { $1.0 == $1.1 &+ 1 ? $0 : $0 &+ 1 }
        let elementwise = !hasFill && breaks &* 4 >= inner
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
            } else if elementwise {
                try last.withUnsafeBufferPointer {
                    try copier.gatherRow(source, base: base, offsets: $0, to: destination)
                }
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

    /// Folds the innermost axis into the one before while rows are short
    /// (fewer than 64 elements) and the merged table stays small, so that
    /// per-row overhead does not dominate. Row-major order is unchanged.
    private static func mergingShortRows(_ shape: [Int], _ tables: [[Int]]) -> ([Int], [[Int]]) {
        var shape = shape
        var tables = tables
        while shape.count > 1, let inner = shape.last, inner < 64, shape[shape.count - 2] &* inner <= 4096 {
            let innerTable = tables.removeLast()
            let outerTable = tables.removeLast()
            shape.removeLast(2)
            var merged: [Int] = []
            merged.reserveCapacity(outerTable.count &* inner)
            for a in outerTable {
                for b in innerTable { merged.append(a < 0 || b < 0 ? -1 : a &+ b) }
            }
            shape.append(merged.count)
            tables.append(merged)
        }
        return (shape, tables)
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
        let rank = perm.count
        // Two shapes without tables: the innermost axis kept (whole runs
        // copied), or, for 4-byte elements, moved to second-innermost (a 2-D
        // transpose per block in 8×8 tiles).
        if rank >= 2, tensor.count > 0 {
            let (second, last) = (perm[rank - 2], perm[rank - 1])
            if last == rank - 1, viewShape[last] >= 8 {
                return try blocks(tensor, outShape: outShape, outer: rank - 1, strides: perm.map { strides[$0] }) {
                    copier, from, to in try copier.copy(0, from: from, to: to, count: viewShape[last])
                }
            }
            if second == rank - 1, viewShape[second] >= 8, viewShape[last] >= 8, tensor.elementType != .string,
               tensor.elementType.bitWidth == 32 {
                let (rows, columns) = (viewShape[second], viewShape[last])
                return try blocks(tensor, outShape: outShape, outer: rank - 2, strides: perm.map { strides[$0] }) {
                    copier, from, to in
                    try copier.transposeBlock(0, from: from, sourceStride: strides[last], rows: rows, columns: columns, to: to)
                }
            }
        }
        return try build(tensor, outShape: outShape) {
            perm.map { arithmetic(count: viewShape[$0], stride: strides[$0]) }
        }
    }

    /// A tensor of `outShape` filled block by block: the output axes from
    /// `outer` on form one contiguous block, and `body(copier, from, to)`
    /// writes the block at output element `to` from source element `from`
    /// (the sum over the outer axes of index · `strides[axis]`).
    private static func blocks(
        _ tensor: Tensor, outShape: [Int], outer: Int, strides: [Int],
        _ body: (ElementCopier, Int, Int) throws -> Void
    ) throws -> Tensor {
        try Tensor.assemble(tensor.elementType, outShape, from: [tensor]) { copier in
            guard copier.outputCount > 0 else { return }
            let block = outShape[outer...].reduce(1, &*)
            var index = [Int](repeating: 0, count: outer)
            var from = 0
            for to in stride(from: 0, to: copier.outputCount, by: block) {
                try body(copier, from, to)
                var axis = outer - 1
                while axis >= 0 {
                    index[axis] &+= 1
                    from &+= strides[axis]
                    if index[axis] < outShape[axis] { break }
                    from &-= strides[axis] &* outShape[axis]
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}
