// ONNX's small floating-point element types: the four float8 kinds,
// float16, bfloat16, float4e2m1 and float8e8m0. See ElementConversion.swift.

// MARK: - 8-bit float kinds

extension ElementCodec {
    /// A float8 kind whose conversions are defined by a ``MinifloatFormat``.
    package protocol Float8Codec {
        /// The format of this kind.
        static var format: MinifloatFormat { get }
        /// All 256 codes decoded (NaN codes decode to NaN).
        static var decodeTable: [Float] { get }
    }
}

extension ElementCodec.Float8Codec {
    /// The value of `code`.
    @inline(__always)
    package static func decode(_ code: UInt8) -> Float {
        decodeTable.withUnsafeBufferPointer { $0[Int(code)] }
    }

    /// Encodes `value` as `Cast(to: this kind, saturate:)` does (opset 24+):
    /// round-to-nearest-even; with `saturate` (the default), out-of-range
    /// values and ±Inf clamp to ±max for every kind; without it, ±Inf and
    /// out-of-range values become ±Inf (e5m2) or NaN (the other kinds; e4m3fn
    /// keeps the sign). NaN stays NaN. -0 is kept except in the fnuz kinds.
    package static func encode(_ value: Double, saturate: Bool = true) -> UInt8 {
        UInt8(truncatingIfNeeded: format.encode(value, saturate: saturate))
    }

    /// Encodes `value`; see the `Double` overload. Exact for
    /// every `Float` (it is widened to `Double` first, which is lossless).
    package static func encode(_ value: Float, saturate: Bool = true) -> UInt8 {
        encode(Double(value), saturate: saturate)
    }
}

extension ElementCodec {
    /// float8e4m3fn: 1-4-3, bias 7, no infinities, NaN = S.1111.111, max 448.
    package enum Float8E4M3FN: Float8Codec {
        package static let format = MinifloatFormat(exponentBits: 4, mantissaBits: 3, bias: 7, specials: .finite)
        package static let decodeTable: [Float] = format.decodeTable()
    }

    /// float8e4m3fnuz: 1-4-3, bias 8, no infinities, no -0, NaN = 0x80, max 240.
    package enum Float8E4M3FNUZ: Float8Codec {
        package static let format = MinifloatFormat(
            exponentBits: 4, mantissaBits: 3, bias: 8, specials: .finiteUnsignedZero)
        package static let decodeTable: [Float] = format.decodeTable()
    }

    /// float8e5m2: 1-5-2, bias 15, IEEE-style Inf and NaN, max 57344.
    package enum Float8E5M2: Float8Codec {
        package static let format = MinifloatFormat(exponentBits: 5, mantissaBits: 2, bias: 15, specials: .ieee)
        package static let decodeTable: [Float] = format.decodeTable()
    }

    /// float8e5m2fnuz: 1-5-2, bias 16, no infinities, no -0, NaN = 0x80, max 57344.
    package enum Float8E5M2FNUZ: Float8Codec {
        package static let format = MinifloatFormat(
            exponentBits: 5, mantissaBits: 2, bias: 16, specials: .finiteUnsignedZero)
        package static let decodeTable: [Float] = format.decodeTable()
    }
}

// MARK: - float16 and bfloat16

