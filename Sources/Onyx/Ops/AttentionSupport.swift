import Foundation

/// The precision an intermediate result is rounded to, so that a kernel
/// computing in `Float` (or `Double`) reproduces the step-by-step rounding of
/// the reference, whose every elementwise step runs in the tensor's type.
enum Rounding: Sendable, Equatable {
    case none, float, half, bfloat

    /// The rounding for values held in `type` (float types only).
    init(_ type: ElementType) throws {
        switch type {
        case .float: self = .float
        case .double: self = .none
        case .float16: self = .half
        case .bfloat16: self = .bfloat
        default: throw OnyxError.wrongElementType("expected a floating-point tensor, got \(type)")
        }
    }

    /// The element type a `softmax_precision` attribute value names.
    static func softmaxType(_ code: Int?) throws -> ElementType? {
        guard let code else { return nil }
        switch code {
        case 1: return .float
        case 10: return .float16
        case 11: return .double
        case 16: return .bfloat16
        default: throw OnyxError.invalidModel("softmax_precision \(code) is not one of 1, 10, 11, 16")
        }
    }
}

/// A scalar type kernels of the attention family compute in: `Float` for
/// float, float16 and bfloat16 tensors, `Double` for double tensors.
protocol ComputeReal: BinaryFloatingPoint, Sendable {
    static func load(_ tensor: Tensor) throws -> [Self]
    static func store(_ values: [Self], shape: [Int], as type: ElementType) throws -> Tensor
    static func attentionExp(_ x: Self) -> Self
    static func attentionTanh(_ x: Self) -> Self
    /// `self` rounded to `rounding` and widened back.
    func rounded(_ rounding: Rounding) -> Self
    /// `value` rounded once to `rounding` (and to `Self`).
    static func rounding(_ value: Double, _ rounding: Rounding) -> Self
}

extension Float: ComputeReal {
    static func load(_ tensor: Tensor) throws -> [Float] { try tensor.floatValues() }
    static func store(_ values: [Float], shape: [Int], as type: ElementType) throws -> Tensor {
        type == .float ? try Tensor(shape: shape, scalars: values) : try Tensor.fromFloats(values, shape: shape, as: type)
    }
    @inline(__always) static func attentionExp(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) static func attentionTanh(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) func rounded(_ rounding: Rounding) -> Float {
        switch rounding {
        case .none, .float: return self
        case .half: return Float(Float16(self))
        case .bfloat: return ElementCodec.BFloat16.decode(ElementCodec.BFloat16.encode(self))
        }
    }
    static func rounding(_ value: Double, _ rounding: Rounding) -> Float {
        switch rounding {
        case .none, .float: return Float(value)
        case .half: return Float(Float16(value))
        case .bfloat: return ElementCodec.BFloat16.decode(ElementCodec.BFloat16.encode(value))
        }
    }
}

extension Double: ComputeReal {
    static func load(_ tensor: Tensor) throws -> [Double] { try tensor.doubleValues() }
    static func store(_ values: [Double], shape: [Int], as type: ElementType) throws -> Tensor {
        type == .double ? try Tensor(shape: shape, scalars: values) : try Tensor.fromDoubles(values, shape: shape, as: type)
    }
    @inline(__always) static func attentionExp(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) static func attentionTanh(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) func rounded(_ rounding: Rounding) -> Double {
        switch rounding {
        case .none: return self
        case .float: return Double(Float(self))
        case .half: return Double(Float16(self))
        case .bfloat: return Double(ElementCodec.BFloat16.decode(ElementCodec.BFloat16.encode(self)))
        }
    }
    static func rounding(_ value: Double, _ rounding: Rounding) -> Double { value.rounded(rounding) }
}

/// Shared pieces of the attention kernels.
enum AttentionSupport {
    /// The maximum of `values`, NaN when any is NaN (as NumPy's `max`).
    @inline(__always)
    static func propagatingMax<S: ComputeReal>(_ values: UnsafeMutableBufferPointer<S>) -> S {
        var result = -S.infinity
        for value in values {
            if value.isNaN { return value }
            if value > result { result = value }
        }
        return result
    }

    /// Softmax of `row` in place, each step rounded to `rounding`. With
    /// `guardMasked` a row whose maximum is −∞ becomes all zeros (Attention's
    /// convention) instead of NaN (plain Softmax, FlexAttention). Sums
    /// accumulate in Double except for bfloat16, whose reference adds
    /// sequentially in bfloat16.
    static func softmax<S: ComputeReal>(_ row: UnsafeMutableBufferPointer<S>, rounding: Rounding, guardMasked: Bool) {
        let maximum = propagatingMax(row)
        let shift = guardMasked && maximum == -S.infinity ? 0 : maximum
        var sum: S = 0
        if rounding == .bfloat {
            for j in row.indices {
                row[j] = S.attentionExp((row[j] - shift).rounded(rounding)).rounded(rounding)
                sum = j == 0 ? row[j] : (sum + row[j]).rounded(rounding)
            }
        } else {
            var wide = 0.0
            for j in row.indices {
                row[j] = S.attentionExp((row[j] - shift).rounded(rounding)).rounded(rounding)
                wide += Double(row[j])
            }
            sum = S(wide).rounded(rounding)
        }
        if guardMasked && sum == 0 { sum = 1 }
        for j in row.indices { row[j] = (row[j] / sum).rounded(rounding) }
    }

    /// The heads per group when `qHeads` query heads share `kvHeads` key/value heads.
    static func groupSize(qHeads: Int, kvHeads: Int) throws -> Int {
        guard qHeads > 0, kvHeads > 0, qHeads % kvHeads == 0 else {
            throw OnyxError.shapeMismatch("\(qHeads) query heads are not a multiple of \(kvHeads) key/value heads")
        }
        return qHeads / kvHeads
    }
}

/// Saturating integer steps for positions computed from untrusted lengths.
@inline(__always) func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? Int.max : Int.min) : sum
}

@inline(__always) func saturatingSubtract(_ a: Int, _ b: Int) -> Int {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    return overflow ? (b < 0 ? Int.max : Int.min) : difference
}
