/// An einsum operand's labels (one per dimension, repeats allowed) and shape.
struct EinsumOperand: Sendable {
    let labels: [Int]
    let shape: [Int]
}

/// The arithmetic einsum computes in.
protocol EinsumScalar {
    static var zero: Self { get }
    static var one: Self { get }
    static func add(_ a: Self, _ b: Self) -> Self
    static func multiply(_ a: Self, _ b: Self) -> Self
}

extension Double: EinsumScalar {
    static var one: Double { 1 }
    @inline(__always) static func add(_ a: Double, _ b: Double) -> Double { a + b }
    @inline(__always) static func multiply(_ a: Double, _ b: Double) -> Double { a * b }
}

extension Int64: EinsumScalar {
    static var one: Int64 { 1 }
    @inline(__always) static func add(_ a: Int64, _ b: Int64) -> Int64 { a &+ b }
    @inline(__always) static func multiply(_ a: Int64, _ b: Int64) -> Int64 { a &* b }
}

/// Evaluates an einsum by contracting operands pairwise from the left.
struct EinsumPlan: Sendable {
    let operands: [EinsumOperand]
    let output: [Int]
    let sizes: [Int: Int]

    private struct Part<A> {
        let labels: [Int]
        let shape: [Int]
        let values: [A]
    }

    /// The output elements (row-major over `output`), given each operand's values.
    func run<A: EinsumScalar>(_ values: [[A]]) throws -> [A] {
        guard operands.count > 1 else {
            return try contract([Part(labels: operands[0].labels, shape: operands[0].shape, values: values[0])], keep: output)
        }
        let parts = try operands.indices.map { try reducedPart($0, values[$0]) }
        var current = parts[0]
        for i in 1..<operands.count {
            let next = parts[i]
            let keep: [Int]
            if i == operands.count - 1 {
                keep = output
            } else {
                let needed = Set(operands[(i + 1)...].flatMap(\.labels)).union(output)
                keep = EinsumPlan.unique(current.labels + next.labels).filter(needed.contains)
            }
            let result = try contract([current, next], keep: keep)
            current = Part(labels: keep, shape: keep.map { sizes[$0] ?? 1 }, values: result)
        }
        return current.values
    }

    /// Operand `index` with its diagonals taken and the labels no other
    /// operand or the output uses summed out, so that pairwise steps only
    /// iterate over labels two operands share or the result keeps.
    private func reducedPart<A: EinsumScalar>(_ index: Int, _ values: [A]) throws -> Part<A> {
        let operand = operands[index]
        var needed = Set(output)
        for (other, o) in operands.enumerated() where other != index { needed.formUnion(o.labels) }
        let keep = EinsumPlan.unique(operand.labels).filter(needed.contains)
        let part = Part(labels: operand.labels, shape: operand.shape, values: values)
        guard keep != operand.labels else { return part }
        return Part(labels: keep, shape: keep.map { sizes[$0] ?? 1 }, values: try contract([part], keep: keep))
    }

    static func unique(_ labels: [Int]) -> [Int] {
        var seen = Set<Int>()
        return labels.filter { seen.insert($0).inserted }
    }

    /// Sums the product of `parts` over every label not in `keep`; the
    /// result is laid out row-major over `keep`.
    private func contract<A: EinsumScalar>(_ parts: [Part<A>], keep: [Int]) throws -> [A] {
        let summed = EinsumPlan.unique(parts.flatMap(\.labels)).filter { !keep.contains($0) }
        let keptSizes = keep.map { sizes[$0] ?? 1 }
        let summedSizes = summed.map { sizes[$0] ?? 1 }
        let outCount = try Tensor.checkedCount(keptSizes)
        let summedCount = try Tensor.checkedCount(summedSizes)
        _ = try TensorAllocation.checkedBytes(.double, count: outCount)
        var strideMaps: [[Int: Int]] = []
        for part in parts {
            let contiguous = Tensor.strides(part.shape)
            var map: [Int: Int] = [:]
            for (axis, label) in part.labels.enumerated() where part.shape[axis] != 1 {
                map[label, default: 0] &+= contiguous[axis]
            }
            strideMaps.append(map)
        }
        var outer = Odometer(sizes: keptSizes, strides: strideMaps.map { map in keep.map { map[$0] ?? 0 } })
        var inner = Odometer(sizes: summedSizes, strides: strideMaps.map { map in summed.map { map[$0] ?? 0 } })
        var result = [A](repeating: A.zero, count: outCount)
        guard outCount > 0, summedCount > 0 else { return result }
        let count = parts.count
        var o = 0
        repeat {
            var accumulator = A.zero
            inner.reset()
            repeat {
                var product = parts[0].values[outer.offsets[0] &+ inner.offsets[0]]
                for p in 1..<count {
                    product = A.multiply(product, parts[p].values[outer.offsets[p] &+ inner.offsets[p]])
                }
                accumulator = A.add(accumulator, product)
            } while inner.next()
            result[o] = accumulator
            o += 1
        } while outer.next()
        return result
    }
}

/// Walks a multi-index in row-major order, keeping one element offset per
/// operand up to date.
struct Odometer {
    let sizes: [Int]
    /// `strides[d * parts + p]`: operand p's stride along dimension d.
    private let strides: [Int]
    private let parts: Int
    private var index: [Int]
    private(set) var offsets: [Int]

    init(sizes: [Int], strides perPart: [[Int]]) {
        self.sizes = sizes
        parts = perPart.count
        var flat = [Int](repeating: 0, count: sizes.count * perPart.count)
        for (p, partStrides) in perPart.enumerated() {
            for d in sizes.indices { flat[d * perPart.count + p] = partStrides[d] }
        }
        strides = flat
        index = [Int](repeating: 0, count: sizes.count)
        offsets = [Int](repeating: 0, count: perPart.count)
    }

    mutating func reset() {
        for d in index.indices { index[d] = 0 }
        for p in offsets.indices { offsets[p] = 0 }
    }

    /// Advances to the next position; false (and back at the start) after the last.
    mutating func next() -> Bool {
        var d = sizes.count - 1
        while d >= 0 {
            index[d] += 1
            let base = d * parts
            for p in 0..<parts { offsets[p] &+= strides[base + p] }
            if index[d] < sizes[d] { return true }
            for p in 0..<parts { offsets[p] &-= strides[base + p] &* sizes[d] }
            index[d] = 0
            d -= 1
        }
        return false
    }
}
