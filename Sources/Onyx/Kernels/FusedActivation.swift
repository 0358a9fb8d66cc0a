import CKernels

/// An elementwise activation fused into the `ai.onyx` node producing its
/// input (FusedConv, FusedGemm, FusedMatMul, ChannelAffine).
///
/// On a node it is written as the attributes `activation` (a STRING: one of
/// ``Kind``'s raw values) and `activation_params` (FLOATS, as listed per
/// kind); a node without `activation` has none. Kernels apply it in place
/// on their Float output: ReLU, Clip and SiLU go through the kernel's own
/// epilogue where it has one (``gemmEpilogue``), the others run right after on
/// the output buffer, with the C loops of ``FloatElementwise`` (Sigmoid,
/// SiLU, Tanh and GELU's erf within 4 ulp).
struct FusedActivation: Sendable, Equatable {
    enum Kind: String, Sendable, CaseIterable {
        /// max(x, 0); no parameters.
        case relu = "Relu"
        /// min(max(x, p0), p1); parameters [min, max].
        case clip = "Clip"
        /// x ≥ 0 ? x : p0 · x; parameters [alpha].
        case leakyRelu = "LeakyRelu"
        /// 1 / (1 + e^−x); no parameters.
        case sigmoid = "Sigmoid"
        /// max(0, min(1, p0 · x + p1)); parameters [alpha, beta].
        case hardSigmoid = "HardSigmoid"
        /// x · max(0, min(1, x / 6 + 1/2)); no parameters.
        case hardSwish = "HardSwish"
        /// x · sigmoid(x); no parameters.
        case silu = "SiLU"
        /// tanh(x); no parameters.
        case tanh = "Tanh"
        /// x · (1 + erf(x / √2)) / 2 (exact GELU); no parameters.
        case gelu = "Gelu"

        /// How many floats `activation_params` holds for this kind.
        var parameterCount: Int {
            switch self {
            case .clip, .hardSigmoid: return 2
            case .leakyRelu: return 1
            default: return 0
            }
        }
    }

    let kind: Kind
    let parameters: [Float]

    /// An activation of `kind`; throws unless `parameters` has the count the kind needs.
    init(_ kind: Kind, _ parameters: [Float] = []) throws {
        guard parameters.count == kind.parameterCount else {
            throw OnyxError.invalidModel(
                "activation \(kind.rawValue) takes \(kind.parameterCount) parameters, got \(parameters.count)")
        }
        self.kind = kind
        self.parameters = parameters
    }

    /// The activation a GEMM epilogue applies, as a fused one (nil for none).
    init?(gemmEpilogue: Gemm.Activation) {
        switch gemmEpilogue {
        case .none: return nil
        case .relu: (kind, parameters) = (.relu, [])
        case .clip(let low, let high): (kind, parameters) = (.clip, [low, high])
        case .silu: (kind, parameters) = (.silu, [])
        }
    }

    /// The activation a node's attributes describe, or nil when it has none.
    init?(attributesOf node: Node) throws {
        guard case .string(let bytes)? = node.attribute("activation")?.value else { return nil }
        let name = String(decoding: bytes, as: UTF8.self)
        guard let kind = Kind(rawValue: name) else {
            throw OnyxError.unsupportedOperator(
                "node \"\(node.name)\": activation \"\(name)\" is not one of "
                    + Kind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var parameters: [Float] = []
        switch node.attribute("activation_params")?.value {
        case .floats(let values)?: parameters = values
        case .float(let value)?: parameters = [value]
        case nil: break
        default: throw OnyxError.invalidModel("node \"\(node.name)\": activation_params must be FLOATS")
        }
        try self.init(kind, parameters)
    }

    /// The attributes that describe this activation on a fused node.
    var attributes: [Attribute] {
        var list = [Attribute(name: "activation", value: .string(Array(kind.rawValue.utf8)))]
        if !parameters.isEmpty { list.append(Attribute(name: "activation_params", value: .floats(parameters))) }
        return list
    }

    /// The GEMM kernel's own epilogue for this activation, when it has one.
    var gemmEpilogue: Gemm.Activation? {
        switch kind {
        case .relu: return .relu
        case .clip: return .clip(min: parameters[0], max: parameters[1])
        case .silu: return .silu
        default: return nil
        }
    }

    /// Applies the activation to every element of `buffer`, in place, with
    /// the C loops of ``FloatElementwise``, on up to `threads` threads (1 when
    /// the caller already splits its work).
    func apply(_ buffer: UnsafeMutableBufferPointer<Float>, threads: Int? = 1) {
        guard let base = buffer.baseAddress else { return }
        let (op, alpha, beta): (onyx_unary_op, Float, Float)
        switch kind {
        case .relu: (op, alpha, beta) = (ONYX_UNARY_RELU, 0, 0)
        case .clip: (op, alpha, beta) = (ONYX_UNARY_CLIP, parameters[0], parameters[1])
        case .leakyRelu: (op, alpha, beta) = (ONYX_UNARY_LEAKY_RELU, parameters[0], 0)
        case .sigmoid: (op, alpha, beta) = (ONYX_UNARY_SIGMOID, 0, 0)
        case .hardSigmoid: (op, alpha, beta) = (ONYX_UNARY_HARD_SIGMOID, parameters[0], parameters[1])
        case .hardSwish: (op, alpha, beta) = (ONYX_UNARY_HARD_SWISH, 0, 0)
        case .silu: (op, alpha, beta) = (ONYX_UNARY_SILU, 0, 0)
        case .tanh: (op, alpha, beta) = (ONYX_UNARY_TANH, 0, 0)
        case .gelu: (op, alpha, beta) = (ONYX_UNARY_GELU, 0, 0)
        }
        FloatElementwise.apply(op, base, base, count: buffer.count, alpha: alpha, beta: beta, threads: threads)
    }

    /// Applies the activation to a whole fresh tensor of Float elements, in place.
    func apply(toFresh tensor: Tensor, threads: Int?) {
        guard tensor.elementType == .float, let base = tensor.buffer?.baseAddress else { return }
        let count = tensor.count
        apply(UnsafeMutableBufferPointer(start: base.bindMemory(to: Float.self, capacity: count), count: count), threads: threads)
    }
}
