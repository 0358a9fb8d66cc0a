/// Unique (opset 11, 28): the distinct elements of the flattened input, or
/// the distinct slices along `axis` when given, with the index of each
/// one's first occurrence, the inverse mapping and the counts.
///
/// `sorted = 1` (default) orders them ascending, slices lexicographically;
/// `sorted = 0` keeps the order of first occurrence. Floating-point values
/// compare numerically (-0 equals 0, all NaNs are one value sorting last);
/// complex values by real then imaginary part; strings by their bytes
/// (which for UTF-8 is code point order). Outputs: Y, then int64
/// `indices`, `inverse_indices` (one per input element or slice) and `counts`.
enum UniqueOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Unique", versions: [11, 28]) { try build($0) }
    }

    static func build(_ context: OpContext) throws -> any Kernel {
        let axis = try context.int("axis")
        let sorted = try context.int("sorted", default: 1) != 0
        let outputCount = context.outputCount
        return ClosureKernel { inputs, _ in
            let x = try inputs.tensor(0)
            let layout: (outer: Int, length: Int, inner: Int)
            var resolved: Int?
            if let axis {
                let r = try normalizeAxis(axis, rank: x.shape.count)
                guard !x.shape.isEmpty else { throw OnyxError.invalidModel("Unique with an axis needs rank ≥ 1") }
                resolved = r
                layout = (x.shape[..<r].reduce(1, &*), x.shape[r], x.shape[(r + 1)...].reduce(1, &*))
            } else {
                layout = (1, x.count, 1)
            }
            let grouping = try UniqueGrouping(x, outer: layout.outer, length: layout.length, inner: layout.inner, sorted: sorted)
            let u = grouping.firsts.count
            var yShape = [u]
            if let resolved {
                yShape = x.shape
                yShape[resolved] = u
            }
            let y = try gatherSlices(x, grouping.firsts, layout: layout, shape: yShape)
            let outputs: [Value?] = [
                .tensor(y),
                .tensor(try Tensor.make(Int64.self, [u]) { out in
                    for g in 0..<u { out[g] = Int64(grouping.firsts[g]) }
                }),
                .tensor(try Tensor.make(Int64.self, [layout.length]) { out in
                    for i in 0..<layout.length { out[i] = Int64(grouping.inverse[i]) }
                }),
                .tensor(try Tensor.make(Int64.self, [u]) { out in
                    for g in 0..<u { out[g] = Int64(grouping.counts[g]) }
                }),
            ]
            return Array(outputs.prefix(max(outputCount, 1)))
        }
    }

    /// Slices `positions` (along the middle axis of `layout`) of `x`.
    static func gatherSlices(
        _ x: Tensor, _ positions: [Int], layout: (outer: Int, length: Int, inner: Int), shape: [Int]
    ) throws -> Tensor {
        let k = positions.count
        let inner = layout.inner
        if let strings = x.stringBytes {
            var result: [[UInt8]] = []
            result.reserveCapacity(layout.outer &* k &* inner)
            for o in 0..<layout.outer {
                for p in positions {
                    let start = (o &* layout.length &+ p) &* inner
                    result.append(contentsOf: strings[start..<(start + inner)])
                }
            }
            return try Tensor(shape: shape, stringBytes: result)
        }
        guard let size = x.elementSize else { throw OnyxError.wrongElementType("Unique is not defined on \(x.elementType)") }
        let bytes = inner &* size
        return try Tensor.make(x.elementType, shape) { out in
            x.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                var target = 0
                for o in 0..<layout.outer {
                    for p in positions {
                        let from = (o &* layout.length &+ p) &* bytes
                        (out + target).copyMemory(from: base + from, byteCount: bytes)
                        target &+= bytes
                    }
                }
            }
        }
    }
}

/// The groups of equal slices of a tensor seen as [outer, length, inner].
struct UniqueGrouping {
    /// Per output position, the first slice index of the group.
    var firsts: [Int] = []
    var counts: [Int] = []
    /// Per input slice, its group's output position.
    var inverse: [Int]

    init(_ x: Tensor, outer: Int, length: Int, inner: Int, sorted: Bool) throws {
        inverse = [Int](repeating: 0, count: length)
        let type = x.elementType
        if let strings = x.stringBytes {
            group(strings, outer, length, inner, sorted, less: { $0.lexicographicallyPrecedes($1) }, equal: { $0 == $1 })
        } else if type == .complex64 || type == .complex128 {
            let keys = try x.complexComponents()
            group(keys, outer, length, 2 &* inner, sorted, less: UniqueGrouping.less, equal: UniqueGrouping.equal)
        } else if type.isFloatingPoint {
            group(try x.doubleValues(), outer, length, inner, sorted, less: UniqueGrouping.less, equal: UniqueGrouping.equal)
        } else if type == .uint64 {
            let keys = try x.int64Values().map { UInt64(bitPattern: $0) }
            group(keys, outer, length, inner, sorted, less: { $0 < $1 }, equal: { $0 == $1 })
        } else {
            group(try x.int64Values(), outer, length, inner, sorted, less: { $0 < $1 }, equal: { $0 == $1 })
        }
    }

    /// NaN sorts after every number and equals itself.
    static func less(_ a: Double, _ b: Double) -> Bool { a.isNaN ? false : (b.isNaN || a < b) }
    static func equal(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }

    private mutating func group<K>(
        _ keys: [K], _ outer: Int, _ length: Int, _ inner: Int, _ sorted: Bool,
        less: (K, K) -> Bool, equal: (K, K) -> Bool
    ) {
        func compare(_ a: Int, _ b: Int) -> Int {
            for o in 0..<outer {
                let rowA = (o &* length &+ a) &* inner
                let rowB = (o &* length &+ b) &* inner
                for j in 0..<inner {
                    let ka = keys[rowA &+ j]
                    let kb = keys[rowB &+ j]
                    if equal(ka, kb) { continue }
                    return less(ka, kb) ? -1 : 1
                }
            }
            return 0
        }
        let order = (0..<length).sorted { a, b in
            let c = compare(a, b)
            return c != 0 ? c < 0 : a < b
        }
        var groupOf = [Int](repeating: 0, count: length)
        for (position, slice) in order.enumerated() {
            if position == 0 || compare(order[position - 1], slice) != 0 {
                firsts.append(slice)
                counts.append(0)
            }
            counts[counts.count - 1] += 1
            groupOf[slice] = firsts.count - 1
        }
        var rank = Array(0..<firsts.count)
        if !sorted {
            let byFirst = rank.sorted { firsts[$0] < firsts[$1] }
            firsts = byFirst.map { firsts[$0] }
            counts = byFirst.map { counts[$0] }
            for (position, g) in byFirst.enumerated() { rank[g] = position }
        }
        for slice in 0..<length { inverse[slice] = rank[groupOf[slice]] }
    }
}
