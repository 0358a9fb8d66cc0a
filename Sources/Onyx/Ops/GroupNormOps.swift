import Foundation

/// GroupNormalization (opsets 18 and 21) and InstanceNormalization
/// (opsets 1, 6, 22), on X of shape `[N, C, D1, …]` (rank ≥ 2).
///
/// Both compute `y = scale · (x − mean) / sqrt(var + epsilon) + bias` with
/// the mean and population variance taken per sample over a block of
/// channels and all spatial positions:
/// - GroupNormalization: `num_groups` blocks of `C / num_groups` channels
///   (C must be divisible by it). The affine parameters differ by opset:
///   opset 18 has one scale and bias per *group* (`[num_groups]`), opset 21
///   one per *channel* (`[C]`). Opset 21's `stash_type` only names the
///   precision of stage one, which runs in Double here regardless.
/// - InstanceNormalization: one block per channel; scale and B are `[C]`.
///   Opset 1's `consumed_inputs` attribute is legacy and ignored.
enum GroupNormOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("GroupNormalization", versions: [18, 21]) { context in
            guard let groups = try context.int("num_groups") else {
                throw OnyxError.invalidModel("attribute \"num_groups\" is required")
            }
            guard groups > 0 else { throw OnyxError.invalidModel("num_groups must be positive, got \(groups)") }
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            let perChannel = context.opset >= 21
            if perChannel { _ = try NormalizationSupport.stashType(context) }
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                let result = try groupNormalization(
                    x, scale: try inputs.tensor(1), bias: try inputs.tensor(2), groups: groups,
                    perChannel: perChannel, epsilon: epsilon, threads: run.options.threads)
                return [.tensor(result)]
            }
        }
        registry.register("InstanceNormalization", versions: [1, 6, 22]) { context in
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            return ClosureKernel { inputs, run in
                let x = try inputs.tensor(0)
                guard x.shape.count >= 2 else { throw OnyxError.shapeMismatch("input must have rank ≥ 2, got \(x.shape)") }
                let channels = x.shape[1]
                let scale = try parameterValues(try inputs.tensor(1), "scale", count: channels, like: x)
                let bias = try parameterValues(try inputs.tensor(2), "B", count: channels, like: x)
                return [.tensor(try normalize(
                    x, groups: channels, scale: scale, bias: bias, epsilon: epsilon, threads: run.options.threads))]
            }
        }
    }

    /// The values of an affine parameter after checking its type and element count.
    private static func parameterValues(_ tensor: Tensor, _ name: String, count: Int, like x: Tensor) throws -> [Double] {
        try NormalizationSupport.requireSameType(tensor, name, as: x)
        guard tensor.count == count else {
            throw OnyxError.shapeMismatch("\(name) must have \(count) elements, got shape \(tensor.shape)")
        }
        return try tensor.doubleValues()
    }

    static func groupNormalization(
        _ x: Tensor, scale: Tensor, bias: Tensor, groups: Int, perChannel: Bool, epsilon: Double, threads: Int? = nil
    ) throws -> Tensor {
        guard x.shape.count >= 2 else { throw OnyxError.shapeMismatch("X must have rank ≥ 2, got \(x.shape)") }
        let channels = x.shape[1]
        guard channels % groups == 0 else {
            throw OnyxError.shapeMismatch("the \(channels) channels of X are not divisible into \(groups) groups")
        }
        if perChannel {
            let s = try parameterValues(scale, "scale", count: channels, like: x)
            let b = try parameterValues(bias, "bias", count: channels, like: x)
            return try normalize(x, groups: groups, scale: s, bias: b, epsilon: epsilon, threads: threads)
        }
        let what = "(opset 18: one per group; per-channel parameters need opset 21)"
        let s = try parameterValues(scale, "scale \(what)", count: groups, like: x)
        let b = try parameterValues(bias, "bias \(what)", count: groups, like: x)
        let perGroup = channels / groups
        let expand = { (values: [Double]) in (0..<channels).map { values[$0 / perGroup] } }
        return try normalize(x, groups: groups, scale: expand(s), bias: expand(b), epsilon: epsilon, threads: threads)
    }

    /// Normalizes each (sample, group) block of `x` — contiguous in memory —
    /// and applies the per-channel `scale` and `bias` (`C` values each).
    /// float32 runs on ``NormalizationKernels``, other types on the Double
    /// reference loop (``normalizeReference``).
    static func normalize(
        _ x: Tensor, groups: Int, scale: [Double], bias: [Double], epsilon: Double, threads: Int? = nil
    ) throws -> Tensor {
        try NormalizationSupport.requireFloat(x, "X")
        guard x.shape.count >= 2 else { throw OnyxError.shapeMismatch("X must have rank ≥ 2, got \(x.shape)") }
        if x.elementType == .float {
            return try NormalizationKernels.groupNorm(x, groups: groups, scale: scale, bias: bias, epsilon: epsilon, threads: threads)
        }
        return try normalizeReference(x, groups: groups, scale: scale, bias: bias, epsilon: epsilon)
    }

    /// The reference form of ``normalize``: every type, in Double.
    static func normalizeReference(_ x: Tensor, groups: Int, scale: [Double], bias: [Double], epsilon: Double) throws -> Tensor {
        try NormalizationSupport.requireFloat(x, "X")
        guard x.shape.count >= 2 else { throw OnyxError.shapeMismatch("X must have rank ≥ 2, got \(x.shape)") }
        let channels = x.shape[1]
        let spatial = try Tensor.checkedCount(Array(x.shape[2...]))
        let values = try x.doubleValues()
        var out = [Double](repeating: 0, count: values.count)
        guard !values.isEmpty, groups > 0 else { return try ActivationOps.encode(out, like: x) }
        let perGroup = channels / groups
        let block = perGroup * spatial
        values.withUnsafeBufferPointer { input in
            for blockIndex in 0..<(values.count / block) {
                let start = blockIndex * block
                let (mean, variance) = NormalizationSupport.moments(input, start..<(start + block))
                let inverse = 1 / (variance + epsilon).squareRoot()
                let firstChannel = (blockIndex % groups) * perGroup
                for k in 0..<perGroup {
                    let c = firstChannel + k
                    let base = start + k * spatial
                    for i in base..<(base + spatial) { out[i] = (input[i] - mean) * inverse * scale[c] + bias[c] }
                }
            }
        }
        return try ActivationOps.encode(out, like: x)
    }
}
