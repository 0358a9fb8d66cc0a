import Foundation

/// CausalConvWithState (opset 27): a stateful causal depthwise 1-D
/// convolution. With X `(B, C, L)`, weight `(C, 1, k)`, optional bias `(C)`
/// and optional past_state `(B, C, k − 1)` (zeros when absent), the padded
/// sequence `P = past_state ‖ X` gives
/// `output[b, c, t] = Σ_i weight[c, 0, i] · P[b, c, t + i] + bias[c]`,
/// optionally followed by SiLU (`activation` "silu" or its alias "swish"), and
/// `present_state` is the last `k − 1` positions of `P`.
///
/// Computes in Float; as in the reference, the sum is rounded to the tensor's
/// type, then the bias sum, then the activation (evaluated in Float).
enum CausalConvOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("CausalConvWithState", since: 27) { context in
            let activation = try context.string("activation", default: "none")
            try context.check("activation", activation, in: ["none", "silu", "swish"])
            let silu = activation != "none"
            return ClosureKernel { inputs, _ in
                let result = try convolve(
                    try inputs.tensor(0), weight: try inputs.tensor(1), bias: try inputs.optionalTensor(2),
                    past: try inputs.optionalTensor(3), silu: silu)
                return [.tensor(result.output), .tensor(result.present)]
            }
        }
    }

    static func convolve(_ x: Tensor, weight: Tensor, bias: Tensor?, past: Tensor?, silu: Bool) throws -> (output: Tensor, present: Tensor) {
        let type = x.elementType
        let rounding = try Rounding(type)
        guard type != .double, weight.elementType == type, bias.map({ $0.elementType == type }) ?? true,
              past.map({ $0.elementType == type }) ?? true else {
            throw OnyxError.wrongElementType("input, weight, bias and past_state must share one of float, float16, bfloat16")
        }
        guard x.shape.count == 3, weight.shape.count == 3 else {
            throw OnyxError.shapeMismatch("input \(x.shape) and weight \(weight.shape) must be rank 3")
        }
        let (batch, channels, length) = (x.shape[0], x.shape[1], x.shape[2])
        let k = weight.shape[2]
        guard weight.shape[0] == channels, weight.shape[1] == 1, k >= 1 else {
            throw OnyxError.shapeMismatch("weight \(weight.shape) must be (\(channels), 1, k) with k ≥ 1")
        }
        let carry = k - 1
        if let bias, bias.shape != [channels] {
            throw OnyxError.shapeMismatch("bias \(bias.shape) must be (\(channels))")
        }
        if let past, past.shape != [batch, channels, carry] {
            throw OnyxError.shapeMismatch("past_state \(past.shape) must be (\(batch), \(channels), \(carry))")
        }
        let presentCount = try Tensor.checkedCount([batch, channels, carry])
        _ = try TensorAllocation.checkedBytes(.float, count: presentCount)
        let rows = x.count == 0 && presentCount == 0 ? 0 : batch * channels
        let input = try x.floatValues()
        let weights = try weight.floatValues()
        let biases = try bias?.floatValues()
        let state = try past?.floatValues()
        let span = length + carry
        var padded = [Float](repeating: 0, count: span)
        var output = [Float](repeating: 0, count: input.count)
        var present = [Float](repeating: 0, count: presentCount)
        for row in 0..<rows {
            let c = row % channels
            for t in 0..<carry { padded[t] = state?[row * carry + t] ?? 0 }
            for t in 0..<length { padded[carry + t] = input[row * length + t] }
            for t in 0..<length {
                var sum: Float = 0
                for i in 0..<k { sum += weights[c * k + i] * padded[t + i] }
                var value = sum.rounded(rounding)
                if let biases { value = (value + biases[c]).rounded(rounding) }
                if silu { value = (value * (1 / (1 + exp(-value)))).rounded(rounding) }
                output[row * length + t] = value
            }
            for t in 0..<carry { present[row * carry + t] = padded[length + t] }
        }
        return (try Float.store(output, shape: x.shape, as: type), try Float.store(present, shape: [batch, channels, carry], as: type))
    }
}