extension ElementCodec {
    /// IEEE 754 binary16, handled on bit patterns (no dependence on the
    /// platform's `Float16` support; identical results).
    package enum Float16Bits {
        /// The binary16 format.
        package static let format = MinifloatFormat(exponentBits: 5, mantissaBits: 10, bias: 15, specials: .ieee)

        /// The exact value of a binary16 bit pattern (NaN payloads kept).
        @inline(__always)
        package static func decode(_ bits: UInt16) -> Float {
            let sign = UInt32(bits & 0x8000) << 16
            let magnitude = UInt32(bits & 0x7FFF)
            // Normal numbers: move the fields into place and rebias (15 → 127).
            var result = (magnitude << 13) &+ (112 << 23)
            // Inf / NaN: exponent 31 must become 255.
            if magnitude >= 0x7C00 { result = result &+ (112 << 23) }
            // Zero and subnormals: mantissa × 2^-24, exact in Float.
            if magnitude < 0x0400 { result = (Float(magnitude) * 0x1p-24).bitPattern }
            return Float(bitPattern: result | sign)
        }

        /// Round-to-nearest-even binary16 bit pattern of `value`; overflow
        /// gives ±Inf, NaN stays a quiet NaN with its sign and top payload bits.
        @inline(__always)
        package static func encode(_ value: Float) -> UInt16 {
            let bits = value.bitPattern
            let sign = UInt16(truncatingIfNeeded: bits >> 16) & 0x8000
            let magnitude = bits & 0x7FFF_FFFF
            if magnitude >= 0x7F80_0000 {
                if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
                return sign | 0x7E00 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x03FF)
            }
            if magnitude >= 0x4780_0000 { return sign | 0x7C00 }  // ≥ 65536
            if magnitude >= 0x3880_0000 {
                // Normal in binary16 (≥ 2^-14): rebias, then round off 13 bits
                // (ties to even). A carry may produce the next binade or Inf.
                let rebased = magnitude &- (112 << 23)
                let rounded = rebased &+ 0x0FFF &+ ((rebased >> 13) & 1)
                return sign | UInt16(truncatingIfNeeded: rounded >> 13)
            }
            // Subnormal or zero: adding 0.5 (whose ulp is 2^-24, the binary16
            // subnormal quantum) makes the FPU round to the quantum grid.
            let shifted = Float(bitPattern: magnitude) + 0.5
            return sign | UInt16(truncatingIfNeeded: shifted.bitPattern &- 0x3F00_0000)
        }

        /// Round-to-nearest-even binary16 bit pattern of `value` (a single
        /// rounding; converting through `Float` first could round twice).
        package static func encode(_ value: Double) -> UInt16 {
            UInt16(truncatingIfNeeded: format.encode(value, saturate: false))
        }
    }

    /// bfloat16: the top half of a binary32.
    package enum BFloat16 {
        /// The bfloat16 format.
        package static let format = MinifloatFormat(exponentBits: 8, mantissaBits: 7, bias: 127, specials: .ieee)

        /// The exact value of a bfloat16 bit pattern.
        @inline(__always)
        package static func decode(_ bits: UInt16) -> Float {
            Float(bitPattern: UInt32(bits) << 16)
        }

        /// Round-to-nearest-even bfloat16 of `value`; overflow gives ±Inf;
        /// NaN stays a quiet NaN with its sign and top payload bits.
        @inline(__always)
        package static func encode(_ value: Float) -> UInt16 {
            let bits = value.bitPattern
            if bits & 0x7FFF_FFFF > 0x7F80_0000 {
                return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            }
            // Cannot overflow UInt32: the largest finite input is 0xFF7FFFFF.
            let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
            return UInt16(truncatingIfNeeded: rounded >> 16)
        }

        /// Round-to-nearest-even bfloat16 of `value`, rounding once.
        package static func encode(_ value: Double) -> UInt16 {
            if value.isNaN { return encode(Float(value)) }
            return UInt16(truncatingIfNeeded: format.encode(value, saturate: false))
        }
    }
}

// MARK: - float4e2m1 and float8e8m0

