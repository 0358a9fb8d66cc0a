/// The `ai.onyx` fused kernels the optimizer creates (``OnyxDomain``), all
/// float32 only, each with an optional ``FusedActivation`` (`activation`,
/// `activation_params` attributes) applied to its output:
///
/// - `FusedConv(X, W, B?, Z?)`: Conv (same attributes), plus the residual
///   `Z` when given (numpy broadcasting, as Add), then the activation, on
///   the packed-GEMM Conv path (constant weights packed at plan time; a Z
///   of the output's shape is added in the GEMM epilogue);
/// - `FusedGemm(A, B, C?)`: Gemm (`alpha`, `beta`, `transA`, `transB`) +
///   activation, on the packed GEMM (constant B packed at plan time);
/// - `FusedMatMul(A, B, bias?)`: numpy MatMul `A · B` + `bias` (N values,
///   added to every row) + activation, on the MatMul GEMM path with the bias
///   and ReLU/Clip in the GEMM epilogue;
/// - `ChannelAffine(X, scale, bias)`: `Y = X · scale[c] + bias[c]` along
///   axis 1 of X (rank ≥ 2, C = X's axis 1) + activation, one pass over each
///   channel plane, planes split over threads for large tensors.
///
/// Their standard-op forms are in `FusedOpLowering.swift`.
enum FusedOps {
    static func register(into registry: inout OpRegistry) {
        let domain = OnyxDomain.name
        registry.register("FusedConv", domain: domain, since: 1) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let group = try context.int("group", default: 1)
            guard group >= 1 else { throw OnyxError.invalidModel("group must be at least 1, got \(group)") }
            let activation = try FusedActivation(attributesOf: context.node)
            let packed = ConvProblem.packedWeights(
                context.constantInputs.count > 1 ? context.constantInputs[1] : nil, group: group, attributes: attributes)
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                let w = try inputs.tensor(1)
                let b = try inputs.optionalTensor(2)
                let z = try inputs.optionalTensor(3)
                try requireFloat("FusedConv", [x, w] + [b, z].compactMap { $0 })
                let (problem, outShape) = try ConvOps.problem(x, w, b, attributes: attributes, group: group)
                return [.tensor(try problem.runFloat(
                    x, w, b, outShape, packed: packed, fused: activation, residual: z, threads: run.options.threads))]
            }
        }
        registry.register("FusedGemm", domain: domain, since: 1) { context in
            let alpha = try context.float("alpha", default: 1)
            let beta = try context.float("beta", default: 1)
            let transA = try context.int("transA", default: 0) != 0
            let transB = try context.int("transB", default: 0) != 0
            let activation = try FusedActivation(attributesOf: context.node)
            let constantB = LinearAlgebraOps.packedConstantB(
                context.constantInputs.count > 1 ? context.constantInputs[1] : nil, transposed: transB)
            return ClosureKernel { inputs, run in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                let c = beta == 0 ? nil : try inputs.optionalTensor(2)
                try requireFloat("FusedGemm", [a, b] + (c.map { [$0] } ?? []))
                guard a.shape.count == 2, b.shape.count == 2 else {
                    throw OnyxError.shapeMismatch("FusedGemm needs 2-D A and B, got \(a.shape) and \(b.shape)")
                }
                let m = transA ? a.shape[1] : a.shape[0]
                let n = transB ? b.shape[0] : b.shape[1]
                guard (transA ? a.shape[0] : a.shape[1]) == (transB ? b.shape[1] : b.shape[0]) else {
                    throw OnyxError.shapeMismatch("cannot multiply A' of \(a.shape) by B' of \(b.shape)")
                }
                var cStrides = [0, 0]
                if let c {
                    guard c.shape.count <= 2, try Broadcast.shape([c.shape, [m, n]]) == [m, n] else {
                        throw OnyxError.shapeMismatch("C of shape \(c.shape) does not broadcast to \([m, n])")
                    }
                    cStrides = Broadcast.strides(of: c.shape, broadcastTo: [m, n])
                }
                let packedB = constantB.flatMap { $0.matches(b) ? $0.matrices.first : nil }
                return [.tensor(try LinearAlgebraOps.floatGemm(
                    a, b, c, cStrides: cStrides, alpha: alpha, beta: beta, transA: transA, transB: transB,
                    packedB: packedB, fused: activation, threads: run.options.threads))]
            }
        }
        registry.register("FusedMatMul", domain: domain, since: 1) { context in
            let activation = try FusedActivation(attributesOf: context.node)
            let constantB = MatrixProduct.packedConstantB(context.constantInputs.count > 1 ? context.constantInputs[1] : nil)
            return ClosureKernel { inputs, run in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(1)
                let bias = try inputs.optionalTensor(2)
                try requireFloat("FusedMatMul", [a, b] + (bias.map { [$0] } ?? []))
                let product = try MatrixProduct(a.shape, b.shape)
                if let bias, bias.count != product.n {
                    throw OnyxError.shapeMismatch("FusedMatMul bias has \(bias.count) values for \(product.n) columns")
                }
                let packedB = constantB.flatMap { $0.matches(b) ? $0.matrices.first : nil }
                let biasValues = try bias?.scalars(as: Float.self) ?? []
                return [.tensor(try a.withElements(Float.self) { x in
                    try b.withElements(Float.self) { y in
                        try biasValues.withUnsafeBufferPointer { biasPointer in
                            try Tensor.make(Float.self, product.outputShape) { out in
                                try product.sgemm(
                                    x, y, out, packedB: packedB, bias: bias == nil ? nil : biasPointer.baseAddress,
                                    fused: activation, threads: run.options.threads)
                            }
                        }
                    }
                })]
            }
        }
        registry.register("ChannelAffine", domain: domain, since: 1) { context in
            let activation = try FusedActivation(attributesOf: context.node)
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                let scale = try inputs.tensor(1)
                let bias = try inputs.tensor(2)
                try requireFloat("ChannelAffine", [x, scale, bias])
                guard x.shape.count >= 2, scale.count == x.shape[1], bias.count == x.shape[1] else {
                    throw OnyxError.shapeMismatch(
                        "ChannelAffine needs X of rank ≥ 2 and C = X's axis 1 scales and biases, got X \(x.shape), "
                            + "scale \(scale.shape), bias \(bias.shape)")
                }
                return [.tensor(try channelAffine(x, scale, bias, activation: activation, threads: run.options.threads))]
            }
        }
    }

    /// Fails unless every tensor holds float32.
    private static func requireFloat(_ op: String, _ tensors: [Tensor]) throws {
        if let other = tensors.first(where: { $0.elementType != .float }) {
            throw OnyxError.wrongElementType("\(OnyxDomain.name)::\(op) runs on float only, got \(other.elementType)")
        }
    }

    /// `act(x · scale[c] + bias[c])` over axis 1 of `x`; each (batch,
    /// channel) plane is scaled and activated while in cache.
    static func channelAffine(
        _ x: Tensor, _ scale: Tensor, _ bias: Tensor, activation: FusedActivation?, threads: Int?
    ) throws -> Tensor {
        let channels = x.shape[1]
        let planes = x.shape[0] &* channels
        let count = x.count
        guard planes > 0, count > 0 else { return try Tensor.make(Float.self, x.shape) { _ in } }
        let inner = count / planes
        let scales = try scale.scalars(as: Float.self)
        let shifts = try bias.scalars(as: Float.self)
        return try Tensor.make(Float.self, x.shape) { out in
            guard let target = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let source = input.baseAddress else { return }
                let body = { (first: Int, last: Int) in
                    for plane in first..<last {
                        let c = plane % channels
                        let (s, t) = (scales[c], shifts[c])
                        let from = source + plane &* inner
                        let to = target + plane &* inner
                        for i in 0..<inner { to[i] = from[i] * s + t }
                        activation?.apply(UnsafeMutableBufferPointer(start: to, count: inner))
                    }
                }
                // Memory-bound: worth a second thread from about 2^17 elements.
                let parts = min(Gemm.threadCount(requested: threads, work: Gemm.saturatingProduct(count, 2)), planes)
                guard parts > 1 else { return body(0, planes) }
                Gemm.parallelFor(parts) { part in body(planes &* part / parts, planes &* (part &+ 1) / parts) }
            }
        }
    }
}
