/// The float32 Gemm fast path on the packed GEMM kernels: transposes become
/// strides (no copy), a constant B is packed when the plan is built, and C
/// enters as a fused row or column bias (`beta · C`, rounded as the reference
/// rounds it) when it broadcasts along one axis, or is copied into the output
/// and scaled by beta otherwise. A ``FusedActivation`` (FusedGemm) runs in
/// the epilogue (ReLU, Clip) or on the output right after the product.
extension LinearAlgebraOps {
    /// A constant float32 B packed as the k × n operand op(B).
    static func packedConstantB(_ b: Tensor?, transposed: Bool) -> PackedConstant? {
        guard let b, b.elementType == .float, b.shape.count == 2, b.count > 0 else { return nil }
        let (k, n) = transposed ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard let packed = try? b.withElements(Float.self, { values in
            var matrix = Gemm.Matrix.rowMajor(values.baseAddress, columns: b.shape[1])
            if transposed { matrix = matrix.transposed }
            return try PackedMatrix(.b, rows: k, columns: n, from: matrix)
        }) else { return nil }
        return PackedConstant(b, matrices: [packed])
    }

    /// alpha · op(A) · op(B) + beta · C for float32; `cStrides` broadcast C to [M, N].
    static func floatGemm(
        _ a: Tensor, _ b: Tensor, _ c: Tensor?, cStrides: [Int], alpha: Float, beta: Float,
        transA: Bool, transB: Bool, packedB: PackedMatrix?, fused: FusedActivation? = nil, threads: Int?
    ) throws -> Tensor {
        let epilogue = fused?.gemmEpilogue ?? .none
        let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = transB ? b.shape[0] : b.shape[1]
        return try a.withElements(Float.self) { x in
            try b.withElements(Float.self) { y in
                try Tensor.make(Float.self, [m, n]) { out in
                    guard let outBase = out.baseAddress else { return }
                    var aMatrix = Gemm.Matrix.rowMajor(x.baseAddress, columns: a.shape[1])
                    if transA { aMatrix = aMatrix.transposed }
                    var bMatrix = Gemm.Matrix.rowMajor(y.baseAddress, columns: b.shape[1])
                    if transB { bMatrix = bMatrix.transposed }
                    let bOperand: Gemm.Operand = packedB.map { .packed($0) } ?? .matrix(bMatrix)
                    let multiply = { (beta: Float, bias: Gemm.Bias) in
                        try Gemm.multiply(
                            m: m, n: n, k: k, alpha: alpha, a: .matrix(aMatrix), b: bOperand, beta: beta,
                            c: outBase, ldc: n, bias: bias, activation: epilogue, threads: threads)
                        if let fused, fused.gemmEpilogue == nil {
                            fused.apply(UnsafeMutableBufferPointer(start: outBase, count: m &* n), threads: threads)
                        }
                    }
                    guard let c, beta != 0 else { return try multiply(0, .none) }
                    try c.withElements(Float.self) { cValues in
                        guard let cBase = cValues.baseAddress else { return try multiply(0, .none) }
                        if cStrides[0] == 0 {
                            let bias = (0..<n).map { beta * cBase[$0 &* cStrides[1]] }
                            try bias.withUnsafeBufferPointer { try multiply(0, .column($0.baseAddress ?? cBase)) }
                        } else if cStrides[1] == 0 {
                            let bias = (0..<m).map { beta * cBase[$0 &* cStrides[0]] }
                            try bias.withUnsafeBufferPointer { try multiply(0, .row($0.baseAddress ?? cBase)) }
                        } else {
                            for i in 0..<m {
                                for j in 0..<n { outBase[i &* n &+ j] = cBase[i &* cStrides[0] &+ j &* cStrides[1]] }
                            }
                            try multiply(beta, .none)
                        }
                    }
                }
            }
        }
    }
}
