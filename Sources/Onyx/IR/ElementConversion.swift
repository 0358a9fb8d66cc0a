/// Scalar codecs between ONNX element encodings and `Float` / `Double`.
///
/// Every function here is total: NaN, infinities, subnormals and huge
/// magnitudes all have a defined result, and nothing traps. The rules follow
/// the ONNX `Cast` specification (opset 24+ tables) and, where the written
/// specification is silent or ambiguous, ONNX's reference implementation
/// (`onnx.reference.ops.op_cast`, which uses `ml_dtypes`), because that is
/// what the ONNX conformance data was generated with. Each deviation or
/// choice is documented on the function that makes it.
///
/// The generic format is here; the concrete float kinds are in
/// `ElementCodec+Floats.swift`, integer rules in `ElementCodec+Integers.swift`,
/// and the tensor-level conversions in `Tensor+Conversion.swift` (decoding)
/// and `Tensor+Encoding.swift`.
public enum ElementCodec {}

// MARK: - Generic small floating-point formats

extension ElementCodec {
    /// How a small binary floating-point format uses its special codes.
    package enum SpecialValues: Sendable, Equatable {
        /// IEEE 754 style: exponent all ones is ±Inf (mantissa 0) or NaN
        /// (float16, bfloat16, float8e5m2).
        case ieee
        /// "fn": no infinities; only S.1111.111 (magnitude all ones) is NaN
        /// (float8e4m3fn).
        case finite
        /// "fnuz": no infinities and no negative zero; the code with only the
        /// sign bit set (0x80) is the single NaN (float8e4m3fnuz, float8e5m2fnuz).
        case finiteUnsignedZero
        /// Neither infinities nor NaN (float4e2m1).
        case none
    }

