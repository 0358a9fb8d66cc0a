import Foundation

/// What LSTM, GRU and RNN share: attributes, activation functions, and the
/// arithmetic type.
///
/// - `direction`: forward, reverse or bidirectional (forward first on the
///   `num_directions` axis). Opset 1's schema misspells its default as
///   "foward"; that spelling is accepted before opset 7.
/// - `layout` (opset 14+): 0 is time-major (X `[seq, batch, input]`, Y
///   `[seq, dirs, batch, hidden]`, states `[dirs, batch, hidden]`); 1 is
///   batch-major (X `[batch, seq, input]`, Y `[batch, seq, dirs, hidden]`,
///   states `[batch, dirs, hidden]`).
/// - `activations`: names, case-insensitive, one group per direction; a
///   single group is reused for both directions of a bidirectional node, and
///   extra groups of a one-direction node (RNN's default lists two) are
///   ignored. `activation_alpha` / `activation_beta` are consumed in order by
///   the functions that take them (alpha: Affine, LeakyRelu, ThresholdedRelu,
///   ScaledTanh, HardSigmoid, Elu; beta: Affine, ScaledTanh, HardSigmoid);
///   where a list runs out the function's default applies (Affine 1, 0;
///   LeakyRelu 0.01; ThresholdedRelu 1; ScaledTanh 1, 1; HardSigmoid 0.2,
///   0.5; Elu 1).
/// - `clip` bounds each gate pre-activation to [−clip, clip] before its
///   activation function; the cell state itself is not clipped.
/// - Opset 1's `output_sequence` is ignored: Y is produced when requested.
enum RecurrentOps {
    static func register(into registry: inout OpRegistry) {
        LSTMOps.register(into: &registry)
        GRUOps.register(into: &registry)
        RNNOps.register(into: &registry)
    }

    /// Element types the recurrent operators accept (T).
    static let elementTypes: Set<ElementType> = [.float, .double, .float16, .bfloat16]
}

enum RecurrentDirection: Sendable {
    case forward, reverse, bidirectional
}

/// The attributes every recurrent operator has, read and checked at plan time.
struct RecurrentAttributes: Sendable {
    let direction: RecurrentDirection
    let hiddenSize: Int?
    let batchMajor: Bool
    let clip: Float?
    /// One list of `functionsPerDirection` activations per direction.
    let activations: [[RecurrentActivation]]
    /// Which of the node's outputs (Y, Y_h, Y_c) are requested.
    let requested: [Bool]

    var directionCount: Int { direction == .bidirectional ? 2 : 1 }

    /// Whether direction `index` runs from the end of each sequence.
    func isReverse(_ index: Int) -> Bool { direction == .reverse || index == 1 }

    init(_ context: OpContext, defaultActivations: [String], outputs: Int) throws {
        guard context.outputCount <= outputs else {
            throw OnyxError.invalidModel("\(context.node.opType) has at most \(outputs) outputs, got \(context.outputCount)")
        }
        let name = try context.string("direction", default: "forward")
        switch name {
        case "forward": direction = .forward
        case "foward" where context.opset < 7: direction = .forward
        case "reverse": direction = .reverse
        case "bidirectional": direction = .bidirectional
        default:
            throw OnyxError.invalidModel("direction \"\(name)\" is not forward, reverse or bidirectional")
        }
        hiddenSize = try context.int("hidden_size")
        if let hiddenSize, hiddenSize <= 0 {
            throw OnyxError.invalidModel("hidden_size must be positive, got \(hiddenSize)")
        }
        let layout = context.opset >= 14 ? try context.int("layout", default: 0) : 0
        guard layout == 0 || layout == 1 else { throw OnyxError.invalidModel("layout must be 0 or 1, got \(layout)") }
        batchMajor = layout == 1
        clip = try context.float("clip")
        if let clip, !(clip > 0) { throw OnyxError.invalidModel("clip must be positive, got \(clip)") }
        requested = (0..<context.outputCount).map { context.hasOutput($0) }

        let perDirection = defaultActivations.count
        let directions = direction == .bidirectional ? 2 : 1
        var names = try context.strings("activations") ?? []
        if names.isEmpty {
            names = Array([[String]](repeating: defaultActivations, count: directions).joined())
        }
        let parsed = try RecurrentActivation.parse(
            names, alphas: try context.floats("activation_alpha") ?? [],
            betas: try context.floats("activation_beta") ?? [])
        guard parsed.count == perDirection || parsed.count == 2 * perDirection else {
            throw OnyxError.invalidModel(
                "activations lists \(parsed.count) functions; expected \(perDirection * directions)")
        }
        let groups = parsed.count / perDirection
        activations = (0..<directions).map { d in
            let group = min(d, groups - 1)
            return Array(parsed[(group * perDirection)..<((group + 1) * perDirection)])
        }
    }
}

