import Foundation

/// ai.onnx.preview.training optimizers (version 1): Adagrad, Adam and
/// Momentum (standard and Nesterov). Inputs are `R` (learning rate), `T`
/// (update count, int64), then n tensors X, n gradients G and the n state
/// tensors of each kind; outputs are the n new X followed by the new states,
/// per kind. Each update is element-wise on equal shapes, computed in Double
/// and rounded to the tensor's type (float or double).
///
/// `Gradient` is not implemented: it asks for symbolic differentiation of
/// an arbitrary subgraph, which needs a backward rule for every operator.
enum TrainingOps {
    static let domain = "ai.onnx.preview.training"

    static func register(into registry: inout OpRegistry) {
        registry.register("Adagrad", domain: domain, since: 1) { context in
            let decay = Double(try context.float("decay_factor", default: 0))
            let epsilon = Double(try context.float("epsilon", default: 1e-6))
            let norm = Double(try context.float("norm_coefficient", default: 0))
            return optimizer(context, states: 1) { r, t, x, g, h, _ in
                let rate = r / (1 + Double(t) * decay)
                let regularized = norm * x + g
                h += regularized * regularized
                return x - rate * regularized / (h.squareRoot() + epsilon)
            }
        }
        registry.register("Adam", domain: domain, since: 1) { context in
            let alpha = Double(try context.float("alpha", default: 0.9))
            let beta = Double(try context.float("beta", default: 0.999))
            let epsilon = Double(try context.float("epsilon", default: 1e-6))
            let norm = Double(try context.float("norm_coefficient", default: 0))
            let normPost = Double(try context.float("norm_coefficient_post", default: 0))
            return optimizer(context, states: 2) { r, t, x, g, v, h in
                let regularized = norm * x + g
                v = alpha * v + (1 - alpha) * regularized
                h = beta * h + (1 - beta) * regularized * regularized
                let rate = t > 0 ? r * (1 - pow(beta, Double(t))).squareRoot() / (1 - pow(alpha, Double(t))) : r
                return (1 - normPost) * (x - rate * v / (h.squareRoot() + epsilon))
            }
        }
        registry.register("Momentum", domain: domain, since: 1) { context in
            guard let alpha = try context.float("alpha").map(Double.init), let beta = try context.float("beta").map(Double.init),
                  let norm = try context.float("norm_coefficient").map(Double.init), let mode = try context.string("mode")
            else { throw OnyxError.invalidModel("alpha, beta, mode and norm_coefficient are required") }
            try context.check("mode", mode, in: ["standard", "nesterov"])
            let nesterov = mode == "nesterov"
            return optimizer(context, states: 1) { r, t, x, g, v, _ in
                let regularized = norm * x + g
                v = alpha * v + (t > 0 ? beta : 1) * regularized
                return nesterov ? x - r * (regularized + alpha * v) : x - r * v
            }
        }
    }

    /// One element's update: returns the new X and updates the (up to two) states in place.
    typealias Update = @Sendable (
        _ r: Double, _ t: Int64, _ x: Double, _ g: Double, _ state0: inout Double, _ state1: inout Double
    ) -> Double

    /// A kernel applying `update` element-wise to each of the n optimized
    /// tensors, with `states` state tensors per optimized tensor.
    static func optimizer(_ context: OpContext, states: Int, _ update: @escaping Update) -> any Kernel {
        let groups = (context.inputCount - 2) / (2 + states)
        let valid = context.inputCount >= 2 + (2 + states) && (context.inputCount - 2) % (2 + states) == 0
        return ClosureKernel { inputs, _ in
            guard valid else {
                throw OnyxError.invalidModel("expected R, T and \(2 + states) equal groups of tensors, got \(inputs.count) inputs")
            }
            let rate = try inputs.tensor(0)
            guard rate.elementType == .float || rate.elementType == .double, rate.count == 1,
                  let r = try rate.doubleValues().first
            else { throw OnyxError.invalidModel("R must be a float or double scalar") }
            let count = try inputs.tensor(1)
            guard count.elementType == .int64, count.count == 1, let t = try count.int64Values().first else {
                throw OnyxError.invalidModel("T must be an int64 scalar")
            }
            var newX: [Value?] = []
            var newStates = [[Value?]](repeating: [], count: states)
            for i in 0..<groups {
                let x = try inputs.tensor(2 + i)
                let tensors = try (1...(1 + states)).map { try inputs.tensor(2 + $0 * groups + i) }
                guard x.elementType == .float || x.elementType == .double,
                      tensors.allSatisfy({ $0.elementType == x.elementType && $0.shape == x.shape })
                else { throw OnyxError.shapeMismatch("X, G and the state tensors must share one float type and shape") }
                let xs = try x.doubleValues()
                let others = try tensors.map { try $0.doubleValues() }
                var outX = [Double](repeating: 0, count: xs.count)
                var outStates = [[Double]](repeating: [Double](repeating: 0, count: xs.count), count: states)
                for e in 0..<xs.count {
                    var first = others[1][e]
                    var second = states > 1 ? others[2][e] : 0
                    outX[e] = update(r, t, xs[e], others[0][e], &first, &second)
                    outStates[0][e] = first
                    if states > 1 { outStates[1][e] = second }
                }
                newX.append(.tensor(try Tensor.fromDoubles(outX, shape: x.shape, as: x.elementType)))
                for s in 0..<states {
                    newStates[s].append(.tensor(try Tensor.fromDoubles(outStates[s], shape: x.shape, as: x.elementType)))
                }
            }
            return newX + newStates.flatMap { $0 }
        }
    }
}
