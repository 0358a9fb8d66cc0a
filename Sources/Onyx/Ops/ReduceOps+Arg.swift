/// ArgMax and ArgMin: the int64 index of the largest / smallest element
/// along `axis` (default 0), with `keepdims` (default 1).
///
/// Ties give the first index, or the last with `select_last_index = 1`
/// (opset 12 on). NaN counts as the extreme for both operators, as in
/// numpy: the first NaN wins (the last one with `select_last_index`).
/// Reducing an axis of length 0 is an error.
enum ArgReduceOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("ArgMax", versions: [1, 11, 12, 13]) { try build(largest: true, $0) }
        registry.register("ArgMin", versions: [1, 11, 12, 13]) { try build(largest: false, $0) }
    }

    static func build(largest: Bool, _ context: OpContext) throws -> any Kernel {
        let axis = try context.int("axis", default: 0)
        let keepdims = try context.int("keepdims", default: 1) != 0
        let selectLast = context.opset >= 12 ? try context.int("select_last_index", default: 0) != 0 : false
        return ClosureKernel { inputs, _ in
            let data = try inputs.tensor(0)
            let rank = data.shape.count
            let resolved = try normalizeAxis(axis, rank: rank)
            let shape = rank == 0 ? [1] : data.shape
            let length = shape[resolved]
            let outer = shape[..<resolved].reduce(1, &*)
            let inner = shape[(resolved + 1)...].reduce(1, &*)
            guard length > 0 || outer &* inner == 0 else {
                throw OnyxError.invalidModel("cannot take the arg\(largest ? "max" : "min") of an empty axis")
            }
            var outputShape = rank == 0 ? [] : data.shape
            if rank > 0 {
                if keepdims { outputShape[resolved] = 1 } else { outputShape.remove(at: resolved) }
            }
            let layout = ArgLayout(
                outer: outer, length: length, inner: inner, largest: largest, selectLast: selectLast)
            let visitor = ArgVisitor(data: data, layout: layout, outputShape: outputShape)
            return [.tensor(try data.elementType.visit(visitor))]
        }
    }
}

/// The input seen as [outer, length, inner] with the reduction in the middle.
struct ArgLayout: Sendable {
    let outer: Int
    let length: Int
    let inner: Int
    let largest: Bool
    let selectLast: Bool

    /// Writes the winning index of each (outer, inner) line into `out`.
    func indices<T: Comparable>(
        _ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<Int64>, isNaN: (T) -> Bool
    ) {
        guard length > 0 else { return }
        for o in 0..<outer {
            let base = o &* length &* inner
            for j in 0..<inner {
                var best = x[base &+ j]
                var bestIndex = 0
                var bestIsNaN = isNaN(best)
                var k = 1
                while k < length && !(bestIsNaN && !selectLast) {
                    let value = x[base &+ k &* inner &+ j]
                    if bestIsNaN {
                        if isNaN(value) { bestIndex = k }
                    } else if isNaN(value) {
                        best = value
                        bestIndex = k
                        bestIsNaN = true
                    } else if largest ? value > best : value < best {
                        best = value
                        bestIndex = k
                    } else if selectLast && value == best {
                        bestIndex = k
                    }
                    k += 1
                }
                out[o &* inner &+ j] = Int64(bestIndex)
            }
        }
    }
}

struct ArgVisitor: ElementVisitor {
    let data: Tensor
    let layout: ArgLayout
    let outputShape: [Int]

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try data.withElements(T.self) { x in
            try Tensor.make(Int64.self, outputShape) { out in layout.indices(x, into: out) { $0.isNaN } }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try data.withElements(T.self) { x in
            try Tensor.make(Int64.self, outputShape) { out in layout.indices(x, into: out) { _ in false } }
        }
    }

    func visitBool() throws -> Tensor {
        let values = try data.scalars(as: Bool.self).map { $0 ? UInt8(1) : 0 }
        return try values.withUnsafeBufferPointer { x in
            try Tensor.make(Int64.self, outputShape) { out in layout.indices(x, into: out) { _ in false } }
        }
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else {
            throw OnyxError.wrongElementType("ArgMax / ArgMin are not defined on \(type)")
        }
        let values = try data.floatValues()
        return try values.withUnsafeBufferPointer { x in
            try Tensor.make(Int64.self, outputShape) { out in layout.indices(x, into: out) { $0.isNaN } }
        }
    }
}
