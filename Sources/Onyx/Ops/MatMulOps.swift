/// MatMul (opset 1, 9, 13) and MatMulInteger (opset 10), with numpy
/// `matmul` semantics: a 1-D first operand is a row vector and a 1-D
/// second operand a column vector (the added dimension is dropped from the
/// result); leading batch dimensions broadcast.
///
/// float32 runs on the packed GEMM kernels (`MatMulOps+Float.swift`; a
/// constant 2-D B is packed when the plan is built); double multiplies in
/// its own type (the reference i-k-j loop); float16 and bfloat16 compute in
/// Float with the reference loop and round once; integers wrap.
/// MatMulInteger subtracts the zero points (a scalar, a per-row vector of
/// length M for A / per-column vector of length N for B, or a tensor that
/// broadcasts to the operand's shape) and accumulates in int32, wrapping.
enum MatMulOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("MatMul", versions: [1, 9, 13]) { context in
            let constantB = MatrixProduct.packedConstantB(context.constantInputs.count > 1 ? context.constantInputs[1] : nil)
            return ClosureKernel { inputs, run in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                guard a.elementType == b.elementType else {
                    throw OnyxError.wrongElementType("operands are \(a.elementType) and \(b.elementType)")
                }
                let product = try MatrixProduct(a.shape, b.shape)
                let packedB = constantB.flatMap { $0.matches(b) ? $0.matrices.first : nil }
                return [.tensor(try MatMulVisitor(
                    a: a, b: b, product: product, packedB: packedB, threads: run.options.threads).apply())]
            }
        }
        registry.register("MatMulInteger", since: 10) { _ in
            ClosureKernel { inputs, _ in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                let product = try MatrixProduct(a.shape, b.shape)
                let x = try shifted(a, by: try inputs.optionalTensor(2), vectorShape: [product.m, 1])
                let y = try shifted(b, by: try inputs.optionalTensor(3), vectorShape: [1, product.n])
                return [.tensor(try Tensor.make(Int32.self, product.outputShape) { out in
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeBufferPointer { yp in product.integers(xp, yp, out) }
                    }
                })]
            }
        }
    }

    /// `tensor - zeroPoint` as int32, for an int8 / uint8 operand of MatMulInteger.
    static func shifted(_ tensor: Tensor, by zeroPoint: Tensor?, vectorShape: [Int]) throws -> [Int32] {
        guard tensor.elementType == .int8 || tensor.elementType == .uint8 else {
            throw OnyxError.wrongElementType("MatMulInteger operands must be int8 or uint8, got \(tensor.elementType)")
        }
        let values = try tensor.int64Values().map { Int32(truncatingIfNeeded: $0) }
        guard let zeroPoint else { return values }
        guard zeroPoint.elementType == tensor.elementType else {
            throw OnyxError.wrongElementType("zero point is \(zeroPoint.elementType), operand is \(tensor.elementType)")
        }
        let points = try zeroPoint.int64Values().map { Int32(truncatingIfNeeded: $0) }
        var pointShape = zeroPoint.shape
        if points.count == 1 {
            pointShape = []
        } else if pointShape.count == 1 && tensor.shape.count >= 2 {
            pointShape = vectorShape
        }
        guard try Broadcast.shape([tensor.shape, pointShape]) == tensor.shape else {
            throw OnyxError.shapeMismatch("zero point of shape \(zeroPoint.shape) does not fit operand \(tensor.shape)")
        }
        var result = [Int32](repeating: 0, count: values.count)
        try values.withUnsafeBufferPointer { vp in
            try points.withUnsafeBufferPointer { pp in
                try result.withUnsafeMutableBufferPointer { out in
                    try Broadcast.binary(vp, tensor.shape, pp, pointShape, into: out, outShape: tensor.shape) { $0 &- $1 }
                }
            }
        }
        return result
    }
}

/// The geometry of a (batched) matrix product with numpy `matmul` rules.
struct MatrixProduct: Sendable {
    let m: Int
    let k: Int
    let n: Int
    let batchShape: [Int]
    let outputShape: [Int]
    /// Element offsets of each operand's matrix per batch position.
    let aStrides: [Int]
    let bStrides: [Int]

