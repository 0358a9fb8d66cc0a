import Foundation

/// NegativeLogLikelihoodLoss (12, 13, 22) and SoftmaxCrossEntropyLoss (12, 13).
///
/// Input `(N, C, d1…dk)` (k ≥ 0), integer targets `(N, d1…dk)`, optional
/// class weights `(C)`. The per-sample loss is `-x[n, c, d…] · weight[c]`
/// (SoftmaxCrossEntropyLoss first takes LogSoftmax over axis 1, and can
/// return it as a second output). A target equal to `ignore_index` gives
/// loss 0 and weight 0; any other target outside `[0, C)` is an error.
///
/// Reductions follow the operators' function bodies: `none` keeps the
/// target's shape, `sum` adds everything, `mean` divides the sum by the
/// sum of the applied weights — 1 per sample without a weight input, so
/// ignored samples are left out of the count (an empty or fully ignored
/// batch gives 0/0 = NaN). Computation is in Double, rounded once to the
/// input's type.
enum LossOps {
    enum Reduction: String, Sendable { case none, sum, mean }

    static func register(into registry: inout OpRegistry) {
        registry.register("NegativeLogLikelihoodLoss", versions: [12, 13, 22]) { try build($0, softmax: false) }
        registry.register("SoftmaxCrossEntropyLoss", versions: [12, 13]) { try build($0, softmax: true) }
    }

    static func build(_ context: OpContext, softmax: Bool) throws -> any Kernel {
        let name = try context.string("reduction", default: "mean")
        try context.check("reduction", name, in: ["none", "sum", "mean"])
        let reduction = Reduction(rawValue: name) ?? .mean
        let ignoreIndex = try context.int("ignore_index")
        let wantsLogProb = softmax && context.hasOutput(1)
        return ClosureKernel { inputs, _ in
            let x = try inputs.tensor(0)
            let target = try inputs.tensor(1)
            let weight = try inputs.optionalTensor(2)
            let (loss, logProb) = try compute(
                x: x, target: target, weight: weight, reduction: reduction, ignoreIndex: ignoreIndex,
                softmax: softmax, wantsLogProb: wantsLogProb)
            return wantsLogProb ? [.tensor(loss), logProb.map { .tensor($0) }] : [.tensor(loss)]
        }
    }

    static func compute(
        x: Tensor, target: Tensor, weight: Tensor?, reduction: Reduction, ignoreIndex: Int?,
        softmax: Bool, wantsLogProb: Bool
    ) throws -> (Tensor, Tensor?) {
        guard [.float, .double, .float16, .bfloat16].contains(x.elementType) else {
            throw OnyxError.wrongElementType("input must be float16, bfloat16, float or double, got \(x.elementType)")
        }
        guard target.elementType == .int32 || target.elementType == .int64 else {
            throw OnyxError.wrongElementType("target must be int32 or int64, got \(target.elementType)")
        }
        guard x.shape.count >= 2 else {
            throw OnyxError.shapeMismatch("input must have rank ≥ 2 (N, C, …), got shape \(x.shape)")
        }
        let n = x.shape[0]
        let classes = x.shape[1]
        let spatial = Array(x.shape.dropFirst(2))
        let inner = try Tensor.checkedCount(spatial)
        guard target.shape == [n] + spatial else {
            throw OnyxError.shapeMismatch("target shape \(target.shape) does not match input \(x.shape)")
        }
        var weights: [Double]?
        if let weight {
            guard weight.elementType == x.elementType, weight.shape == [classes] else {
                throw OnyxError.shapeMismatch(
                    "weight must be a \(x.elementType) tensor of shape [\(classes)], got \(weight)")
            }
            weights = try weight.doubleValues()
        }
        var values = try x.doubleValues()
        if softmax { logSoftmax(&values, outer: n, classes: classes, inner: inner) }
        let labels = try target.int64Values()
        var losses = [Double](repeating: 0, count: labels.count)
        var lossSum = 0.0
        var weightSum = 0.0
        for batch in 0..<n {
            for position in 0..<inner {
                let sample = batch &* inner &+ position
                let label = labels[sample]
                if let ignoreIndex, label == Int64(ignoreIndex) { continue }
                guard label >= 0, label < Int64(classes) else {
                    throw OnyxError.invalidModel("target value \(label) is outside [0, \(classes))")
                }
                let c = Int(label)
                let w = weights?[c] ?? 1
                let loss = -values[(batch &* classes &+ c) &* inner &+ position] * w
                losses[sample] = loss
                lossSum += loss
                weightSum += w
            }
        }
        let lossTensor: Tensor
        switch reduction {
        case .none: lossTensor = try Tensor.fromDoubles(losses, shape: target.shape, as: x.elementType)
        case .sum: lossTensor = try Tensor.fromDoubles([lossSum], shape: [], as: x.elementType)
        case .mean: lossTensor = try Tensor.fromDoubles([lossSum / weightSum], shape: [], as: x.elementType)
        }
        let logProb = wantsLogProb ? try Tensor.fromDoubles(values, shape: x.shape, as: x.elementType) : nil
        return (lossTensor, logProb)
    }

    /// Replaces `values` (laid out `outer × classes × inner`) by its
    /// LogSoftmax over the class axis, shifted by the maximum for stability.
    static func logSoftmax(_ values: inout [Double], outer: Int, classes: Int, inner: Int) {
        guard classes > 0 else { return }
        for batch in 0..<outer {
            for position in 0..<inner {
                let base = batch &* classes &* inner &+ position
                var maximum = -Double.infinity
                for c in 0..<classes { maximum = max(maximum, values[base &+ c &* inner]) }
                var sum = 0.0
                for c in 0..<classes { sum += exp(values[base &+ c &* inner] - maximum) }
                let shift = maximum + log(sum)
                for c in 0..<classes { values[base &+ c &* inner] -= shift }
            }
        }
    }
}
