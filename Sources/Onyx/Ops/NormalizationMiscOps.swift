import Foundation

/// LpNormalization (opsets 1, 22), MeanVarianceNormalization (opsets 9, 13)
/// and LRN (opsets 1, 13). All compute in Double and round once.
///
/// - LpNormalization: `x / ‖x‖_p` along `axis` (default −1), `p` 1
///   (sum of |x|) or 2 (Euclidean, scaled by the largest |x| so it cannot
///   overflow); a zero norm gives 0, as both opsets' text says.
/// - MeanVarianceNormalization: `(x − mean) / (sqrt(var) + 1e-9)` over
///   `axes` (default [0, 2, 3]; negative axes count from the end), with the
///   population variance. The epsilon is added to the standard deviation,
///   as in the spec's function body. An empty `axes` reduces over every axis
///   (the body's ReduceMean with no axes).
/// - LRN: `x / (bias + alpha / size · Σ x²)^beta`, the sum running over the
///   channels `c − floor((size−1)/2) … c + ceil((size−1)/2)` clipped to
///   `[0, C)`, on X of shape `[N, C, D1, …]`.
enum NormalizationMiscOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("LpNormalization", versions: [1, 22]) { context in
            let axis = try context.int("axis", default: -1)
            let p = try context.int("p", default: 2)
            guard p == 1 || p == 2 else { throw OnyxError.invalidModel("p must be 1 or 2, got \(p)") }
            return ClosureKernel { inputs, _ in [.tensor(try lpNormalization(try inputs.tensor(0), axis: axis, p: p))] }
        }
        registry.register("MeanVarianceNormalization", versions: [9, 13]) { context in
            let axes = try context.ints("axes") ?? [0, 2, 3]
            return ClosureKernel { inputs, _ in [.tensor(try meanVarianceNormalization(try inputs.tensor(0), axes: axes))] }
        }
        registry.register("LRN", versions: [1, 13]) { context in
            guard let size = try context.int("size") else { throw OnyxError.invalidModel("attribute \"size\" is required") }
            guard size >= 1 else { throw OnyxError.invalidModel("size must be at least 1, got \(size)") }
            let alpha = Double(try context.float("alpha", default: 1e-4))
            let beta = Double(try context.float("beta", default: 0.75))
            let bias = Double(try context.float("bias", default: 1))
            return ClosureKernel { inputs, _ in
                [.tensor(try localResponseNormalization(try inputs.tensor(0), size: size, alpha: alpha, beta: beta, bias: bias))]
            }
        }
    }

    static func lpNormalization(_ x: Tensor, axis: Int, p: Int) throws -> Tensor {
        try NormalizationSupport.requireFloat(x, "input")
        let resolved = try normalizeAxis(axis, rank: x.shape.count)
        guard x.shape.count > 0 else { throw OnyxError.shapeMismatch("input must have rank ≥ 1") }
        let length = x.shape[resolved]
        let inner = try Tensor.checkedCount(Array(x.shape[(resolved + 1)...]))
        let values = try x.doubleValues()
        var out = [Double](repeating: 0, count: values.count)
        guard length > 0, inner > 0 else { return try ActivationOps.encode(out, like: x) }
        for outer in 0..<(values.count / (length * inner)) {
            for i in 0..<inner {
                let base = outer * length * inner + i
                var norm = 0.0
                if p == 1 {
                    for k in 0..<length { norm += abs(values[base + k * inner]) }
                } else {
                    var largest = 0.0
                    for k in 0..<length { largest = max(largest, abs(values[base + k * inner])) }
                    let scale = largest.isFinite && largest > 0 ? largest : 1
                    for k in 0..<length {
                        let v = values[base + k * inner] / scale
                        norm += v * v
                    }
                    norm = norm.squareRoot() * scale
                }
                guard norm != 0 else { continue }
                for k in 0..<length { out[base + k * inner] = values[base + k * inner] / norm }
            }
        }
        return try ActivationOps.encode(out, like: x)
    }

    static func meanVarianceNormalization(_ x: Tensor, axes: [Int]) throws -> Tensor {
        try NormalizationSupport.requireFloat(x, "X")
        let rank = x.shape.count
        var reduced = Set<Int>()
        for axis in axes {
            let resolved = try normalizeAxis(axis, rank: rank, name: "axes entry")
            guard reduced.insert(resolved).inserted else { throw OnyxError.invalidModel("axes \(axes) repeat an axis") }
        }
        if axes.isEmpty { reduced = Set(0..<rank) }
        let values = try x.doubleValues()
        guard !values.isEmpty else { return x }
        let keptShape = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let groups = try Tensor.checkedCount(keptShape)
        let perGroup = Double(values.count / groups)
        let strides = [Broadcast.strides(of: keptShape, broadcastTo: x.shape)]
        var mean = [Double](repeating: 0, count: groups)
        var variance = [Double](repeating: 0, count: groups)
        Broadcast.forEach(x.shape, strides: strides) { i, key in mean[key[0]] += values[i] }
        for g in 0..<groups { mean[g] /= perGroup }
        Broadcast.forEach(x.shape, strides: strides) { i, key in
            let d = values[i] - mean[key[0]]
            variance[key[0]] += d * d
        }
        let epsilon = Double(Float(1e-9))
        let divisor = variance.map { ($0 / perGroup).squareRoot() + epsilon }
        var out = [Double](repeating: 0, count: values.count)
        Broadcast.forEach(x.shape, strides: strides) { i, key in out[i] = (values[i] - mean[key[0]]) / divisor[key[0]] }
        return try ActivationOps.encode(out, like: x)
    }

    static func localResponseNormalization(_ x: Tensor, size: Int, alpha: Double, beta: Double, bias: Double) throws -> Tensor {
        try NormalizationSupport.requireFloat(x, "X")
        guard x.shape.count >= 2 else { throw OnyxError.shapeMismatch("X must have rank ≥ 2, got \(x.shape)") }
        let channels = x.shape[1]
        let spatial = try Tensor.checkedCount(Array(x.shape[2...]))
        let before = min((size - 1) / 2, channels)
        let after = min(size / 2, channels)
        let coefficient = alpha / Double(size)
        let values = try x.doubleValues()
        var out = [Double](repeating: 0, count: values.count)
        guard !values.isEmpty else { return try ActivationOps.encode(out, like: x) }
        for n in 0..<(values.count / (channels * spatial)) {
            let sample = n * channels * spatial
            for c in 0..<channels {
                let first = max(0, c - before)
                let last = min(channels - 1, c + after)
                for s in 0..<spatial {
                    var squares = 0.0
                    for k in first...last {
                        let v = values[sample + k * spatial + s]
                        squares += v * v
                    }
                    let i = sample + c * spatial + s
                    out[i] = values[i] / pow(bias + coefficient * squares, beta)
                }
            }
        }
        return try ActivationOps.encode(out, like: x)
    }
}
