import Foundation

/// Gemm (opset 1–13) and Det (opset 11, 22).
///
/// Gemm computes `alpha · A' · B' + beta · C` for 2-D A and B, where A' is
/// A or its transpose (`transA`) and likewise B'. float32 runs on the packed
/// GEMM kernels (`LinearAlgebraOps+Float.swift`). C broadcasts
/// unidirectionally to [M, N]; it is optional (required by the spec before
/// opset 11, accepted absent everywhere). Before opset 7, C must have
/// exactly the shape [M, N] unless `broadcast = 1`. float and double
/// accumulate in their own type, float16 / bfloat16 in Float; integers
/// wrap, and with a non-integral alpha or beta go through Double and
/// convert back truncating. With `beta = 0`, C is not read (so its NaNs
/// do not leak into the result).
///
/// Det gives the determinant of each square matrix in the trailing two
/// dimensions [..., M, M], by LU factorization with partial pivoting in
/// Double (an empty matrix has determinant 1).
enum LinearAlgebraOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Gemm", versions: [1, 6, 7, 9, 11, 13]) { try gemm($0) }
        registry.register("Det", versions: [11, 22]) { _ in ClosureKernel { inputs, _ in [.tensor(try det(inputs.tensor(0)))] } }
    }

    static func gemm(_ context: OpContext) throws -> any Kernel {
        let alpha = try context.float("alpha", default: 1)
        let beta = try context.float("beta", default: 1)
        let transA = try context.int("transA", default: 0) != 0
        let transB = try context.int("transB", default: 0) != 0
        let legacyBroadcast = try context.int("broadcast", default: 0) != 0
        let broadcast = context.opset >= 7 || legacyBroadcast
        let constantB = packedConstantB(context.constantInputs.count > 1 ? context.constantInputs[1] : nil, transposed: transB)
        return ClosureKernel { inputs, run in
            var a = try inputs.tensor(0)
            var b = try inputs.tensor(1)
            let c = beta == 0 ? nil : try inputs.optionalTensor(2)
            guard a.shape.count == 2, b.shape.count == 2 else {
                throw OnyxError.shapeMismatch("Gemm needs 2-D A and B, got \(a.shape) and \(b.shape)")
            }
            guard a.elementType == b.elementType, c.map({ $0.elementType == a.elementType }) ?? true else {
                throw OnyxError.wrongElementType("Gemm operands differ in element type")
            }
            let m = transA ? a.shape[1] : a.shape[0]
            let n = transB ? b.shape[0] : b.shape[1]
            guard (transA ? a.shape[0] : a.shape[1]) == (transB ? b.shape[1] : b.shape[0]) else {
                throw OnyxError.shapeMismatch("cannot multiply A' of \(a.shape) by B' of \(b.shape) (transA \(transA), transB \(transB))")
            }
            let outShape = [m, n]
            var cStrides = [0, 0]
            if let c {
                if !broadcast && c.shape != outShape {
                    throw OnyxError.shapeMismatch("C of shape \(c.shape) is not [M, N] = \(outShape) and broadcast = 0")
                }
                guard c.shape.count <= 2, try Broadcast.shape([c.shape, outShape]) == outShape else {
                    throw OnyxError.shapeMismatch("C of shape \(c.shape) does not broadcast to \(outShape)")
                }
                cStrides = Broadcast.strides(of: c.shape, broadcastTo: outShape)
            }
            if a.elementType == .float {
                let packedB = constantB.flatMap { $0.matches(b) ? $0.matrices.first : nil }
                return [.tensor(try floatGemm(
                    a, b, c, cStrides: cStrides, alpha: alpha, beta: beta, transA: transA, transB: transB,
                    packedB: packedB, threads: run.options.threads))]
            }
            if transA { a = try transposed(a) }
            if transB { b = try transposed(b) }
            let product = try MatrixProduct(a.shape, b.shape)
            let epilogue = GemmEpilogue(alpha: alpha, beta: beta, columns: product.n, cStrides: cStrides)
            return [.tensor(try GemmVisitor(a: a, b: b, c: c, product: product, epilogue: epilogue).apply())]
        }
    }

    /// The transpose of a 2-D tensor of a byte-addressable type.
    static func transposed(_ t: Tensor) throws -> Tensor {
        guard let size = t.elementSize else { throw OnyxError.wrongElementType("Gemm is not defined on \(t.elementType)") }
        let rows = t.shape[0]
        let columns = t.shape[1]
        return try Tensor.make(t.elementType, [columns, rows]) { out in
            t.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                for i in 0..<rows {
                    for j in 0..<columns {
                        (out + (j &* rows &+ i) &* size).copyMemory(from: base + (i &* columns &+ j) &* size, byteCount: size)
                    }
                }
            }
        }
    }

    static func det(_ x: Tensor) throws -> Tensor {
        guard x.elementType.isFloatingPoint else { throw OnyxError.wrongElementType("Det is not defined on \(x.elementType)") }
        let rank = x.shape.count
        guard rank >= 2, x.shape[rank - 1] == x.shape[rank - 2] else {
            throw OnyxError.shapeMismatch("Det needs square matrices [..., M, M], got \(x.shape)")
        }
        let n = x.shape[rank - 1]
        let batchShape = Array(x.shape.dropLast(2))
        let batch = try Tensor.checkedCount(batchShape)
        var values = try x.doubleValues()
        var result = [Double](repeating: 1, count: batch)
        for matrix in 0..<batch {
            let base = matrix &* n &* n
            var determinant = 1.0
            for column in 0..<n {
                var pivot = column
                for row in (column + 1)..<n where abs(values[base + row * n + column]) > abs(values[base + pivot * n + column]) {
                    pivot = row
                }
                let pivotValue = values[base + pivot * n + column]
                if pivotValue == 0 {
                    determinant = 0
                    break
                }
                if pivot != column {
                    for j in 0..<n { values.swapAt(base + pivot * n + j, base + column * n + j) }
                    determinant = -determinant
                }
                determinant *= pivotValue
                for row in (column + 1)..<n {
                    let factor = values[base + row * n + column] / pivotValue
                    for j in (column + 1)..<n { values[base + row * n + j] -= factor * values[base + column * n + j] }
                }
            }
            result[matrix] = determinant
        }
        return try Tensor.fromDoubles(result, shape: batchShape, as: x.elementType)
    }
}

