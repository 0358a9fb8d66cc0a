/// TopK: the `k` largest (or, with `largest = 0`, smallest) elements along
/// `axis` (default -1) and their int64 indices.
///
/// Opset 1 takes `k` as an attribute, opset 10 on as a one-element int64
/// input; `largest` and `sorted` exist from opset 11. Results are always
/// sorted (for `sorted = 0` the order is unspecified, so this conforms).
/// Equal values keep the lower index first; NaN ranks above every number
/// (first when largest, last when smallest), as numpy's sort places it.
/// `k` must lie in 0...dim.
enum SortOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("TopK", versions: [1, 10, 11, 24]) { try topK($0) }
        UniqueOps.register(into: &registry)
    }

    static func topK(_ context: OpContext) throws -> any Kernel {
        let axis = try context.int("axis", default: -1)
        let largest = context.opset >= 11 ? try context.int("largest", default: 1) != 0 : true
        let attributeK = context.opset < 10 ? try context.int("k") : nil
        if context.opset < 10 && attributeK == nil { throw OnyxError.invalidModel("attribute \"k\" is required") }
        return ClosureKernel { inputs, _ in
            let x = try inputs.tensor(0)
            var k = attributeK ?? 0
            if attributeK == nil {
                let kTensor = try inputs.tensor(1)
                guard kTensor.elementType == .int64, kTensor.count == 1, kTensor.shape.count <= 1 else {
                    throw OnyxError.invalidModel("K must be a one-element int64 tensor, got \(kTensor)")
                }
                guard let value = Int(exactly: try kTensor.int64Values()[0]) else {
                    throw OnyxError.invalidModel("K is out of range")
                }
                k = value
            }
            guard !x.shape.isEmpty else { throw OnyxError.invalidModel("TopK needs an input of rank ≥ 1") }
            let resolved = try normalizeAxis(axis, rank: x.shape.count)
            let length = x.shape[resolved]
            guard k >= 0, k <= length else {
                throw OnyxError.invalidModel("k = \(k) is out of range for axis \(axis) of length \(length)")
            }
            var outputShape = x.shape
            outputShape[resolved] = k
            let line = SortLine(
                outer: x.shape[..<resolved].reduce(1, &*), length: length,
                inner: x.shape[(resolved + 1)...].reduce(1, &*), k: k, largest: largest)
            let indices = try Tensor.make(Int64.self, outputShape) { out in
                try TopKVisitor(x: x, line: line, out: out).apply()
            }
            let values = try line.gather(x, indices: indices, outputShape: outputShape)
            return [.tensor(values), .tensor(indices)]
        }
    }
}

/// A selection along the middle axis of [outer, length, inner].
struct SortLine: Sendable {
    let outer: Int
    let length: Int
    let inner: Int
    let k: Int
    let largest: Bool

    /// Writes, for each line, the indices of its first `k` elements in
    /// ranked order.
    func select<T: Comparable>(
        _ x: UnsafeBufferPointer<T>, into out: UnsafeMutableBufferPointer<Int64>, isNaN: (T) -> Bool
    ) {
        guard k > 0 else { return }
        var order = [Int](repeating: 0, count: length)
        let largest = self.largest
        for o in 0..<outer {
            for j in 0..<inner {
                let base = o &* length &* inner &+ j
                for i in 0..<length { order[i] = i }
                order.sort { a, b in
                    let va = x[base &+ a &* inner]
                    let vb = x[base &+ b &* inner]
                    let nanA = isNaN(va)
                    let nanB = isNaN(vb)
                    if nanA != nanB { return largest ? nanA : nanB }
                    if !nanA && va != vb { return largest ? va > vb : va < vb }
                    return a < b
                }
                let outBase = o &* k &* inner &+ j
                for r in 0..<k { out[outBase &+ r &* inner] = Int64(order[r]) }
            }
        }
    }

    /// The elements of `x` at `indices` (positions along the middle axis).
    func gather(_ x: Tensor, indices: Tensor, outputShape: [Int]) throws -> Tensor {
        guard let size = x.elementSize else {
            throw OnyxError.wrongElementType("TopK is not defined on \(x.elementType)")
        }
        let positions = try indices.scalars(as: Int64.self)
        return try Tensor.make(x.elementType, outputShape) { out in
            x.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                for o in 0..<outer {
                    for r in 0..<k {
                        for j in 0..<inner {
                            let target = (o &* k &+ r) &* inner &+ j
                            let from = (o &* length &+ Int(positions[target])) &* inner &+ j
                            (out + target &* size).copyMemory(from: base + from &* size, byteCount: size)
                        }
                    }
                }
            }
        }
    }
}

struct TopKVisitor: ElementVisitor {
    let x: Tensor
    let line: SortLine
    let out: UnsafeMutableBufferPointer<Int64>

    func apply() throws {
        guard x.elementType != .string else { throw OnyxError.wrongElementType("TopK is not defined on string") }
        try x.elementType.visit(self)
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws {
        try x.withElements(T.self) { line.select($0, into: out) { $0.isNaN } }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws {
        try x.withElements(T.self) { line.select($0, into: out) { _ in false } }
    }

    func visitBool() throws {
        let values = try x.scalars(as: Bool.self).map { $0 ? UInt8(1) : 0 }
        values.withUnsafeBufferPointer { line.select($0, into: out) { _ in false } }
    }

    func visitOther(_ type: ElementType) throws {
        guard type.isFloatingPoint else { throw OnyxError.wrongElementType("TopK is not defined on \(type)") }
        let values = try x.floatValues()
        values.withUnsafeBufferPointer { line.select($0, into: out) { $0.isNaN } }
    }
}
