/// The float32 MatMul fast path: each matrix of the batch through the packed
/// GEMM (`Gemm.multiply`), with a constant 2-D B packed once at plan time.
/// When B is shared by the whole batch and A's batch is contiguous, the batch
/// folds into the rows of one product.
extension MatrixProduct {
    /// B packed for the fast path when it is a constant float32 matrix.
    static func packedConstantB(_ b: Tensor?) -> PackedConstant? {
        guard let b, b.elementType == .float, b.shape.count == 2, b.count > 0 else { return nil }
        let (k, n) = (b.shape[0], b.shape[1])
        guard let packed = try? b.withElements(Float.self, { values in
            try PackedMatrix(.b, rows: k, columns: n, from: .rowMajor(values.baseAddress, columns: n))
        }) else { return nil }
        return PackedConstant(b, matrices: [packed])
    }

    /// out = act(a · b + bias) for float32, with the fast kernels; `bias`
    /// (n values, one per column) and `fused` are FusedMatMul's: ReLU and
    /// Clip run in the GEMM epilogue, other activations on each output
    /// matrix right after its product.
    func sgemm(
        _ a: UnsafeBufferPointer<Float>, _ b: UnsafeBufferPointer<Float>, _ out: UnsafeMutableBufferPointer<Float>,
        packedB: PackedMatrix?, bias: UnsafePointer<Float>? = nil, fused: FusedActivation? = nil, threads: Int?
    ) throws {
        let columnBias: Gemm.Bias = bias.map { .column($0) } ?? .none
        let epilogue = fused?.gemmEpilogue ?? .none
        let after = fused?.gemmEpilogue == nil ? fused : nil
        guard let cp = out.baseAddress, m > 0, n > 0 else { return }
        let (ap, bp) = (a.baseAddress, b.baseAddress)
        let (m, k, n) = (self.m, self.k, self.n)
        let bOperand: (Int) -> Gemm.Operand = { offset in
            if let packedB { return .packed(packedB) }
            return .matrix(.rowMajor(bp.map { $0 + offset }, columns: n))
        }
        let batches = try Tensor.checkedCount(batchShape)
        if batches > 1 && foldsBatchIntoRows {
            try Gemm.multiply(
                m: batches &* m, n: n, k: k, a: .matrix(.rowMajor(ap, columns: k)), b: bOperand(0),
                c: cp, ldc: n, bias: columnBias, activation: epilogue, threads: threads)
            after?.apply(UnsafeMutableBufferPointer(start: cp, count: batches &* m &* n), threads: threads)
            return
        }
        var offsets: [(a: Int, b: Int, out: Int)] = []
        offsets.reserveCapacity(batches)
        forEachBatch { offsets.append(($0, $1, $2)) }
        try Gemm.forEachItem(
            count: offsets.count, threads: threads, workPerItem: Gemm.saturatingProduct(m, n, max(k, 1)), makeScratch: {}
        ) { index, itemThreads, _ in
            let offset = offsets[index]
            try Gemm.multiply(
                m: m, n: n, k: k, a: .matrix(.rowMajor(ap.map { $0 + offset.a }, columns: k)), b: bOperand(offset.b),
                c: cp + offset.out, ldc: n, bias: columnBias, activation: epilogue, threads: itemThreads)
            after?.apply(UnsafeMutableBufferPointer(start: cp + offset.out, count: m &* n), threads: itemThreads)
        }
    }

    /// True when every batch position reads the same B and A's matrices lie
    /// back to back in batch order, so A is one (batch · m) × k matrix.
    private var foldsBatchIntoRows: Bool {
        guard bStrides.allSatisfy({ $0 == 0 }) else { return false }
        let contiguous = Tensor.strides(batchShape).map { $0 &* m &* k }
        for axis in batchShape.indices where batchShape[axis] > 1 && aStrides[axis] != contiguous[axis] {
            return false
        }
        return true
    }
}
