// Encoding Float / Double / Int64 values into tensors of any numeric element
// type. The scalar rules are in ElementCodec+Floats.swift and
// ElementCodec+Integers.swift.

extension Tensor {
    /// A tensor of `type` holding `values` (row-major, `values.count` must
    /// equal the element count of `shape`).
    ///
    /// - float / double / float16 / bfloat16: round to nearest even,
    ///   overflow to ±Inf, NaN stays NaN.
    /// - float8e4m3fn, float8e4m3fnuz, float8e5m2, float8e5m2fnuz: as ONNX
    ///   `Cast` with the `saturate` attribute (see `ElementCodec.Float8Codec.encode`).
    /// - float8e8m0: as `Cast` with `saturate` and `round_mode` = `e8m0Rounding`.
    /// - float4e2m1: round to nearest even, always saturating to ±6.
    /// - Integer types except int64 (including the packed 4- and 2-bit ones):
    ///   truncate toward zero, then keep the low bits (wrap), as ONNX's
    ///   reference does; NaN, ±Inf and values beyond [-2^63, 2^64) give 0.
    /// - int64: truncate toward zero, saturating; NaN gives 0.
    /// - bool: 0 and -0 give false, everything else (NaN too) true.
    /// - complex64 / complex128: the value as the real part, imaginary 0.
    ///
    /// `saturate` and `e8m0Rounding` only affect the 8-bit float kinds.
    /// Throws `shapeMismatch` on a count mismatch and `wrongElementType` for string.
    public static func fromFloats(
        _ values: [Float], shape: [Int], as type: ElementType, saturate: Bool = true,
        e8m0Rounding: ElementCodec.Float8E8M0.Rounding = .up
    ) throws -> Tensor {
        try encoded(values, shape: shape, as: type, saturate: saturate, rounding: e8m0Rounding)
    }

    /// A tensor of `type` holding `values`, with the same rules as
    /// ``fromFloats(_:shape:as:saturate:e8m0Rounding:)``, rounding directly
    /// from `Double` (never twice through `Float`).
    public static func fromDoubles(
        _ values: [Double], shape: [Int], as type: ElementType, saturate: Bool = true,
        e8m0Rounding: ElementCodec.Float8E8M0.Rounding = .up
    ) throws -> Tensor {
        try encoded(values, shape: shape, as: type, saturate: saturate, rounding: e8m0Rounding)
    }

    /// A tensor of `type` holding the integers `values`.
    ///
    /// Integer and bool targets follow ONNX `Cast` from a fixed-point type:
    /// integers keep their low bits (two's complement wrap, e.g. 200 → int8
    /// gives -56; int64 → uint64 reinterprets), bool is `value != 0`.
    /// Floating-point targets round to nearest even from the exact integer
    /// (a single rounding), then follow the float rules of
    /// ``fromFloats(_:shape:as:saturate:e8m0Rounding:)``.
    public static func fromInt64s(
        _ values: [Int64], shape: [Int], as type: ElementType, saturate: Bool = true,
        e8m0Rounding: ElementCodec.Float8E8M0.Rounding = .up
    ) throws -> Tensor {
        try encoded(values, shape: shape, as: type, saturate: saturate, rounding: e8m0Rounding)
    }
}

/// A type the encoders accept.
protocol ElementEncodingSource {
    var codecFloat: Float { get }
    var codecDouble: Double { get }
    /// The value as a `Double` that rounds correctly once more to any format
    /// of at most 24 significand bits.
    var codecMinifloatSource: Double { get }
    var codecFloat16Bits: UInt16 { get }
    var codecBFloat16Bits: UInt16 { get }
    var codecWrappedBits: UInt64 { get }
    var codecInt64: Int64 { get }
    var codecIsNonZero: Bool { get }
}