    init(_ aShape: [Int], _ bShape: [Int]) throws {
        guard !aShape.isEmpty, !bShape.isEmpty else {
            throw OnyxError.shapeMismatch("MatMul operands must have rank ≥ 1, got \(aShape) and \(bShape)")
        }
        let a = aShape.count == 1 ? [1, aShape[0]] : aShape
        let b = bShape.count == 1 ? [bShape[0], 1] : bShape
        m = a[a.count - 2]
        k = a[a.count - 1]
        n = b[b.count - 1]
        guard b[b.count - 2] == k else {
            throw OnyxError.shapeMismatch("cannot multiply \(aShape) by \(bShape): inner dimensions differ")
        }
        let aBatch = Array(a.dropLast(2))
        let bBatch = Array(b.dropLast(2))
        batchShape = try Broadcast.shape([aBatch, bBatch])
        outputShape = batchShape + (aShape.count == 1 ? [] : [m]) + (bShape.count == 1 ? [] : [n])
        let mk = m &* k
        let kn = k &* n
        aStrides = Broadcast.strides(of: aBatch, broadcastTo: batchShape).map { $0 &* mk }
        bStrides = Broadcast.strides(of: bBatch, broadcastTo: batchShape).map { $0 &* kn }
    }

    /// Calls `body(aOffset, bOffset, outOffset)` for each matrix of the batch.
    func forEachBatch(_ body: (Int, Int, Int) -> Void) {
        let mn = m &* n
        Broadcast.forEach(batchShape, strides: [aStrides, bStrides]) { index, offsets in
            body(offsets[0], offsets[1], index &* mn)
        }
    }

    /// out = a · b for floating-point elements; `out` starts zeroed.
    func floats<T: BinaryFloatingPoint>(
        _ a: UnsafeBufferPointer<T>, _ b: UnsafeBufferPointer<T>, _ out: UnsafeMutableBufferPointer<T>
    ) {
        guard let ap = a.baseAddress, let bp = b.baseAddress, let cp = out.baseAddress else { return }
        let (m, k, n) = (self.m, self.k, self.n)
        forEachBatch { aOffset, bOffset, outOffset in
            for i in 0..<m {
                let row = cp + (outOffset &+ i &* n)
                let aRow = ap + (aOffset &+ i &* k)
                for p in 0..<k {
                    let scale = aRow[p]
                    let bRow = bp + (bOffset &+ p &* n)
                    for j in 0..<n { row[j] += scale * bRow[j] }
                }
            }
        }
    }

    /// out = a · b for integer elements, wrapping; `out` starts zeroed.
    func integers<T: FixedWidthInteger>(
        _ a: UnsafeBufferPointer<T>, _ b: UnsafeBufferPointer<T>, _ out: UnsafeMutableBufferPointer<T>
    ) {
        guard let ap = a.baseAddress, let bp = b.baseAddress, let cp = out.baseAddress else { return }
        let (m, k, n) = (self.m, self.k, self.n)
        forEachBatch { aOffset, bOffset, outOffset in
            for i in 0..<m {
                let row = cp + (outOffset &+ i &* n)
                let aRow = ap + (aOffset &+ i &* k)
                for p in 0..<k {
                    let scale = aRow[p]
                    let bRow = bp + (bOffset &+ p &* n)
                    for j in 0..<n { row[j] &+= scale &* bRow[j] }
                }
            }
        }
    }
}

struct MatMulVisitor: ElementVisitor {
    let a: Tensor
    let b: Tensor
    let product: MatrixProduct
    var packedB: PackedMatrix? = nil
    var threads: Int? = nil

    func apply() throws -> Tensor { try a.elementType.visit(self) }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        if T.self == Double.self { return try native(Double.self) }
        if T.self == Float.self {
            return try a.withElements(Float.self) { x in
                try b.withElements(Float.self) { y in
                    try Tensor.make(Float.self, product.outputShape) { out in
                        try product.sgemm(x, y, out, packedB: packedB, threads: threads)
                    }
                }
            }
        }
        return try viaFloat(a.elementType)
    }

    private func native<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try a.withElements(T.self) { x in
            try b.withElements(T.self) { y in
                try Tensor.make(T.self, product.outputShape) { out in product.floats(x, y, out) }
            }
        }
    }

    private func viaFloat(_ type: ElementType) throws -> Tensor {
        let x = try a.floatValues()
        let y = try b.floatValues()
        let count = try Tensor.checkedCount(product.outputShape)
        _ = try TensorAllocation.checkedBytes(.float, count: count)
        var result = [Float](repeating: 0, count: count)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                result.withUnsafeMutableBufferPointer { product.floats(xp, yp, $0) }
            }
        }
        return try Tensor.fromFloats(result, shape: product.outputShape, as: type)
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try a.withElements(T.self) { x in
            try b.withElements(T.self) { y in
                try Tensor.make(T.self, product.outputShape) { out in product.integers(x, y, out) }
            }
        }
    }

    func visitBool() throws -> Tensor { throw OnyxError.wrongElementType("MatMul is not defined on bool") }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else { throw OnyxError.wrongElementType("MatMul is not defined on \(type)") }
        return try viaFloat(type)
    }
}
