// Widening views of any numeric tensor as Float / Double / Int64. Encoding is
// in Tensor+Encoding.swift; the scalar rules in ElementCodec+Floats.swift and
// ElementCodec+Integers.swift.

extension Tensor {
    /// The elements as `Float`, in row-major order.
    ///
    /// Floating-point kinds convert exactly (double rounds to nearest even;
    /// out-of-range doubles become ±Inf); integers round to nearest even;
    /// bool gives 0 or 1; sub-byte kinds are unpacked (int4 / int2
    /// sign-extended). Throws `wrongElementType` for string and complex
    /// tensors (use ``complexComponents()`` for the latter).
    public func floatValues() throws -> [Float] { try decodedValues(as: Float.self) }

    /// The elements as `Double`, in row-major order. Exact for every element
    /// type except int64 / uint64 magnitudes above 2^53, which round to
    /// nearest even. Throws `wrongElementType` for string and complex tensors.
    public func doubleValues() throws -> [Double] { try decodedValues(as: Double.self) }

    /// The elements as `Int64`, in row-major order.
    ///
    /// Floating-point kinds truncate toward zero, saturating at Int64's
    /// bounds (±Inf too); NaN gives 0. uint64 values above `Int64.max` come
    /// back as their two's-complement reinterpretation (the bits are kept,
    /// so a later wrap to a narrower integer type matches ONNX `Cast`).
    /// Bool gives 0 or 1. Throws `wrongElementType` for string and complex tensors.
    public func int64Values() throws -> [Int64] { try decodedValues(as: Int64.self) }

    /// The components of a complex64 / complex128 tensor as interleaved
    /// `[re0, im0, re1, im1, ...]`. Throws `wrongElementType` for other types.
    public func complexComponents() throws -> [Double] {
        guard elementType == .complex64 || elementType == .complex128 else {
            throw OnyxError.wrongElementType("tensor holds \(elementType), not a complex type")
        }
        return try withElementBytes { bytes, count in
            if elementType == .complex64 {
                return Tensor.mapElements(bytes, count: 2 * count, UInt32.self) { Double(Float(bitPattern: $0)) }
            }
            return Tensor.mapElements(bytes, count: 2 * count, UInt64.self) { Double(bitPattern: $0) }
        }
    }
}

// MARK: - Decoding

/// A type the widening views produce.
protocol ElementDecodingTarget {
    static func codecConverted(_ value: Float) -> Self
    static func codecConverted(_ value: Double) -> Self
    static func codecConverted(_ value: Int64) -> Self
    static func codecConverted(_ value: UInt64) -> Self
}

extension Float: ElementDecodingTarget {
    @inline(__always) static func codecConverted(_ value: Float) -> Float { value }
    @inline(__always) static func codecConverted(_ value: Double) -> Float { Float(value) }
    @inline(__always) static func codecConverted(_ value: Int64) -> Float { Float(value) }
    @inline(__always) static func codecConverted(_ value: UInt64) -> Float { Float(value) }
}

extension Double: ElementDecodingTarget {
    @inline(__always) static func codecConverted(_ value: Float) -> Double { Double(value) }
    @inline(__always) static func codecConverted(_ value: Double) -> Double { value }
    @inline(__always) static func codecConverted(_ value: Int64) -> Double { Double(value) }
    @inline(__always) static func codecConverted(_ value: UInt64) -> Double { Double(value) }
}

extension Int64: ElementDecodingTarget {
    @inline(__always) static func codecConverted(_ value: Float) -> Int64 {
        ElementCodec.IntegerConversion.saturatingInt64(value)
    }
    @inline(__always) static func codecConverted(_ value: Double) -> Int64 {
        ElementCodec.IntegerConversion.saturatingInt64(value)
    }
    @inline(__always) static func codecConverted(_ value: Int64) -> Int64 { value }
    @inline(__always) static func codecConverted(_ value: UInt64) -> Int64 { Int64(bitPattern: value) }
}

extension Tensor {
    /// Calls `body` with the element bytes and the element count, after
    /// checking the storage really holds that many elements.
    private func withElementBytes<R>(_ body: (UnsafeRawBufferPointer, Int) throws -> R) throws -> R {
        guard case .bytes(let buffer) = storage else {
            throw OnyxError.wrongElementType("tensor holds \(elementType), which has no numeric values")
        }
        let count = try Tensor.checkedCount(shape)
        return try withExtendedLifetime(buffer) {
            let bytes = buffer.bytes
            guard let needed = elementType.byteCount(forElements: count), bytes.count >= needed else {
                throw OnyxError.invalidModel("\(self) has \(bytes.count) bytes of storage, too few for its shape")
            }
            return try body(bytes, count)
        }
    }

