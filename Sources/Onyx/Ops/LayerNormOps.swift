import Foundation

/// LayerNormalization (opset 17) and RMSNormalization (opset 23).
///
/// Both normalize over the trailing axes `[axis, rank)` (`axis` may be
/// negative), each leading index on its own:
/// - LayerNormalization: `Y = (X − mean) / sqrt(var + epsilon) · Scale + B`
///   with the population variance. The optional outputs `Mean` and
///   `InvStdDev` have X's shape with the normalized axes kept as 1, and the
///   element type `stash_type` names (default float).
/// - RMSNormalization: `Y = X / sqrt(mean(X²) + epsilon) · scale`; Y has
///   scale's element type (`V`, which may differ from X's `T`).
///
/// `Scale` and `B` broadcast unidirectionally to X, as the operator text
/// says. A parameter that does not, but whose element count equals that of
/// the normalized block, is read flat over it (the function body's
/// `Flatten` of Scale and B); anything else is a shape error.
///
/// Stage one (the statistics and the normalized values) runs in Double,
/// whatever `stash_type` says; the result is rounded once to the output type.
enum LayerNormOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("LayerNormalization", since: 17, buildLayerNormalization)
        registry.register("RMSNormalization", since: 23) { context in
            let axis = try context.int("axis", default: -1)
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            _ = try NormalizationSupport.stashType(context)
            return ClosureKernel { inputs, _ in
                [.tensor(try rmsNormalization(try inputs.tensor(0), scale: try inputs.tensor(1), axis: axis, epsilon: epsilon))]
            }
        }
    }

    /// The LayerNormalization kernel builder, shared with the fused
    /// `ai.onyx::LayerNormalization` (same semantics, any opset).
    static let buildLayerNormalization: OpBuilder = { context in
        let axis = try context.int("axis", default: -1)
        let epsilon = Double(try context.float("epsilon", default: 1e-5))
        let stash = try NormalizationSupport.stashType(context)
        let wantsMean = context.hasOutput(1)
        let wantsInvStdDev = context.hasOutput(2)
        return ClosureKernel { inputs, run in
            let x = try inputs.tensor(0)
            let scale = try inputs.tensor(1)
            let bias = try inputs.optionalTensor(2)
            let result = try layerNormalization(
                x, scale: scale, bias: bias, axis: axis, epsilon: epsilon, stash: stash,
                statistics: wantsMean || wantsInvStdDev, threads: run.options.threads)
            return [
                .tensor(result.y),
                wantsMean ? .tensor(result.mean) : nil,
                wantsInvStdDev ? .tensor(result.invStdDev) : nil,
            ]
        }
    }

    /// Rows (leading block count) and columns (normalized block size) of X split at `axis`.
    static func split(_ x: Tensor, axis: Int) throws -> (axis: Int, rows: Int, columns: Int) {
        let resolved = try normalizeAxis(axis, rank: x.shape.count)
        let rows = try Tensor.checkedCount(Array(x.shape[..<resolved]))
        let columns = try Tensor.checkedCount(Array(x.shape[resolved...]))
        _ = try TensorAllocation.checkedBytes(.double, count: rows)
        return (resolved, rows, columns)
    }

    /// The shape under which `parameter` is read against X (see the type's documentation).
    static func affineShape(_ parameter: Tensor, _ name: String, x: Tensor, axis: Int, columns: Int) throws -> [Int] {
        if NormalizationSupport.broadcastable(parameter.shape, to: x.shape) { return parameter.shape }
        if parameter.count == columns { return Array(x.shape[axis...]) }
        throw OnyxError.shapeMismatch(
            "\(name) of shape \(parameter.shape) is neither broadcastable to X \(x.shape) nor the size of the normalized block \(Array(x.shape[axis...]))")
    }

    /// The element count of `parameterShape` when, leading 1s dropped, it is
    /// exactly the trailing part of `shape`: element `i` of X then reads the
    /// parameter at `i % count`.
    static func period(_ parameterShape: [Int], of shape: [Int]) -> Int? {
        let trimmed = Array(parameterShape.drop { $0 == 1 })
        guard trimmed.count <= shape.count, Array(shape.suffix(trimmed.count)) == trimmed else { return nil }
        let count = trimmed.reduce(1, &*)
        return count > 0 ? count : nil
    }

    /// `values[i] = values[i] · scale + bias`, the parameters broadcast to `shape`.
    private static func applyAffine(
        _ values: inout [Double], shape: [Int], scale: [Double], scaleShape: [Int], bias: [Double], biasShape: [Int]
    ) {
        if let scalePeriod = period(scaleShape, of: shape), let biasPeriod = period(biasShape, of: shape) {
            for i in values.indices {
                values[i] = values[i] * scale[i % scalePeriod] + bias[i % biasPeriod]
            }
            return
        }
        let strides = [
            Broadcast.strides(of: scaleShape, broadcastTo: shape), Broadcast.strides(of: biasShape, broadcastTo: shape),
        ]
        Broadcast.forEach(shape, strides: strides) { i, offsets in
            values[i] = values[i] * scale[offsets[0]] + bias[offsets[1]]
        }
    }

    /// LayerNormalization of `x`; float32 runs on ``NormalizationKernels``
    /// when Scale and B repeat along each row, everything else on the Double
    /// reference loop. The statistics outputs are computed only when
    /// `statistics` (else they hold zeros on the float32 path).
    static func layerNormalization(
        _ x: Tensor, scale: Tensor, bias: Tensor?, axis: Int, epsilon: Double, stash: ElementType,
        statistics: Bool = true, threads: Int? = nil
    ) throws -> (y: Tensor, mean: Tensor, invStdDev: Tensor) {
        try NormalizationSupport.requireFloat(x, "X")
        try NormalizationSupport.requireSameType(scale, "Scale", as: x)
        if let bias { try NormalizationSupport.requireSameType(bias, "B", as: x) }
        let (resolved, rows, columns) = try split(x, axis: axis)
        let scaleShape = try affineShape(scale, "Scale", x: x, axis: resolved, columns: columns)
        let biasShape = try bias.map { try affineShape($0, "B", x: x, axis: resolved, columns: columns) } ?? []
        let reducedShape = Array(x.shape[..<resolved]) + Array(repeating: 1, count: x.shape.count - resolved)
        if x.elementType == .float, rows > 0, columns > 0,
           let scaleRow = period(scaleShape, of: x.shape).flatMap({ NormalizationKernels.row(scale, period: $0, count: columns) })
        {
            let biasRow = bias.flatMap { b in period(biasShape, of: x.shape).flatMap { NormalizationKernels.row(b, period: $0, count: columns) } }
            if bias == nil || biasRow != nil {
                let result = try NormalizationKernels.layerNorm(
                    x, rows: rows, columns: columns, scale: scaleRow, bias: biasRow, epsilon: epsilon, threads: threads,
                    statistics: statistics)
                let means = statistics ? result.mean : [Double](repeating: 0, count: rows)
                let inverses = statistics ? result.invStdDev : [Double](repeating: 0, count: rows)
                return (
                    result.y, try Tensor.fromDoubles(means, shape: reducedShape, as: stash),
                    try Tensor.fromDoubles(inverses, shape: reducedShape, as: stash)
                )
            }
        }
        let values = try x.doubleValues()
        var out = [Double](repeating: 0, count: values.count)
        var means = [Double](repeating: 0, count: rows)
        var invStdDevs = [Double](repeating: 0, count: rows)
        values.withUnsafeBufferPointer { input in
            for row in 0..<rows {
                let range = row * columns..<(row + 1) * columns
                let (mean, variance) = NormalizationSupport.moments(input, range)
                let inverse = 1 / (variance + epsilon).squareRoot()
                means[row] = mean
                invStdDevs[row] = inverse
                for i in range { out[i] = (input[i] - mean) * inverse }
            }
        }
        applyAffine(
            &out, shape: x.shape, scale: try scale.doubleValues(), scaleShape: scaleShape,
            bias: try bias?.doubleValues() ?? [0], biasShape: biasShape)
        return (
            try ActivationOps.encode(out, like: x),
            try Tensor.fromDoubles(means, shape: reducedShape, as: stash),
            try Tensor.fromDoubles(invStdDevs, shape: reducedShape, as: stash)
        )
    }

    static func rmsNormalization(_ x: Tensor, scale: Tensor, axis: Int, epsilon: Double) throws -> Tensor {
        try NormalizationSupport.requireFloat(x, "X")
        try NormalizationSupport.requireFloat(scale, "scale")
        let (resolved, rows, columns) = try split(x, axis: axis)
        let scaleShape = try affineShape(scale, "scale", x: x, axis: resolved, columns: columns)
        let values = try x.doubleValues()
        var out = [Double](repeating: 0, count: values.count)
        for row in 0..<rows {
            let range = row * columns..<(row + 1) * columns
            var squares = 0.0
            for i in range { squares += values[i] * values[i] }
            let inverse = 1 / (squares / Double(columns) + epsilon).squareRoot()
            for i in range { out[i] = values[i] * inverse }
        }
        applyAffine(&out, shape: x.shape, scale: try scale.doubleValues(), scaleShape: scaleShape, bias: [0], biasShape: [])
        return try Tensor.fromDoubles(out, shape: x.shape, as: scale.elementType)
    }
}
