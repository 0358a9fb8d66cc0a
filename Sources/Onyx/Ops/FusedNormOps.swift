/// The fused normalization kernels of the `ai.onyx` domain (version 1),
/// created by the optimizer passes `fuse-layernorm`, `fuse-groupnorm` and
/// `fuse-skip-layernorm` (their standard-op forms are in
/// `Optimizer/NormLowerings.swift`):
///
/// - `LayerNormalization`: the standard op's semantics (opset 17: inputs X,
///   Scale, B?; outputs Y, Mean?, InvStdDev?; attributes axis, epsilon,
///   stash_type), for models whose opset predates it.
/// - `SkipLayerNorm(A, B, Scale, Bias?) → (Y, Sum?)`: `Sum = A + B`
///   (broadcasting as Add) and `Y = LayerNormalization(Sum)` over the axes
///   from `axis` (default −1) with `epsilon` (default 1e-5), in one pass
///   over the rows; Sum is written only when that output is named.
/// - `GroupNorm(X, scale, bias) → Y`: X `[N, C, …]`, scale and bias `[C]`
///   (per channel, as GroupNormalization opset 21), attributes
///   `num_groups` (required, dividing C) and `epsilon` (default 1e-5).
///
/// float32 runs on ``NormalizationKernels``; other float types on the
/// reference loops of `LayerNormOps` / `GroupNormOps`.
enum FusedNormOps {
    static func register(into registry: inout OpRegistry) {
        let domain = OnyxDomain.name
        registry.register("LayerNormalization", domain: domain, since: 1, LayerNormOps.buildLayerNormalization)
        registry.register("SkipLayerNorm", domain: domain, since: 1) { context in
            let axis = try context.int("axis", default: -1)
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            let wantsSum = context.hasOutput(1)
            return ClosureKernel { inputs, run in
                let result = try skipLayerNorm(
                    try inputs.tensor(0), try inputs.tensor(1), scale: try inputs.tensor(2), bias: try inputs.optionalTensor(3),
                    axis: axis, epsilon: epsilon, wantsSum: wantsSum, threads: run.options.threads)
                return [.tensor(result.y), result.sum.map { .tensor($0) }]
            }
        }
        registry.register("GroupNorm", domain: domain, since: 1) { context in
            guard let groups = try context.int("num_groups"), groups > 0 else {
                throw OnyxError.invalidModel("attribute \"num_groups\" must be given and positive")
            }
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            return ClosureKernel { inputs, run in
                [.tensor(try GroupNormOps.groupNormalization(
                    try inputs.tensor(0), scale: try inputs.tensor(1), bias: try inputs.tensor(2), groups: groups,
                    perChannel: true, epsilon: epsilon, threads: run.options.threads))]
            }
        }
    }

    /// `(LayerNormalization(A + B), A + B)`; the sum is nil unless `wantsSum`.
    /// The float32 kernel takes operands of one shape, or one operand
    /// repeating along the leading axes of the other (a position embedding).
    static func skipLayerNorm(
        _ first: Tensor, _ second: Tensor, scale: Tensor, bias: Tensor?, axis: Int, epsilon: Double, wantsSum: Bool, threads: Int?
    ) throws -> (y: Tensor, sum: Tensor?) {
        try NormalizationSupport.requireFloat(first, "A")
        try NormalizationSupport.requireSameType(second, "B", as: first)
        // Addition commutes: `a` is the operand of the full shape.
        let swap = second.count > first.count || (second.count == first.count && second.shape.count > first.shape.count)
        let (a, b) = swap ? (second, first) : (first, second)
        let bPeriod = a.shape == b.shape ? a.count : LayerNormOps.period(b.shape, of: a.shape)
        if a.elementType == .float, let bPeriod, bPeriod > 0, !a.shape.isEmpty {
            try NormalizationSupport.requireSameType(scale, "Scale", as: a)
            let (resolved, rows, columns) = try LayerNormOps.split(a, axis: axis)
            let scaleShape = try LayerNormOps.affineShape(scale, "Scale", x: a, axis: resolved, columns: columns)
            let biasShape = try bias.map { try LayerNormOps.affineShape($0, "Bias", x: a, axis: resolved, columns: columns) }
            let scaleRow = LayerNormOps.period(scaleShape, of: a.shape).flatMap {
                NormalizationKernels.row(scale, period: $0, count: columns)
            }
            let biasRow = bias.flatMap { tensor in
                biasShape.flatMap { LayerNormOps.period($0, of: a.shape) }.flatMap {
                    NormalizationKernels.row(tensor, period: $0, count: columns)
                }
            }
            if let scaleRow, rows > 0, columns > 0, bPeriod % columns == 0, bias == nil || biasRow != nil {
                return try NormalizationKernels.skipLayerNorm(
                    a, b, bPeriod: bPeriod, rows: rows, columns: columns, scale: scaleRow, bias: biasRow, epsilon: epsilon, threads: threads,
                    wantsSum: wantsSum)
            }
        }
        let sum = try broadcastSum(first, second)
        let y = try LayerNormOps.layerNormalization(
            sum, scale: scale, bias: bias, axis: axis, epsilon: epsilon, stash: .float, statistics: false, threads: threads).y
        return (y, wantsSum ? sum : nil)
    }

    /// `a + b` with numpy broadcasting, computed in Double and rounded once.
    private static func broadcastSum(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        let count = try Tensor.checkedCount(shape)
        let left = try a.doubleValues()
        let right = try b.doubleValues()
        var out = [Double](repeating: 0, count: count)
        try left.withUnsafeBufferPointer { lp in
            try right.withUnsafeBufferPointer { rp in
                try out.withUnsafeMutableBufferPointer { op in
                    try Broadcast.binary(lp, a.shape, rp, b.shape, into: op, outShape: shape) { $0 + $1 }
                }
            }
        }
        return try Tensor.fromDoubles(out, shape: shape, as: a.elementType)
    }
}