extension Float: ElementEncodingSource {
    @inline(__always) var codecFloat: Float { self }
    @inline(__always) var codecDouble: Double { Double(self) }
    @inline(__always) var codecMinifloatSource: Double { Double(self) }
    @inline(__always) var codecFloat16Bits: UInt16 { ElementCodec.Float16Bits.encode(self) }
    @inline(__always) var codecBFloat16Bits: UInt16 { ElementCodec.BFloat16.encode(self) }
    @inline(__always) var codecWrappedBits: UInt64 { ElementCodec.IntegerConversion.wrappingBits(self) }
    @inline(__always) var codecInt64: Int64 { ElementCodec.IntegerConversion.saturatingInt64(self) }
    @inline(__always) var codecIsNonZero: Bool { self != 0 }
}

extension Double: ElementEncodingSource {
    @inline(__always) var codecFloat: Float { Float(self) }
    @inline(__always) var codecDouble: Double { self }
    @inline(__always) var codecMinifloatSource: Double { self }
    @inline(__always) var codecFloat16Bits: UInt16 { ElementCodec.Float16Bits.encode(self) }
    @inline(__always) var codecBFloat16Bits: UInt16 { ElementCodec.BFloat16.encode(self) }
    @inline(__always) var codecWrappedBits: UInt64 { ElementCodec.IntegerConversion.wrappingBits(self) }
    @inline(__always) var codecInt64: Int64 { ElementCodec.IntegerConversion.saturatingInt64(self) }
    @inline(__always) var codecIsNonZero: Bool { self != 0 }
}

extension Int64: ElementEncodingSource {
    @inline(__always) var codecFloat: Float { Float(self) }
    @inline(__always) var codecDouble: Double { Double(self) }
    @inline(__always) var codecMinifloatSource: Double { ElementCodec.IntegerConversion.roundToOddDouble(self) }
    @inline(__always) var codecFloat16Bits: UInt16 { ElementCodec.Float16Bits.encode(codecMinifloatSource) }
    @inline(__always) var codecBFloat16Bits: UInt16 { ElementCodec.BFloat16.encode(codecMinifloatSource) }
    @inline(__always) var codecWrappedBits: UInt64 { UInt64(bitPattern: self) }
    @inline(__always) var codecInt64: Int64 { self }
    @inline(__always) var codecIsNonZero: Bool { self != 0 }
}

extension Tensor {
    private static func encoded<S: ElementEncodingSource>(
        _ values: [S], shape: [Int], as type: ElementType, saturate: Bool,
        rounding: ElementCodec.Float8E8M0.Rounding
    ) throws -> Tensor {
        let count = try checkedCount(shape)
        guard values.count == count else {
            throw OnyxError.shapeMismatch("shape \(shape) needs \(count) elements, got \(values.count)")
        }
        guard type != .string, let byteCount = type.byteCount(forElements: count) else {
            throw OnyxError.wrongElementType("cannot encode numbers as \(type)")
        }
        let buffer = TensorBuffer.zeroed(byteCount: byteCount)
        if let base = buffer.baseAddress {
            values.withUnsafeBufferPointer { source in
                encode(source, into: base, as: type, saturate: saturate, rounding: rounding)
            }
        }
        return try Tensor(elementType: type, shape: shape, buffer: buffer)
    }

