/// Cast (target type from `to`) and CastLike (target type of the second
/// input), between every element type ONNX allows, strings included
/// (string conversions are in `CastOps+Strings.swift`).
///
/// Numeric rules come from the conversion library (`Tensor+Conversion`,
/// `Tensor+Encoding`), which implements the ONNX tables:
/// - from a floating-point kind: values are read exactly as Double and
///   rounded once to the target (nearest even; float8 kinds per `saturate`,
///   float8e8m0 per `saturate` and `round_mode`); to integers they truncate
///   toward zero and keep the low bits (int64: saturate; NaN / ±Inf: 0);
///   to bool: zero is false, anything else (NaN too) true.
/// - from an integer kind or bool: integer targets keep the low bits
///   (200 → int8 is -56), floating-point targets round once from the exact
///   value (uint64 above 2^63 included).
/// - same source and target type: the input itself, uncopied.
///
/// Opset differences: `to` is a type name string in opset 1 and a number
/// from 6; `saturate` exists from 19 (before, float8 targets did not exist;
/// it defaults to 1); `round_mode` from 24.
enum CastOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Cast", versions: [1, 6, 9, 13, 19, 21, 23, 24, 25]) { try cast($0) }
        registry.register("CastLike", versions: [15, 19, 21, 23, 24, 25]) { try castLike($0) }
    }

    /// The rounding options of one Cast / CastLike node.
    struct Options: Sendable {
        var saturate = true
        var rounding = ElementCodec.Float8E8M0.Rounding.up

        init() {}

        init(_ context: OpContext) throws {
            if context.opset >= 19 { saturate = try context.int("saturate", default: 1) != 0 }
            if context.opset >= 24 {
                let mode = try context.string("round_mode", default: "up")
                guard let parsed = ElementCodec.Float8E8M0.Rounding(rawValue: mode) else {
                    throw OnyxError.unsupportedOperator("round_mode \"\(mode)\" is not one of up, down, nearest")
                }
                rounding = parsed
            }
        }
    }

    static func cast(_ context: OpContext) throws -> any Kernel {
        let target = try targetType(context)
        let options = try Options(context)
        return ClosureKernel { inputs, _ in
            [.tensor(try convert(try inputs.tensor(0), to: target, options: options))]
        }
    }

    static func castLike(_ context: OpContext) throws -> any Kernel {
        let options = try Options(context)
        return ClosureKernel { inputs, _ in
            [.tensor(try convert(try inputs.tensor(0), to: try inputs.tensor(1).elementType, options: options))]
        }
    }

    /// The `to` attribute: a `TensorProto.DataType` number, or in opset 1 its name.
    static func targetType(_ context: OpContext) throws -> ElementType {
        switch context.attributeValue("to") {
        case .int(let code)?:
            guard let raw = Int32(exactly: code), let type = ElementType(rawValue: raw) else {
                throw OnyxError.unsupportedOperator("Cast to element type \(code) is not supported")
            }
            return type
        case .string(let bytes)?:
            let name = String(decoding: bytes, as: UTF8.self).uppercased()
            guard let type = ElementType.allCases.first(where: { $0.description.uppercased() == name }) else {
                throw OnyxError.unsupportedOperator("Cast to \"\(name)\" is not supported")
            }
            return type
        case nil:
            throw OnyxError.invalidModel("attribute \"to\" is required")
        case let other?:
            throw OnyxError.invalidModel("attribute \"to\" must be INT, got \(other.kindName)")
        }
    }

    /// `tensor` converted to `target` by the Cast rules.
    static func convert(_ tensor: Tensor, to target: ElementType, options: Options = Options()) throws -> Tensor {
        let source = tensor.elementType
        if source == target { return tensor }
        for type in [source, target] where type == .complex64 || type == .complex128 {
            throw OnyxError.wrongElementType("Cast does not convert \(type)")
        }
        if target == .string { return try CastStrings.format(tensor) }
        if source == .string { return try CastStrings.parse(tensor, as: target, options: options) }
        let count = tensor.count
        _ = try TensorAllocation.checkedBytes(target, count: count)
        _ = try TensorAllocation.checkedBytes(.double, count: count)
        let (saturate, rounding) = (options.saturate, options.rounding)
        if source.isFloatingPoint {
            return try Tensor.fromDoubles(
                try tensor.doubleValues(), shape: tensor.shape, as: target, saturate: saturate, e8m0Rounding: rounding)
        }
        if source == .uint64 && target.isFloatingPoint {
            let integers = try tensor.scalars(as: UInt64.self)
            let values = target == .double ? integers.map { Double($0) } : integers.map(roundedToOdd)
            return try Tensor.fromDoubles(values, shape: tensor.shape, as: target, saturate: saturate, e8m0Rounding: rounding)
        }
        return try Tensor.fromInt64s(
            try tensor.int64Values(), shape: tensor.shape, as: target, saturate: saturate, e8m0Rounding: rounding)
    }

    /// `value` as a Double rounded to odd, so that one more rounding to any
    /// format of at most 51 significand bits (not to Double itself) equals
    /// rounding `value` directly.
    static func roundedToOdd(_ value: UInt64) -> Double {
        guard value >= 1 << 53 else { return Double(value) }
        let dropped = UInt64(64 - value.leadingZeroBitCount - 53)
        var kept = value >> dropped
        if value & ((1 << dropped) - 1) != 0 { kept |= 1 }
        return Double(sign: .plus, exponent: Int(dropped), significand: Double(kept))
    }
}