extension ElementCodec {
    /// float4e2m1: 1-2-1, bias 1, values ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}, no
    /// Inf or NaN. Codes are nibbles (0...15).
    package enum Float4E2M1 {
        /// The float4e2m1 format.
        package static let format = MinifloatFormat(exponentBits: 2, mantissaBits: 1, bias: 1, specials: .none)
        /// All 16 codes decoded.
        package static let decodeTable: [Float] = format.decodeTable()

        /// The value of the low nibble of `code`.
        @inline(__always)
        package static func decode(_ code: UInt8) -> Float {
            decodeTable.withUnsafeBufferPointer { $0[Int(code & 0x0F)] }
        }

        /// The nibble for `value`: round-to-nearest-even, always saturating
        /// (|x| > 6 and ±Inf give ±6), as the ONNX float4 specification says.
        ///
        /// NaN: the specification's table says NaN → 6, but ONNX's reference
        /// `Cast` (ml_dtypes) and the conformance data (`test_cast_FLOAT_to_FLOAT4E2M1`)
        /// turn +NaN into -0 (0x8) and -NaN into +0 (0x0). We follow the
        /// reference so that conformance tests pass.
        package static func encode(_ value: Double) -> UInt8 {
            if value.isNaN { return value.sign == .minus ? 0x0 : 0x8 }
            return UInt8(truncatingIfNeeded: format.encode(value, saturate: true))
        }

        /// The nibble for `value`; see the `Double` overload.
        package static func encode(_ value: Float) -> UInt8 { encode(Double(value)) }
    }

    /// float8e8m0 (OCP MX scale): an unsigned power of two 2^(code − 127);
    /// 0xFF is NaN; no zero, no sign, no Inf.
    public enum Float8E8M0 {
        /// The `round_mode` attribute of `Cast` (opset 24+).
        public enum Rounding: String, Sendable, CaseIterable {
            /// Round away from zero to the next power of two (the default).
            case up
            /// Round toward zero to the previous power of two.
            case down
            /// Round to the nearer power of two on a linear scale (threshold
            /// 1.5 · 2^e), ties up.
            case nearest
        }

        /// 2^(code − 127); NaN for 0xFF. Code 0 is 2^-127, a `Float` subnormal.
        @inline(__always)
        package static func decode(_ code: UInt8) -> Float {
            decodeTable.withUnsafeBufferPointer { $0[Int(code)] }
        }

        /// All 256 codes decoded.
        package static let decodeTable: [Float] = (0..<256).map { code in
            code == 0xFF ? Float.nan : Float(sign: .plus, exponent: code - 127, significand: 1)
        }

        /// Encodes `value` as `Cast(to: FLOAT8E8M0, saturate:, round_mode:)`.
        ///
        /// The magnitude is used (the specification leaves negative inputs
        /// unspecified; the reference ignores the sign bit too). NaN → 0xFF.
        /// The magnitude is rounded to a power of two 2^e with an unbounded
        /// exponent; if e > 127 the result is 2^127 (0xFE) when saturating,
        /// else NaN; if e < -127 — which includes zero — it is 2^-127 (0x00)
        /// when saturating, else NaN. ±Inf → 0xFE when saturating, else NaN.
        ///
        /// This matches the specification's table and, for every normal
        /// `Float` input, ONNX's reference `to_float8e8m0`. The reference
        /// differs for ±Inf (it always gives NaN, contradicting the table),
        /// for zero without saturation (it gives 0x00; the table says NaN) and
        /// for `Float` subnormals (it rounds them as if their exponent were
        /// -127 regardless of magnitude).
        package static func encode(_ value: Double, saturate: Bool = true, rounding: Rounding = .up) -> UInt8 {
            if value.isNaN { return 0xFF }
            let magnitude = value.magnitude
            if magnitude.isInfinite { return saturate ? 0xFE : 0xFF }
            if magnitude == 0 { return saturate ? 0x00 : 0xFF }
            let floorExponent = Int(magnitude.exponent)
            let exponent: Int
            switch rounding {
            case .down:
                exponent = floorExponent
            case .up:
                exponent = magnitude.significand == 1 ? floorExponent : floorExponent + 1
            case .nearest:
                exponent = magnitude.significand >= 1.5 ? floorExponent + 1 : floorExponent
            }
            if exponent > 127 { return saturate ? 0xFE : 0xFF }
            if exponent < -127 { return saturate ? 0x00 : 0xFF }
            return UInt8(exponent + 127)
        }

        /// Encodes `value`; see the `Double` overload.
        package static func encode(_ value: Float, saturate: Bool = true, rounding: Rounding = .up) -> UInt8 {
            encode(Double(value), saturate: saturate, rounding: rounding)
        }
    }
}