/// An activation function of the recurrent operators, with its parameters.
enum RecurrentActivation: Sendable, Equatable {
    case relu, tanh, sigmoid, softsign, softplus
    case affine(alpha: Float, beta: Float)
    case leakyRelu(alpha: Float)
    case thresholdedRelu(alpha: Float)
    case scaledTanh(alpha: Float, beta: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case elu(alpha: Float)

    /// Resolves `names`, handing out `alphas` and `betas` in order to the
    /// functions that take them.
    static func parse(_ names: [String], alphas: [Float], betas: [Float]) throws -> [RecurrentActivation] {
        var alphaQueue = alphas[...]
        var betaQueue = betas[...]
        func alpha(_ fallback: Float) -> Float { alphaQueue.popFirst() ?? fallback }
        func beta(_ fallback: Float) -> Float { betaQueue.popFirst() ?? fallback }
        return try names.map { name in
            switch name.lowercased() {
            case "relu": return .relu
            case "tanh": return .tanh
            case "sigmoid": return .sigmoid
            case "softsign": return .softsign
            case "softplus": return .softplus
            case "affine": return .affine(alpha: alpha(1), beta: beta(0))
            case "leakyrelu": return .leakyRelu(alpha: alpha(0.01))
            case "thresholdedrelu": return .thresholdedRelu(alpha: alpha(1))
            case "scaledtanh": return .scaledTanh(alpha: alpha(1), beta: beta(1))
            case "hardsigmoid": return .hardSigmoid(alpha: alpha(0.2), beta: beta(0.5))
            case "elu": return .elu(alpha: alpha(1))
            default: throw OnyxError.unsupportedOperator("activation function \"\(name)\" is not supported")
            }
        }
    }

    /// Clips `values[range]` to [−clip, clip] when `clip` is set, then
    /// applies the function in place.
    func apply<S: RecurrentScalar>(_ values: inout [S], _ range: Range<Int>, clip: S?) {
        if let clip {
            for k in range { values[k] = min(max(values[k], -clip), clip) }
        }
        switch self {
        case .relu: for k in range where !(values[k] > 0) && !values[k].isNaN { values[k] = 0 }
        case .tanh: for k in range { values[k] = S.hyperbolicTangent(values[k]) }
        case .sigmoid: for k in range { values[k] = S.sigmoid(values[k]) }
        case .softsign: for k in range { values[k] = values[k] / (1 + abs(values[k])) }
        case .softplus:
            for k in range {
                let x = values[k]
                values[k] = x > 0 ? x + S.logOnePlus(S.exponential(-x)) : S.logOnePlus(S.exponential(x))
            }
        case .affine(let alpha, let beta):
            let (a, b) = (S(alpha), S(beta))
            for k in range { values[k] = a * values[k] + b }
        case .leakyRelu(let alpha):
            let a = S(alpha)
            for k in range where values[k] < 0 { values[k] *= a }
        case .thresholdedRelu(let alpha):
            let a = S(alpha)
            for k in range where !(values[k] >= a) && !values[k].isNaN { values[k] = 0 }
        case .scaledTanh(let alpha, let beta):
            let (a, b) = (S(alpha), S(beta))
            for k in range { values[k] = a * S.hyperbolicTangent(b * values[k]) }
        case .hardSigmoid(let alpha, let beta):
            let (a, b) = (S(alpha), S(beta))
            for k in range { values[k] = min(max(a * values[k] + b, 0), 1) }
        case .elu(let alpha):
            let a = S(alpha)
            for k in range where values[k] < 0 { values[k] = a * (S.exponential(values[k]) - 1) }
        }
    }
}

/// The arithmetic type of a recurrent kernel: Float for float, float16 and
/// bfloat16 inputs, Double for double.
protocol RecurrentScalar: BinaryFloatingPoint, Sendable {
    static func exponential(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
    static func logOnePlus(_ x: Self) -> Self
    static func decode(_ tensor: Tensor) throws -> [Self]
    static func encode(_ values: [Self], shape: [Int], as type: ElementType) throws -> Tensor
}

extension RecurrentScalar {
    @inline(__always) static func sigmoid(_ x: Self) -> Self { 1 / (1 + exponential(-x)) }
}

extension Float: RecurrentScalar {
    @inline(__always) static func exponential(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) static func hyperbolicTangent(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) static func logOnePlus(_ x: Float) -> Float { Foundation.log1p(x) }
    static func decode(_ tensor: Tensor) throws -> [Float] { try tensor.floatValues() }
    static func encode(_ values: [Float], shape: [Int], as type: ElementType) throws -> Tensor {
        try Tensor.fromFloats(values, shape: shape, as: type)
    }
}

extension Double: RecurrentScalar {
    @inline(__always) static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) static func logOnePlus(_ x: Double) -> Double { Foundation.log1p(x) }
    static func decode(_ tensor: Tensor) throws -> [Double] { try tensor.doubleValues() }
    static func encode(_ values: [Double], shape: [Int], as type: ElementType) throws -> Tensor {
        try Tensor.fromDoubles(values, shape: shape, as: type)
    }
}
