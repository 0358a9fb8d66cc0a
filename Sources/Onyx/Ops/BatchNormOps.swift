import Foundation

/// BatchNormalization for every opset.
///
/// Inference: `y = (x − mean) / sqrt(var + epsilon) · scale + B` per channel
/// (axis 1). Opset ≤ 8 with `spatial = 0` normalizes per activation: the
/// parameters then have shape `[C, D1, …]`. Opset 14+ with
/// `training_mode = 1` normalizes with the batch's own statistics (mean and
/// biased variance over N and the spatial axes, computed in Double with two
/// passes) and also returns the updated running statistics:
/// `running = input · momentum + batch · (1 − momentum)`.
enum BatchNormOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("BatchNormalization", versions: [1, 6, 7, 9, 14, 15]) { context in
            let epsilon = Double(try context.float("epsilon", default: 1e-5))
            let momentum = Double(try context.float("momentum", default: 0.9))
            let spatial = context.opset < 9 ? try context.int("spatial", default: 1) != 0 : true
            let training = context.opset >= 14 ? try context.int("training_mode", default: 0) != 0 : false
            if !training && context.opset >= 14 && (context.hasOutput(1) || context.hasOutput(2)) {
                throw OnyxError.invalidModel("running_mean and running_var outputs need training_mode = 1")
            }
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let parameters = try (1...4).map { try inputs.tensor($0) }
                if training {
                    return try trainingMode(x, parameters, epsilon: epsilon, momentum: momentum)
                }
                return [.tensor(try inference(x, parameters, epsilon: epsilon, spatial: spatial))]
            }
        }
    }

    /// Checks the parameter shapes and returns how many values each has.
    private static func parameterCount(_ x: Tensor, _ parameters: [Tensor], spatial: Bool) throws -> Int {
        guard x.shape.count >= 2 else { throw OnyxError.shapeMismatch("X must have rank ≥ 2, got \(x.shape)") }
        let expected = spatial ? [x.shape[1]] : Array(x.shape[1...])
        for (name, tensor) in zip(["scale", "B", "mean", "var"], parameters) {
            guard tensor.shape == expected || (!spatial && tensor.count == expected.reduce(1, *)) else {
                throw OnyxError.shapeMismatch("\(name) must have shape \(expected), got \(tensor.shape)")
            }
        }
        return expected.reduce(1, *)
    }

    static func inference(_ x: Tensor, _ parameters: [Tensor], epsilon: Double, spatial: Bool) throws -> Tensor {
        let per = try parameterCount(x, parameters, spatial: spatial)
        let values = try x.doubleValues()
        let p = try parameters.map { try $0.doubleValues() }
        let (scale, bias, mean, variance) = (p[0], p[1], p[2], p[3])
        let inner = spatial ? x.shape[2...].reduce(1, *) : 1
        var multiplier = [Double](repeating: 0, count: per)
        var shift = [Double](repeating: 0, count: per)
        for c in 0..<per {
            multiplier[c] = scale[c] / (variance[c] + epsilon).squareRoot()
            shift[c] = bias[c] - mean[c] * multiplier[c]
        }
        var out = [Double](repeating: 0, count: values.count)
        for i in 0..<values.count {
            let c = (i / inner) % per
            out[i] = (values[i] - mean[c]) * multiplier[c] + bias[c]
        }
        return try Tensor.fromDoubles(out, shape: x.shape, as: x.elementType)
    }

    static func trainingMode(_ x: Tensor, _ parameters: [Tensor], epsilon: Double, momentum: Double) throws -> [Value?] {
        let channels = try parameterCount(x, parameters, spatial: true)
        let values = try x.doubleValues()
        let p = try parameters.map { try $0.doubleValues() }
        let inner = x.shape[2...].reduce(1, *)
        let batch = x.shape[0]
        let perChannel = Double(batch * inner)
        var mean = [Double](repeating: 0, count: channels)
        var variance = [Double](repeating: 0, count: channels)
        for n in 0..<batch {
            for c in 0..<channels {
                let base = (n * channels + c) * inner
                for i in 0..<inner { mean[c] += values[base + i] }
            }
        }
        for c in 0..<channels { mean[c] /= max(perChannel, 1) }
        for n in 0..<batch {
            for c in 0..<channels {
                let base = (n * channels + c) * inner
                for i in 0..<inner {
                    let d = values[base + i] - mean[c]
                    variance[c] += d * d
                }
            }
        }
        for c in 0..<channels { variance[c] /= max(perChannel, 1) }
        var out = [Double](repeating: 0, count: values.count)
        for i in 0..<values.count {
            let c = (i / inner) % channels
            out[i] = (values[i] - mean[c]) / (variance[c] + epsilon).squareRoot() * p[0][c] + p[1][c]
        }
        let runningMean = (0..<channels).map { p[2][$0] * momentum + mean[$0] * (1 - momentum) }
        let runningVar = (0..<channels).map { p[3][$0] * momentum + variance[$0] * (1 - momentum) }
        return [
            .tensor(try Tensor.fromDoubles(out, shape: x.shape, as: x.elementType)),
            .tensor(try Tensor.fromDoubles(runningMean, shape: [channels], as: parameters[2].elementType)),
            .tensor(try Tensor.fromDoubles(runningVar, shape: [channels], as: parameters[3].elementType)),
        ]
    }
}
