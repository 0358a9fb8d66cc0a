import CKernels
import Foundation

/// Activation functions, elementwise on floating-point tensors (Relu also
/// on signed integers from opset 14). Reference kernels compute in Double
/// and round once to the element type.
enum ActivationOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Relu", versions: [1, 6, 13, 14]) { _ in
            ClosureKernel(inPlaceInputs: [0]) { inputs, run in
                let x = try inputs.tensor(0)
                if x.elementType.isInteger {
                    let values = try x.int64Values().map { max($0, 0) }
                    return [.tensor(try Tensor.fromInt64s(values, shape: x.shape, as: x.elementType))]
                }
                if x.elementType == .float {
                    return [.tensor(try FloatElementwise.unary(ONYX_UNARY_RELU, x, threads: run.options.threads, context: run))]
                }
                return [.tensor(try map(x) { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) })]
            }
        }
        unary(&registry, "Sigmoid", [1, 6, 13], fast: { _ in (ONYX_UNARY_SIGMOID, 0, 0) }) { _ in { 1 / (1 + exp(-$0)) } }
        unary(&registry, "Tanh", [1, 6, 13], fast: { _ in (ONYX_UNARY_TANH, 0, 0) }) { _ in { Foundation.tanh($0) } }
        unary(&registry, "LeakyRelu", [1, 6, 16], fast: { (ONYX_UNARY_LEAKY_RELU, try $0.float("alpha", default: 0.01), 0) }) { context in
            let alpha = Double(try context.float("alpha", default: 0.01))
            return { $0 >= 0 ? $0 : alpha * $0 }
        }
        unary(&registry, "Elu", [1, 6, 22]) { context in
            let alpha = Double(try context.float("alpha", default: 1))
            return { $0 >= 0 ? $0 : alpha * (exp($0) - 1) }
        }
        unary(&registry, "Selu", [1, 6, 22]) { context in
            let alpha = Double(try context.float("alpha", default: 1.67326319217681884765625))
            let gamma = Double(try context.float("gamma", default: 1.05070102214813232421875))
            return { $0 > 0 ? gamma * $0 : gamma * (alpha * exp($0) - alpha) }
        }
        unary(&registry, "Celu", [12]) { context in
            let alpha = Double(try context.float("alpha", default: 1))
            return { max(0, $0) + min(0, alpha * (exp($0 / alpha) - 1)) }
        }
        unary(&registry, "HardSigmoid", [1, 6, 22], fast: {
            (ONYX_UNARY_HARD_SIGMOID, try $0.float("alpha", default: 0.2), try $0.float("beta", default: 0.5))
        }) { context in
            let alpha = Double(try context.float("alpha", default: 0.2))
            let beta = Double(try context.float("beta", default: 0.5))
            return { max(0, min(1, alpha * $0 + beta)) }
        }
        unary(&registry, "HardSwish", [14, 22], fast: { _ in (ONYX_UNARY_HARD_SWISH, 0, 0) }) { _ in { $0 * max(0, min(1, $0 / 6 + 0.5)) } }
        unary(&registry, "Softplus", [1, 22]) { _ in { $0 > 30 ? $0 : log1p(exp($0)) } }
        unary(&registry, "Softsign", [1, 22]) { _ in { $0 / (1 + abs($0)) } }
        unary(&registry, "ThresholdedRelu", [10, 22]) { context in
            let alpha = Double(try context.float("alpha", default: 1))
            return { $0 > alpha ? $0 : 0 }
        }
        unary(&registry, "Mish", [18, 22]) { _ in { $0 * Foundation.tanh($0 > 30 ? $0 : log1p(exp($0))) } }
        unary(&registry, "Gelu", [20], fast: {
            (try $0.string("approximate", default: "none") == "tanh" ? ONYX_UNARY_GELU_TANH : ONYX_UNARY_GELU, 0, 0)
        }) { context in
            let approximate = try context.string("approximate", default: "none")
            try context.check("approximate", approximate, in: ["none", "tanh"])
            if approximate == "tanh" {
                return { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) }
            }
            return { 0.5 * $0 * (1 + erf($0 / 2.squareRoot())) }
        }
        registry.register("PRelu", versions: [1, 6, 7, 9, 16]) { context in
            let legacy = context.opset < 7
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                var slope = try inputs.tensor(1)
                // Opset ≤ 6: a slope of shape [C] applies along axis 1.
                if legacy, slope.shape.count == 1, x.shape.count >= 2, slope.shape[0] == x.shape[1], x.shape.count > 2 {
                    slope = try slope.reshaped([slope.shape[0]] + Array(repeating: 1, count: x.shape.count - 2))
                }
                let shape = try Broadcast.shape([x.shape, slope.shape])
                guard shape == x.shape else {
                    throw OnyxError.shapeMismatch("slope \(slope.shape) does not broadcast to X \(x.shape)")
                }
                let values = try x.doubleValues()
                let slopes = try slope.doubleValues()
                var out = [Double](repeating: 0, count: values.count)
                let strides = [Broadcast.strides(of: x.shape, broadcastTo: shape), Broadcast.strides(of: slope.shape, broadcastTo: shape)]
                Broadcast.forEach(shape, strides: strides) { index, offsets in
                    let v = values[offsets[0]]
                    out[index] = v < 0 ? v * slopes[offsets[1]] : v
                }
                return [.tensor(try encode(out, like: x))]
            }
        }
    }

    /// Registers an elementwise float function built from the node's
    /// attributes; `fast`, when given, names the C loop (and its two
    /// parameters) that float32 tensors take instead (``FloatElementwise``).
    static func unary(
        _ registry: inout OpRegistry, _ name: String, _ versions: [Int],
        fast: (@Sendable (OpContext) throws -> (onyx_unary_op, Float, Float))? = nil,
        _ make: @escaping @Sendable (OpContext) throws -> @Sendable (Double) -> Double
    ) {
        registry.register(name, versions: versions) { context in
            let function = try make(context)
            let loop = try fast?(context)
            return ClosureKernel(inPlaceInputs: loop == nil ? [] : [0]) { inputs, run in
                let x = try inputs.tensor(0)
                if let (op, alpha, beta) = loop, x.elementType == .float {
                    return [.tensor(try FloatElementwise.unary(
                        op, x, alpha: alpha, beta: beta, threads: run.options.threads, context: run))]
                }
                return [.tensor(try map(x, function))]
            }
        }
    }

    /// Applies `function` to every element of a floating-point tensor.
    static func map(_ x: Tensor, _ function: (Double) -> Double) throws -> Tensor {
        guard x.elementType.isFloatingPoint else {
            throw OnyxError.wrongElementType("the operator is defined on floating-point tensors, got \(x.elementType)")
        }
        return try encode(try x.doubleValues().map(function), like: x)
    }

    static func encode(_ values: [Double], like x: Tensor) throws -> Tensor {
        if x.elementType == .float {
            return try Tensor(shape: x.shape, scalars: values.map { Float($0) })
        }
        return try Tensor.fromDoubles(values, shape: x.shape, as: x.elementType)
    }
}
