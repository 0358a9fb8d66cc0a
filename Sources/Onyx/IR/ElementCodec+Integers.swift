// Float → integer rules and sub-byte integer packing. See ElementConversion.swift.

// MARK: - Integers

extension ElementCodec {
    /// Float → integer rules. ONNX leaves out-of-range float → integer casts
    /// undefined; these are the definitions Onyx uses.
    package enum IntegerConversion {
        /// `value` truncated toward zero, reduced modulo 2^64 and returned as
        /// its two's-complement bits; callers keep the low bits they need.
        ///
        /// This is what ONNX's reference `Cast` (numpy) produces for values
        /// within range of a 64-bit integer (e.g. -9.0 → int4 gives 7, 300.0 →
        /// int8 gives 44), and matches the fixed-point rule "discard higher
        /// bits". Truncations outside [-2^63, 2^64), NaN and ±Inf give 0.
        @inline(__always)
        package static func wrappingBits(_ value: Double) -> UInt64 {
            // Comparisons with NaN are false, so NaN (and ±Inf) end up as 0.
            // Int64(value) truncates toward zero and is in range here.
            if value >= -0x1p63 && value < 0x1p63 { return UInt64(bitPattern: Int64(value)) }
            if value >= 0x1p63 && value < 0x1p64 { return UInt64(value) }
            return 0
        }

        /// See the `Double` overload; exact for every `Float`.
        @inline(__always)
        package static func wrappingBits(_ value: Float) -> UInt64 { wrappingBits(Double(value)) }

        /// `value` truncated toward zero, clamped to Int64's range; NaN → 0.
        @inline(__always)
        package static func saturatingInt64(_ value: Double) -> Int64 {
            if value.isNaN { return 0 }
            if value >= 0x1p63 { return .max }
            if value <= -0x1p63 { return .min }
            return Int64(value)
        }

        /// See the `Double` overload.
        @inline(__always)
        package static func saturatingInt64(_ value: Float) -> Int64 {
            if value.isNaN { return 0 }
            if value >= 0x1p63 { return .max }
            if value <= -0x1p63 { return .min }
            return Int64(value)
        }

        /// The nearest `Double` to `value` when only ≤ 51 significant bits
        /// matter later: rounds to odd, so that a second round-to-nearest to a
        /// format with at most 51 significand bits gives the same result as
        /// rounding `value` directly (no double-rounding error).
        @inline(__always)
        package static func roundToOddDouble(_ value: Int64) -> Double {
            let magnitude = value.magnitude
            guard magnitude >= 1 << 53 else { return Double(value) }
            let dropped = UInt64(64 - magnitude.leadingZeroBitCount - 53)
            var kept = magnitude >> dropped
            if magnitude & ((1 << dropped) - 1) != 0 { kept |= 1 }
            let result = Double(sign: .plus, exponent: Int(dropped), significand: Double(kept))
            return value < 0 ? -result : result
        }
    }

    /// Packing of 4-bit and 2-bit elements: element `i` lives in byte
    /// `i / perByte` at bit offset `bitWidth · (i % perByte)` (first element
    /// in the low bits). Unused high bits of the last byte are zero.
    /// `bitWidth` must be 1, 2, 4 or 8, and `index` within the buffer.
    enum SubByte {
        /// The raw `bitWidth`-bit field of element `index`.
        @inline(__always)
        static func field(_ bytes: UnsafeRawBufferPointer, index: Int, bitWidth: Int) -> UInt8 {
            let perByte = 8 / bitWidth
            let byte = bytes[index / perByte]
            let shift = UInt8(bitWidth * (index % perByte))
            return (byte >> shift) & UInt8((1 << bitWidth) - 1)
        }

        /// Sign-extends a `bitWidth`-bit two's-complement field.
        @inline(__always)
        static func signExtend(_ field: UInt8, bitWidth: Int) -> Int8 {
            let shift = UInt8(8 - bitWidth)
            return Int8(bitPattern: field << shift) >> shift
        }
    }
}
