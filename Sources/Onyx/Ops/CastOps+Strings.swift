// Cast between strings and numbers. See CastOps.swift.

/// String ↔ number conversion for Cast, as ONNX's reference (numpy
/// `astype`) does it.
///
/// Numbers to strings: integers in decimal, bool as `True` / `False`,
/// floating-point values as numpy's `str`: the shortest digits that
/// round-trip in the source type, positional (`0.001`, `100.0`) when
/// 1e-4 ≤ |x| < cutoff (float16: 1e3, float: 1e6, double: 1e16) or x is 0,
/// otherwise scientific with a signed two-digit exponent (`1e-05`,
/// `1.2345679e+08`); `nan`, `inf`, `-inf`. Kinds numpy cannot format
/// (bfloat16, float8, float4) are formatted like Python formats their
/// exact value as a float (shortest double digits, cutoff 1e16).
///
/// Strings to numbers: surrounding whitespace is ignored; decimal and
/// scientific notation; `inf`, `+inf`, `-inf`, `infinity` and `nan` in any
/// case. Integer targets take integer literals exactly (wrapping to the
/// target width); other numbers are truncated toward zero as a float cast
/// would. Bool targets accept `true` / `false` (any case) or a number
/// (non-zero is true). Anything else is an error, never a silent zero.
enum CastStrings {
    static func format(_ tensor: Tensor) throws -> Tensor {
        let type = tensor.elementType
        var strings: [String]
        switch type {
        case .bool:
            strings = try tensor.scalars(as: Bool.self).map { $0 ? "True" : "False" }
        case .uint64:
            strings = try tensor.scalars(as: UInt64.self).map { String($0) }
        case .float:
            strings = try tensor.scalars(as: Float.self).map {
                numpyString($0.description, magnitude: Double($0.magnitude), cutoff: 1e6)
            }
        case .double:
            strings = try tensor.scalars(as: Double.self).map {
                numpyString($0.description, magnitude: $0.magnitude, cutoff: 1e16)
            }
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        case .float16:
            strings = try tensor.scalars(as: Float16.self).map {
                numpyString(shortestFloat16($0), magnitude: Double($0.magnitude), cutoff: 1e3)
            }
        #endif
        default:
            if type.isInteger {
                strings = try tensor.int64Values().map { String($0) }
            } else {
                strings = try tensor.doubleValues().map {
                    numpyString($0.description, magnitude: $0.magnitude, cutoff: 1e16)
                }
            }
        }
        return try Tensor(shape: tensor.shape, strings: strings)
    }

    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
    /// The shortest round-trip digits of `value`. Swift's `description`
    /// spells float16 values from 2048 up (integers spaced more than 1
    /// apart) in full, e.g. 65504 where "6.55e4" already round-trips.
    static func shortestFloat16(_ value: Float16) -> String {
        guard value.isFinite, value.magnitude >= 2048 else { return value.description }
        let exact = Int(value.magnitude)
        var digits = 1
        var power = 10
        while power <= exact { digits += 1; power *= 10 }
        for kept in 1...digits {
            var scale = 1
            for _ in 0..<(digits - kept) { scale *= 10 }
            let (quotient, remainder) = exact.quotientAndRemainder(dividingBy: scale)
            let roundsUp = 2 * remainder > scale || (2 * remainder == scale && quotient % 2 == 1)
            let candidate = (roundsUp ? quotient + 1 : quotient) * scale
            if Float16(Float(candidate)) == value.magnitude {
                return (value < 0 ? "-" : "") + String(candidate) + ".0"
            }
        }
        return value.description
    }
    #endif

    /// Re-spells Swift's shortest round-trip `description` of a float in
    /// numpy's style (see the type's documentation).
    static func numpyString(_ description: String, magnitude: Double, cutoff: Double) -> String {
        if magnitude.isNaN { return "nan" }
        var text = Substring(description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        let sign = negative ? "-" : ""
        if magnitude.isInfinite { return sign + "inf" }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let integral = parts.first ?? ""
        var digits = Array(integral.utf8) + Array((parts.count > 1 ? parts[1] : "").utf8)
        var point = integral.count + exponent
        while digits.first == UInt8(ascii: "0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        guard !digits.isEmpty else { return sign + "0.0" }
        let zero = UInt8(ascii: "0")
        if magnitude >= 1e-4 && magnitude < cutoff {
            var out: [UInt8]
            if point <= 0 {
                out = Array("0.".utf8) + Array(repeating: zero, count: -point) + digits
            } else if point >= digits.count {
                out = digits + Array(repeating: zero, count: point - digits.count) + Array(".0".utf8)
            } else {
                out = Array(digits[..<point]) + [UInt8(ascii: ".")] + Array(digits[point...])
            }
            return sign + String(decoding: out, as: UTF8.self)
        }
        let scientific = point - 1
        var mantissa = [digits[0]]
        if digits.count > 1 { mantissa += [UInt8(ascii: ".")] + Array(digits[1...]) }
        let magnitudeDigits = String(abs(scientific))
        let paddedExponent = magnitudeDigits.count < 2 ? "0" + magnitudeDigits : magnitudeDigits
        return sign + String(decoding: mantissa, as: UTF8.self) + (scientific < 0 ? "e-" : "e+") + paddedExponent
    }

    static func parse(_ tensor: Tensor, as target: ElementType, options: CastOps.Options) throws -> Tensor {
        let strings = try tensor.strings()
        let (shape, saturate, rounding) = (tensor.shape, options.saturate, options.rounding)
        if target.isFloatingPoint {
            return try Tensor.fromDoubles(
                try strings.map(parseDouble), shape: shape, as: target, saturate: saturate, e8m0Rounding: rounding)
        }
        if target == .bool {
            let flags = try strings.map { text -> Int64 in
                switch trimmed(text).lowercased() {
                case "true": return 1
                case "false": return 0
                default: return try parseDouble(text) != 0 ? 1 : 0
                }
            }
            return try Tensor.fromInt64s(flags, shape: shape, as: .bool)
        }
        guard target.isInteger else { throw OnyxError.wrongElementType("Cast from string to \(target) is not supported") }
        let integers = try strings.map { text -> Int64 in
            let cleaned = trimmed(text)
            if let value = Int64(cleaned) { return value }
            if let value = UInt64(cleaned) { return Int64(bitPattern: value) }
            let value = try parseDouble(text)
            if target == .int64 { return ElementCodec.IntegerConversion.saturatingInt64(value) }
            return Int64(bitPattern: ElementCodec.IntegerConversion.wrappingBits(value))
        }
        return try Tensor.fromInt64s(integers, shape: shape, as: target)
    }

    private static func trimmed(_ text: String) -> Substring {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return text[first...last]
    }

    /// A decimal or scientific number, or inf / infinity / nan in any case with an optional sign.
    static func parseDouble(_ text: String) throws -> Double {
        let cleaned = trimmed(text)
        let lowered = cleaned.lowercased()
        var body = Substring(lowered)
        if body.hasPrefix("+") || body.hasPrefix("-") { body = body.dropFirst() }
        switch body {
        case "inf", "infinity": return lowered.hasPrefix("-") ? -.infinity : .infinity
        case "nan": return lowered.hasPrefix("-") ? -.nan : .nan
        default: break
        }
        let allowed = Set("0123456789.e+-".utf8)
        guard !body.isEmpty, body.utf8.allSatisfy(allowed.contains), let value = Double(lowered) else {
            throw OnyxError.invalidModel("cannot cast the string \"\(text)\" to a number")
        }
        return value
    }
}