/// `y = alpha · y + beta · C[i, j]` over an [M, N] result.
struct GemmEpilogue: Sendable {
    let alpha: Float
    let beta: Float
    let columns: Int
    let cStrides: [Int]

    func apply<T>(_ y: UnsafeMutableBufferPointer<T>, _ c: UnsafeBufferPointer<T>?, _ combine: (T, T?) -> T) {
        guard columns > 0 else { return }
        for index in y.indices {
            let i = index / columns
            let j = index % columns
            y[index] = combine(y[index], c.map { $0[i &* cStrides[0] &+ j &* cStrides[1]] })
        }
    }
}

struct GemmVisitor: ElementVisitor {
    let a: Tensor
    let b: Tensor
    let c: Tensor?
    let product: MatrixProduct
    let epilogue: GemmEpilogue

    func apply() throws -> Tensor { try a.elementType.visit(self) }

    private var outShape: [Int] { [product.m, product.n] }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        if T.self == Double.self { return try native(Double.self) }
        if T.self == Float.self { return try native(Float.self) }
        return try viaFloat(a.elementType)
    }

    private func native<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let alpha = T(epilogue.alpha)
        let beta = T(epilogue.beta)
        return try a.withElements(T.self) { x in
            try b.withElements(T.self) { y in
                try Tensor.make(T.self, outShape) { out in
                    product.floats(x, y, out)
                    if let c {
                        try c.withElements(T.self) { cp in epilogue.apply(out, cp) { alpha * $0 + beta * ($1 ?? 0) } }
                    } else {
                        epilogue.apply(out, nil) { v, _ in alpha * v }
                    }
                }
            }
        }
    }

    private func viaFloat(_ type: ElementType) throws -> Tensor {
        let x = try a.floatValues()
        let y = try b.floatValues()
        let cValues = try c?.floatValues()
        let count = try Tensor.checkedCount(outShape)
        _ = try TensorAllocation.checkedBytes(.float, count: count)
        var result = [Float](repeating: 0, count: count)
        let (alpha, beta) = (epilogue.alpha, epilogue.beta)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeBufferPointer { yp in
                result.withUnsafeMutableBufferPointer { out in
                    product.floats(xp, yp, out)
                    if let cValues {
                        cValues.withUnsafeBufferPointer { cp in epilogue.apply(out, cp) { alpha * $0 + beta * ($1 ?? 0) } }
                    } else {
                        epilogue.apply(out, nil) { v, _ in alpha * v }
                    }
                }
            }
        }
        return try Tensor.fromFloats(result, shape: outShape, as: type)
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        let alpha = Double(epilogue.alpha)
        let beta = Double(epilogue.beta)
        let exact = alpha.rounded() == alpha && beta.rounded() == beta && abs(alpha) < 0x1p62 && abs(beta) < 0x1p62
        let alphaInteger = exact ? T(truncatingIfNeeded: Int64(alpha)) : 0
        let betaInteger = exact ? T(truncatingIfNeeded: Int64(beta)) : 0
        return try a.withElements(T.self) { x in
            try b.withElements(T.self) { y in
                try Tensor.make(T.self, outShape) { out in
                    product.integers(x, y, out)
                    let combine: (T, T?) -> T = { v, cv in
                        if exact { return alphaInteger &* v &+ betaInteger &* (cv ?? 0) }
                        return saturatingInteger(alpha * Double(v) + beta * Double(cv ?? 0))
                    }
                    if let c {
                        try c.withElements(T.self) { cp in epilogue.apply(out, cp, combine) }
                    } else {
                        epilogue.apply(out, nil, combine)
                    }
                }
            }
        }
    }

    func visitBool() throws -> Tensor { throw OnyxError.wrongElementType("Gemm is not defined on bool") }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else { throw OnyxError.wrongElementType("Gemm is not defined on \(type)") }
        return try viaFloat(type)
    }
}