    private func decodedValues<T: ElementDecodingTarget>(as: T.Type) throws -> [T] {
        let type = elementType
        return try withElementBytes { bytes, count in
            switch type {
            case .float:
                return Tensor.mapElements(bytes, count: count, UInt32.self) { T.codecConverted(Float(bitPattern: $0)) }
            case .double:
                return Tensor.mapElements(bytes, count: count, UInt64.self) { T.codecConverted(Double(bitPattern: $0)) }
            case .float16:
                return Tensor.mapElements(bytes, count: count, UInt16.self) {
                    T.codecConverted(ElementCodec.Float16Bits.decode($0))
                }
            case .bfloat16:
                return Tensor.mapElements(bytes, count: count, UInt16.self) {
                    T.codecConverted(ElementCodec.BFloat16.decode($0))
                }
            case .float8e4m3fn:
                return Tensor.lookUp(bytes, count: count, ElementCodec.Float8E4M3FN.decodeTable, T.self)
            case .float8e4m3fnuz:
                return Tensor.lookUp(bytes, count: count, ElementCodec.Float8E4M3FNUZ.decodeTable, T.self)
            case .float8e5m2:
                return Tensor.lookUp(bytes, count: count, ElementCodec.Float8E5M2.decodeTable, T.self)
            case .float8e5m2fnuz:
                return Tensor.lookUp(bytes, count: count, ElementCodec.Float8E5M2FNUZ.decodeTable, T.self)
            case .float8e8m0:
                return Tensor.lookUp(bytes, count: count, ElementCodec.Float8E8M0.decodeTable, T.self)
            case .float4e2m1:
                return ElementCodec.Float4E2M1.decodeTable.withUnsafeBufferPointer { table in
                    Tensor.mapFields(bytes, count: count, bitWidth: 4) { T.codecConverted(table[Int($0)]) }
                }
            case .bool:
                return Tensor.mapElements(bytes, count: count, UInt8.self) { T.codecConverted(Int64($0 != 0 ? 1 : 0)) }
            case .uint8:
                return Tensor.mapElements(bytes, count: count, UInt8.self) { T.codecConverted(Int64($0)) }
            case .int8:
                return Tensor.mapElements(bytes, count: count, UInt8.self) { T.codecConverted(Int64(Int8(bitPattern: $0))) }
            case .uint16:
                return Tensor.mapElements(bytes, count: count, UInt16.self) { T.codecConverted(Int64($0)) }
            case .int16:
                return Tensor.mapElements(bytes, count: count, UInt16.self) {
                    T.codecConverted(Int64(Int16(bitPattern: $0)))
                }
            case .uint32:
                return Tensor.mapElements(bytes, count: count, UInt32.self) { T.codecConverted(Int64($0)) }
            case .int32:
                return Tensor.mapElements(bytes, count: count, UInt32.self) {
                    T.codecConverted(Int64(Int32(bitPattern: $0)))
                }
            case .uint64:
                return Tensor.mapElements(bytes, count: count, UInt64.self) { T.codecConverted($0) }
            case .int64:
                return Tensor.mapElements(bytes, count: count, UInt64.self) { T.codecConverted(Int64(bitPattern: $0)) }
            case .uint4:
                return Tensor.mapFields(bytes, count: count, bitWidth: 4) { T.codecConverted(Int64($0)) }
            case .int4:
                return Tensor.mapFields(bytes, count: count, bitWidth: 4) {
                    T.codecConverted(Int64(ElementCodec.SubByte.signExtend($0, bitWidth: 4)))
                }
            case .uint2:
                return Tensor.mapFields(bytes, count: count, bitWidth: 2) { T.codecConverted(Int64($0)) }
            case .int2:
                return Tensor.mapFields(bytes, count: count, bitWidth: 2) {
                    T.codecConverted(Int64(ElementCodec.SubByte.signExtend($0, bitWidth: 2)))
                }
            case .complex64, .complex128:
                throw OnyxError.wrongElementType(
                    "\(type) tensor has no real-valued view; use complexComponents()")
            case .string:
                throw OnyxError.wrongElementType("string tensor has no numeric values")
            }
        }
    }

    /// Loads `count` little-endian `Raw` values (any alignment) and maps them.
    @inline(__always)
    static func mapElements<Raw: FixedWidthInteger, R>(
        _ bytes: UnsafeRawBufferPointer, count: Int, _: Raw.Type, _ transform: (Raw) -> R
    ) -> [R] {
        // Not for 0: that initializer stores into the empty-array singleton all threads share.
        guard count > 0 else { return [] }
        return [R](unsafeUninitializedCapacity: count) { out, initialized in
            let stride = MemoryLayout<Raw>.size
            for index in 0..<count {
                let raw = bytes.loadUnaligned(fromByteOffset: index &* stride, as: Raw.self)
                out[index] = transform(Raw(littleEndian: raw))
            }
            initialized = count
        }
    }

    /// Maps `count` packed `bitWidth`-bit fields (first element in the low bits).
    @inline(__always)
    static func mapFields<R>(
        _ bytes: UnsafeRawBufferPointer, count: Int, bitWidth: Int, _ transform: (UInt8) -> R
    ) -> [R] {
        guard count > 0 else { return [] }
        return [R](unsafeUninitializedCapacity: count) { out, initialized in
            for index in 0..<count {
                out[index] = transform(ElementCodec.SubByte.field(bytes, index: index, bitWidth: bitWidth))
            }
            initialized = count
        }
    }

    /// Decodes one-byte codes through a 256-entry table.
    @inline(__always)
    static func lookUp<T: ElementDecodingTarget>(
        _ bytes: UnsafeRawBufferPointer, count: Int, _ table: [Float], _: T.Type
    ) -> [T] {
        table.withUnsafeBufferPointer { table in
            mapElements(bytes, count: count, UInt8.self) { T.codecConverted(table[Int($0)]) }
        }
    }
}