    /// Writes `source` encoded as `type` into zeroed storage at `base`.
    private static func encode<S: ElementEncodingSource>(
        _ source: UnsafeBufferPointer<S>, into base: UnsafeMutableRawPointer, as type: ElementType,
        saturate: Bool, rounding: ElementCodec.Float8E8M0.Rounding
    ) {
        typealias Codec = ElementCodec
        switch type {
        case .float: store(source, base, UInt32.self) { $0.codecFloat.bitPattern }
        case .double: store(source, base, UInt64.self) { $0.codecDouble.bitPattern }
        case .float16: store(source, base, UInt16.self) { $0.codecFloat16Bits }
        case .bfloat16: store(source, base, UInt16.self) { $0.codecBFloat16Bits }
        case .float8e4m3fn: storeFloat8(source, base, Codec.Float8E4M3FN.format, saturate: saturate)
        case .float8e4m3fnuz: storeFloat8(source, base, Codec.Float8E4M3FNUZ.format, saturate: saturate)
        case .float8e5m2: storeFloat8(source, base, Codec.Float8E5M2.format, saturate: saturate)
        case .float8e5m2fnuz: storeFloat8(source, base, Codec.Float8E5M2FNUZ.format, saturate: saturate)
        case .float8e8m0:
            store(source, base, UInt8.self) {
                Codec.Float8E8M0.encode($0.codecMinifloatSource, saturate: saturate, rounding: rounding)
            }
        case .float4e2m1:
            pack(source, base, bitWidth: 4) { Codec.Float4E2M1.encode($0.codecMinifloatSource) }
        case .bool: store(source, base, UInt8.self) { $0.codecIsNonZero ? 1 : 0 }
        case .uint8, .int8:
            store(source, base, UInt8.self) { UInt8(truncatingIfNeeded: $0.codecWrappedBits) }
        case .uint16, .int16:
            store(source, base, UInt16.self) { UInt16(truncatingIfNeeded: $0.codecWrappedBits) }
        case .uint32, .int32:
            store(source, base, UInt32.self) { UInt32(truncatingIfNeeded: $0.codecWrappedBits) }
        case .uint64: store(source, base, UInt64.self) { $0.codecWrappedBits }
        case .int64: store(source, base, UInt64.self) { UInt64(bitPattern: $0.codecInt64) }
        case .uint4, .int4:
            pack(source, base, bitWidth: 4) { UInt8(truncatingIfNeeded: $0.codecWrappedBits) }
        case .uint2, .int2:
            pack(source, base, bitWidth: 2) { UInt8(truncatingIfNeeded: $0.codecWrappedBits) }
        case .complex64:
            for index in source.indices {
                let real = source[index].codecFloat.bitPattern.littleEndian
                base.storeBytes(of: real, toByteOffset: 8 &* index, as: UInt32.self)
            }
        case .complex128:
            for index in source.indices {
                let real = source[index].codecDouble.bitPattern.littleEndian
                base.storeBytes(of: real, toByteOffset: 16 &* index, as: UInt64.self)
            }
        case .string:
            break  // rejected by the caller
        }
    }

    /// Stores each element encoded in the 8-bit `format` (the same rules as
    /// `ElementCodec.Float8Codec.encode`), with the format hoisted out of the loop.
    private static func storeFloat8<S: ElementEncodingSource>(
        _ source: UnsafeBufferPointer<S>, _ base: UnsafeMutableRawPointer, _ format: ElementCodec.MinifloatFormat,
        saturate: Bool
    ) {
        store(source, base, UInt8.self) {
            UInt8(truncatingIfNeeded: format.encode($0.codecMinifloatSource, saturate: saturate))
        }
    }

    /// Stores each transformed element little-endian at consecutive slots.
    @inline(__always)
    private static func store<S, Raw: FixedWidthInteger>(
        _ source: UnsafeBufferPointer<S>, _ base: UnsafeMutableRawPointer, _: Raw.Type, _ transform: (S) -> Raw
    ) {
        let stride = MemoryLayout<Raw>.size
        for index in source.indices {
            base.storeBytes(of: transform(source[index]).littleEndian, toByteOffset: index &* stride, as: Raw.self)
        }
    }

    /// Packs the low `bitWidth` bits of each transformed element, first
    /// element in the low bits, into zeroed storage.
    @inline(__always)
    private static func pack<S>(
        _ source: UnsafeBufferPointer<S>, _ base: UnsafeMutableRawPointer, bitWidth: Int, _ transform: (S) -> UInt8
    ) {
        let perByte = 8 / bitWidth
        let mask = UInt8((1 << bitWidth) - 1)
        for index in source.indices {
            let offset = index / perByte
            let shift = UInt8(bitWidth * (index % perByte))
            let byte = base.load(fromByteOffset: offset, as: UInt8.self)
            base.storeBytes(of: byte | ((transform(source[index]) & mask) << shift), toByteOffset: offset, as: UInt8.self)
        }
    }
}
