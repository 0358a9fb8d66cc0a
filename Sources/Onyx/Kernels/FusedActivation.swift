import Foundation

/// An elementwise activation fused into the `ai.onyx` node producing its
/// input (FusedConv, FusedGemm, FusedMatMul, ChannelAffine).
///
/// On a node it is written as the attributes `activation` (a STRING: one of
/// ``Kind``'s raw values) and `activation_params` (FLOATS, as listed per
/// kind); a node without `activation` has none. Kernels apply it in place
/// on their Float output, in a loop over 8-lane vectors: ReLU and Clip go
/// through the GEMM epilogue where the kernel is a GEMM (``gemmEpilogue``),
/// the others run right after on the output buffer. Sigmoid, SiLU and Tanh
/// use a vectorised exp (``exp(_:)``, within 2 ulp of the correctly
/// rounded one on its range).
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
        default: return nil
        }
    }

    /// Applies the activation to every element of `buffer`, in place.
    func apply(_ buffer: UnsafeMutableBufferPointer<Float>) {
        switch kind {
        case .relu:
            Self.map(buffer) { $0.replacing(with: 0, where: $0 .< 0) }
        case .clip:
            let (low, high) = (parameters[0], parameters[1])
            Self.map(buffer) { $0.replacing(with: low, where: $0 .< low).replacing(with: high, where: $0 .> high) }
        case .leakyRelu:
            let alpha = parameters[0]
            Self.map(buffer) { $0.replacing(with: $0 * alpha, where: $0 .< 0) }
        case .sigmoid:
            Self.map(buffer) { Self.sigmoid($0) }
        case .hardSigmoid:
            let (alpha, beta) = (parameters[0], parameters[1])
            Self.map(buffer) { Self.unitClamp($0 * alpha + beta) }
        case .hardSwish:
            Self.map(buffer) { $0 * Self.unitClamp($0 * (1 / 6) + 0.5) }
        case .silu:
            Self.map(buffer) { $0 * Self.sigmoid($0) }
        case .tanh:
            Self.map(buffer) { Self.tanh($0) }
        }
    }

    /// Applies the activation to a whole fresh tensor of Float elements, in place.
    func apply(toFresh tensor: Tensor) {
        guard tensor.elementType == .float, let base = tensor.buffer?.baseAddress else { return }
        let count = tensor.count
        apply(UnsafeMutableBufferPointer(start: base.bindMemory(to: Float.self, capacity: count), count: count))
    }

    typealias Vector = SIMD8<Float>

    /// `body` over `buffer` eight lanes at a time; the tail goes through a padded vector.
    @inline(__always)
    private static func map(_ buffer: UnsafeMutableBufferPointer<Float>, _ body: (Vector) -> Vector) {
        guard let base = buffer.baseAddress else { return }
        let count = buffer.count
        let whole = count - count % Vector.scalarCount
        let raw = UnsafeMutableRawPointer(base)
        var index = 0
        while index < whole {
            let offset = index &* MemoryLayout<Float>.stride
            let value = raw.loadUnaligned(fromByteOffset: offset, as: Vector.self)
            raw.storeBytes(of: body(value), toByteOffset: offset, as: Vector.self)
            index &+= Vector.scalarCount
        }
        guard whole < count else { return }
        var tail = Vector(repeating: 0)
        for lane in 0..<(count - whole) { tail[lane] = base[whole + lane] }
        let result = body(tail)
        for lane in 0..<(count - whole) { base[whole + lane] = result[lane] }
    }

    @inline(__always)
    private static func unitClamp(_ x: Vector) -> Vector {
        x.replacing(with: 0, where: x .< 0).replacing(with: 1, where: x .> 1)
    }

    /// tanh per lane: an odd polynomial below |x| = 0.625 (where the
    /// exp form would cancel), `1 − 2 / (e^{2|x|} + 1)` with the sign put back above.
    @inline(__always)
    private static func tanh(_ x: Vector) -> Vector {
        let negative = x .< 0
        let magnitude = x.replacing(with: -x, where: negative)
        var large = 1 - 2 / (exp(2 * magnitude) + 1)
        large.replace(with: -large, where: negative)
        let z = x * x
        var p = Vector(repeating: -5.70498872745e-3)
        p = p * z + 2.06390887954e-2
        p = p * z - 5.37397155531e-2
        p = p * z + 1.33314422036e-1
        p = p * z - 3.33332819422e-1
        let small = p * z * x + x
        return large.replacing(with: small, where: magnitude .< 0.625).replacing(with: x, where: x .!= x)
    }

    @inline(__always)
    private static func sigmoid(_ x: Vector) -> Vector { 1 / (1 + exp(-x)) }

    /// e^x per lane: x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a degree-7
    /// polynomial, 2^n put in the exponent bits. Inputs are clamped to
    /// [−87.3, 88.3] (results near the float range's ends); NaN stays NaN.
    /// n is rounded by adding 1.5·2^23 (which leaves n in the low mantissa
    /// bits) rather than by `rounded()` and an Int32 conversion, which do
    /// not vectorise.
    @inline(__always)
    static func exp(_ x: Vector) -> Vector {
        // NaN lanes compute e^0 and are put back at the end.
        let clamped = x.replacing(with: -87.3, where: x .< -87.3).replacing(with: 88.3, where: x .> 88.3)
            .replacing(with: 0, where: x .!= x)
        let magic: Float = 12_582_912
        let shifted = clamped * 1.44269504088896341 + magic
        let n = shifted - magic
        let r = clamped - n * 0.693359375 + n * 2.12194440e-4
        var p = Vector(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * (r * r) + r + 1
        let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: Vector.self)
        return (er * scale).replacing(with: x, where: x .!= x)
    }
}