    /// A sign / exponent / mantissa format of at most 16 bits, described well
    /// enough to decode and round-to-nearest-even encode any value.
    package struct MinifloatFormat: Sendable, Equatable {
        /// Exponent field width.
        package let exponentBits: Int
        /// Mantissa (fraction) field width.
        package let mantissaBits: Int
        /// Exponent bias.
        package let bias: Int
        /// How the format spends its special codes.
        package let specials: SpecialValues

        /// The sign bit.
        package let signMask: UInt32
        /// All bits below the sign bit.
        package let magnitudeMask: UInt32
        /// The magnitude code of the largest finite value.
        package let maxFiniteMagnitude: UInt32
        private let exponentAllOnes: UInt32
        private let mantissaMask: UInt32

        /// Creates a format description (at most 16 bits in all, at least
        /// one mantissa bit; only the ONNX formats below are built).
        init(exponentBits: Int, mantissaBits: Int, bias: Int, specials: SpecialValues) {
            self.exponentBits = exponentBits
            self.mantissaBits = mantissaBits
            self.bias = bias
            self.specials = specials
            signMask = 1 << UInt32(exponentBits + mantissaBits)
            magnitudeMask = signMask - 1
            exponentAllOnes = (1 << UInt32(exponentBits)) - 1
            mantissaMask = (1 << UInt32(mantissaBits)) - 1
            switch specials {
            case .ieee: maxFiniteMagnitude = ((exponentAllOnes - 1) << UInt32(mantissaBits)) | mantissaMask
            case .finite: maxFiniteMagnitude = magnitudeMask - 1
            case .finiteUnsignedZero, .none: maxFiniteMagnitude = magnitudeMask
            }
        }

        /// The code a NaN of the given sign encodes to. For `.none` (no NaN)
        /// this is never used by `encode`; it returns the positive zero code.
        package func nanCode(negative: Bool) -> UInt32 {
            let sign = negative ? signMask : 0
            switch specials {
            case .ieee:
                // Quiet NaN with only the top mantissa bit set (what ml_dtypes writes).
                return sign | (exponentAllOnes << UInt32(mantissaBits)) | (1 << UInt32(mantissaBits - 1))
            case .finite: return sign | magnitudeMask
            case .finiteUnsignedZero: return signMask
            case .none: return 0
            }
        }

        /// Whether `code` is a NaN of this format.
        package func isNaN(_ code: UInt32) -> Bool {
            let magnitude = code & magnitudeMask
            switch specials {
            case .ieee:
                return magnitude >> UInt32(mantissaBits) == exponentAllOnes && magnitude & mantissaMask != 0
            case .finite: return magnitude == magnitudeMask
            case .finiteUnsignedZero: return code & (signMask | magnitudeMask) == signMask
            case .none: return false
            }
        }

        /// The exact value of `code` (bits above the format's width are ignored).
        package func decode(_ code: UInt32) -> Double {
            if isNaN(code) { return .nan }
            let negative = code & signMask != 0
            let magnitude = code & magnitudeMask
            let exponentField = magnitude >> UInt32(mantissaBits)
            let mantissa = magnitude & mantissaMask
            let value: Double
            if specials == .ieee && exponentField == exponentAllOnes {
                value = .infinity
            } else if exponentField == 0 {
                // Subnormal: mantissa × 2^(1 - bias - mantissaBits).
                value = Double(sign: .plus, exponent: 1 - bias - mantissaBits, significand: Double(mantissa))
            } else {
                let significand = Double((1 << UInt32(mantissaBits)) | mantissa)
                value = Double(
                    sign: .plus, exponent: Int(exponentField) - bias - mantissaBits, significand: significand)
            }
            return negative ? -value : value
        }

        /// Encodes `value` with round-to-nearest-even.
        ///
        /// Out-of-range finite values (after rounding) and ±Inf become ±max
        /// when `saturate` is true. Otherwise they become ±Inf for `.ieee`,
        /// NaN (sign kept) for `.finite`, the NaN code 0x80 for
        /// `.finiteUnsignedZero`, and ±max for `.none`, which cannot
        /// represent anything else. NaN becomes ``nanCode(negative:)``
        /// (`.none` formats: +0; callers decide). Negative zero and negative
        /// values rounding to zero become +0 in `.finiteUnsignedZero` formats.
        package func encode(_ value: Double, saturate: Bool) -> UInt32 {
            let negative = value.sign == .minus
            if value.isNaN { return nanCode(negative: negative) }
            let sign = negative ? signMask : 0
            let magnitude = value.magnitude
            var code: UInt32
            if magnitude.isInfinite {
                code = overflowMagnitude(saturate: saturate)
            } else {
                code = roundedMagnitude(magnitude)
                if code > maxFiniteMagnitude { code = overflowMagnitude(saturate: saturate) }
            }
            // fnuz: no negative zero, and the overflow NaN (0x80) carries no sign.
            if specials == .finiteUnsignedZero && (code == 0 || code == signMask) { return code }
            return sign | code
        }

        /// The magnitude code for an out-of-range value; `.finiteUnsignedZero`
        /// returns its (sign-only) NaN code.
        private func overflowMagnitude(saturate: Bool) -> UInt32 {
            if saturate { return maxFiniteMagnitude }
            switch specials {
            case .ieee: return exponentAllOnes << UInt32(mantissaBits)
            case .finite: return magnitudeMask
            case .finiteUnsignedZero: return signMask
            case .none: return maxFiniteMagnitude
            }
        }

        /// Round-to-nearest-even of a finite, non-negative `magnitude`, as a
        /// magnitude code with an unbounded exponent (may exceed the maximum).
        private func roundedMagnitude(_ magnitude: Double) -> UInt32 {
            let bits = magnitude.bitPattern
            let biasedExponent = Int(bits >> 52)
            // Double subnormals (< 2^-1022) are far below half the smallest
            // subnormal of any format here, so they round to zero.
            guard biasedExponent != 0 else { return 0 }
            let exponent = biasedExponent - 1023
            let significand = (bits & 0x000F_FFFF_FFFF_FFFF) | 0x0010_0000_0000_0000
            let minExponent = 1 - bias
            let quantumExponent = max(exponent, minExponent) - mantissaBits
            // magnitude = significand × 2^(exponent - 52); in quanta it is
            // significand >> shift, with shift ≥ 52 - mantissaBits > 0.
            let shift = 52 + quantumExponent - exponent
            // Below a quarter quantum (shift ≥ 55): rounds to zero.
            guard shift < 55 else { return 0 }
            var quanta = significand >> UInt64(shift)
            let remainder = significand & ((1 << UInt64(shift)) - 1)
            let half: UInt64 = 1 << UInt64(shift - 1)
            if remainder > half || (remainder == half && quanta & 1 == 1) { quanta += 1 }
            // Normal numbers: biased exponent field (exponent - minExponent + 1)
            // times 2^mantissaBits plus the fraction, which equals this sum
            // because `quanta` still holds the implicit leading one. A carry
            // out of the mantissa bumps the exponent correctly.
            let exponentPart = (max(exponent, minExponent) - minExponent) << mantissaBits
            let code = exponentPart + Int(quanta)
            // Anything this large is out of range for every format here.
            return code > 0xFFFF ? 0xFFFF : UInt32(code)
        }

        /// All `2^(1 + exponentBits + mantissaBits)` codes decoded to `Float`.
        /// Exact: every value of a format here is representable as a `Float`.
        func decodeTable() -> [Float] {
            let count = 1 << (1 + exponentBits + mantissaBits)
            return (0..<count).map { Float(decode(UInt32($0))) }
        }
    }
}
