import Foundation
import XCTest

@testable import Onyx

/// Reference data from tools/gen-conversion-fixture.py (ONNX reference Cast / ml_dtypes).
private struct ConversionFixture: Decodable {
    struct Float8Kind: Decodable {
        let decode: [UInt32]
        let inputs: [UInt32]
        let saturate: [UInt8]
        let noSaturate: [UInt8]
    }
    struct Float4: Decodable {
        let decode: [UInt32]
        let inputs: [UInt32]
        let codes: [UInt8]
    }
    struct E8M0: Decodable {
        let decode: [UInt32]
        let inputs: [UInt32]
        let upSaturate: [UInt8]
        let upNoSaturate: [UInt8]
        let downSaturate: [UInt8]
        let downNoSaturate: [UInt8]
        let nearestSaturate: [UInt8]
        let nearestNoSaturate: [UInt8]
    }
    struct HalfLike: Decodable {
        let inputs: [UInt32]
        let codes: [UInt16]
    }
    struct FromDouble: Decodable {
        let inputs: [String]
        let codes: [String: [UInt16]]
    }
    struct Integers: Decodable {
        let inputs: [UInt32]
        let codes: [String: [Int64]]
    }

    let float8: [String: Float8Kind]
    let float4e2m1: Float4
    let float8e8m0: E8M0
    let float16: HalfLike
    let bfloat16: HalfLike
    let fromDouble: FromDouble
    let integers: Integers

    static func load() throws -> ConversionFixture {
        guard let url = Bundle.module.url(forResource: "Fixtures/element-conversion", withExtension: "json") else {
            throw XCTSkip("fixture Fixtures/element-conversion.json not found in the test bundle")
        }
        return try JSONDecoder().decode(ConversionFixture.self, from: Data(contentsOf: url))
    }
}

/// Keeps a raw allocation alive for a borrowed TensorBuffer.
private final class RawAllocation {
    let pointer: UnsafeMutableRawPointer
    init(byteCount: Int) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 16)
    }
    deinit { pointer.deallocate() }
}

final class ElementConversionTests: XCTestCase {
    private static var float8Kinds: [(String, ElementType, ElementCodec.MinifloatFormat, (UInt8) -> Float)] {
        [
        ("float8e4m3fn", .float8e4m3fn, ElementCodec.Float8E4M3FN.format, ElementCodec.Float8E4M3FN.decode),
        ("float8e4m3fnuz", .float8e4m3fnuz, ElementCodec.Float8E4M3FNUZ.format, ElementCodec.Float8E4M3FNUZ.decode),
        ("float8e5m2", .float8e5m2, ElementCodec.Float8E5M2.format, ElementCodec.Float8E5M2.decode),
        ("float8e5m2fnuz", .float8e5m2fnuz, ElementCodec.Float8E5M2FNUZ.format, ElementCodec.Float8E5M2FNUZ.decode),
        ]
    }

    private func tensor(_ type: ElementType, _ shape: [Int], bytes: [UInt8]) throws -> Tensor {
        try Tensor(elementType: type, shape: shape, buffer: bytes.withUnsafeBytes { TensorBuffer.copying($0) })
    }

    private func bytes(of tensor: Tensor) -> [UInt8] {
        tensor.withUnsafeBytes { Array($0) }
    }

    /// Same bits, or both NaN.
    private func assertSameFloat(
        _ actual: Float, _ expected: Float, _ message: @autoclosure () -> String, line: UInt = #line
    ) {
        if expected.isNaN {
            XCTAssertTrue(actual.isNaN, "\(message()): expected NaN, got \(actual)", line: line)
        } else {
            XCTAssertEqual(
                actual.bitPattern, expected.bitPattern, "\(message()): expected \(expected), got \(actual)",
                line: line)
        }
    }

    private func hex(_ value: UInt32) -> String { "0x" + String(value, radix: 16) }

    // MARK: float8

    func testFloat8DecodeEveryCode() throws {
        let fixture = try ConversionFixture.load()
        for (name, type, _, decode) in Self.float8Kinds {
            let kind = try XCTUnwrap(fixture.float8[name])
            XCTAssertEqual(kind.decode.count, 256)
            let decoded = try tensor(type, [256], bytes: (0...255).map { UInt8($0) }).floatValues()
            let doubles = try tensor(type, [16, 16], bytes: (0...255).map { UInt8($0) }).doubleValues()
            for code in 0..<256 {
                let expected = Float(bitPattern: kind.decode[code])
                assertSameFloat(decode(UInt8(code)), expected, "\(name) scalar decode of \(code)")
                assertSameFloat(decoded[code], expected, "\(name) tensor decode of \(code)")
                assertSameFloat(Float(doubles[code]), expected, "\(name) double decode of \(code)")
            }
        }
    }

    func testFloat8EncodeMatchesReference() throws {
        let fixture = try ConversionFixture.load()
        for (name, type, _, _) in Self.float8Kinds {
            let kind = try XCTUnwrap(fixture.float8[name])
            let inputs = kind.inputs.map { Float(bitPattern: $0) }
            for (saturate, expected) in [(true, kind.saturate), (false, kind.noSaturate)] {
                let encoded = bytes(
                    of: try Tensor.fromFloats(inputs, shape: [inputs.count], as: type, saturate: saturate))
                XCTAssertEqual(encoded.count, expected.count)
                for index in inputs.indices {
                    let scalar: UInt8
                    switch type {
                    case .float8e4m3fn: scalar = ElementCodec.Float8E4M3FN.encode(inputs[index], saturate: saturate)
                    case .float8e4m3fnuz:
                        scalar = ElementCodec.Float8E4M3FNUZ.encode(inputs[index], saturate: saturate)
                    case .float8e5m2: scalar = ElementCodec.Float8E5M2.encode(inputs[index], saturate: saturate)
                    default: scalar = ElementCodec.Float8E5M2FNUZ.encode(inputs[index], saturate: saturate)
                    }
                    let what = "\(name) saturate=\(saturate) input \(inputs[index]) (\(hex(kind.inputs[index])))"
                    XCTAssertEqual(scalar, expected[index], what)
                    XCTAssertEqual(encoded[index], expected[index], what + " (tensor)")
                }
            }
        }
    }

    func testFloat8RoundTripsEveryFiniteCode() throws {
        for (name, type, format, decode) in Self.float8Kinds {
            for code in 0..<256 where !format.isNaN(UInt32(code)) {
                let value = decode(UInt8(code))
                for saturate in [true, false] {
                    let back = bytes(of: try Tensor.fromFloats([value], shape: [], as: type, saturate: saturate))
                    // Saturation maps ±Inf (e5m2) to ±max; everything else is exact.
                    let expected = value.isInfinite && saturate
                        ? UInt8(format.maxFiniteMagnitude | (value < 0 ? format.signMask : 0)) : UInt8(code)
                    XCTAssertEqual(back, [expected], "\(name) code \(code) = \(value) saturate=\(saturate)")
                }
            }
        }
    }

    func testFloat8SpecTableSpecialValues() {
        typealias C = ElementCodec
        // saturate = true (Cast opset 24+): ±Inf → ±max for every kind.
        XCTAssertEqual(C.Float8E4M3FN.encode(Float.infinity), 0x7E)
        XCTAssertEqual(C.Float8E4M3FN.encode(-Float.infinity), 0xFE)
        XCTAssertEqual(C.Float8E4M3FNUZ.encode(Float.infinity), 0x7F)
        XCTAssertEqual(C.Float8E4M3FNUZ.encode(-Float.infinity), 0xFF)
        XCTAssertEqual(C.Float8E5M2.encode(Float.infinity), 0x7B)
        XCTAssertEqual(C.Float8E5M2FNUZ.encode(-Float.infinity), 0xFF)
        // saturate = false.
        XCTAssertEqual(C.Float8E4M3FN.encode(Float.infinity, saturate: false), 0x7F)
        XCTAssertEqual(C.Float8E4M3FN.encode(-Float.infinity, saturate: false), 0xFF)
        XCTAssertEqual(C.Float8E4M3FNUZ.encode(Float.infinity, saturate: false), 0x80)
        XCTAssertEqual(C.Float8E5M2.encode(Float.infinity, saturate: false), 0x7C)
        XCTAssertEqual(C.Float8E5M2.encode(-Float.infinity, saturate: false), 0xFC)
        XCTAssertEqual(C.Float8E5M2FNUZ.encode(-Float(1e6), saturate: false), 0x80)
        // -0 and NaN.
        XCTAssertEqual(C.Float8E4M3FN.encode(Float(-0.0)), 0x80)
        XCTAssertEqual(C.Float8E4M3FNUZ.encode(Float(-0.0)), 0x00)
        XCTAssertEqual(C.Float8E5M2FNUZ.encode(Float(-1e-30)), 0x00)
        XCTAssertTrue(C.Float8E5M2.decode(C.Float8E5M2.encode(Float.nan)).isNaN)
        XCTAssertEqual(C.Float8E4M3FNUZ.encode(-Float.nan), 0x80)
        // Ties around the maximum: 464 is halfway between 448 and (unrepresentable) 480.
        XCTAssertEqual(C.Float8E4M3FN.encode(Float(464), saturate: false), 0x7E)
        XCTAssertEqual(C.Float8E4M3FN.encode(Float(464.01), saturate: false), 0x7F)
        XCTAssertEqual(C.Float8E5M2.encode(Float(61440), saturate: false), 0x7C)
        XCTAssertEqual(C.Float8E5M2.encode(Float(61440), saturate: true), 0x7B)
    }

    // MARK: float4e2m1

    func testFloat4E2M1() throws {
        let fixture = try ConversionFixture.load().float4e2m1
        for code in 0..<16 {
            let expected = Float(bitPattern: fixture.decode[code])
            assertSameFloat(ElementCodec.Float4E2M1.decode(UInt8(code)), expected, "float4 decode \(code)")
        }
        let inputs = fixture.inputs.map { Float(bitPattern: $0) }
        for index in inputs.indices {
            XCTAssertEqual(
                ElementCodec.Float4E2M1.encode(inputs[index]), fixture.codes[index],
                "float4 encode \(inputs[index]) (\(hex(fixture.inputs[index])))")
        }
        // Packed two per byte, odd count: the tensor path must agree with the scalar path.
        let packed = bytes(of: try Tensor.fromFloats(inputs, shape: [inputs.count], as: .float4e2m1))
        XCTAssertEqual(packed.count, (inputs.count + 1) / 2)
        for index in inputs.indices {
            let nibble = index % 2 == 0 ? packed[index / 2] & 0x0F : packed[index / 2] >> 4
            XCTAssertEqual(nibble, fixture.codes[index], "packed float4 element \(index)")
        }
        if inputs.count % 2 == 1, let last = packed.last {
            XCTAssertEqual(last >> 4, 0, "padding nibble must be zero")
        }
        // The conformance example test_cast_FLOAT_to_FLOAT4E2M1.
        let example: [Float] = [0.48, 0.25, 1.05, -3.5, -8, 9, 1e6, 1e-7, .nan, .infinity, .infinity,
                                -.infinity, -4, 0.01, -0.0]
        XCTAssertEqual(
            bytes(of: try Tensor.fromFloats(example, shape: [3, 5], as: .float4e2m1)),
            [0x01, 0xE2, 0x7F, 0x07, 0x78, 0xF7, 0x0E, 0x08])
        let decoded = try tensor(.float4e2m1, [3], bytes: [0xF1, 0x07]).floatValues()
        XCTAssertEqual(decoded, [0.5, -6, 6])
    }

    // MARK: float8e8m0

    func testFloat8E8M0() throws {
        let fixture = try ConversionFixture.load().float8e8m0
        let decoded = try tensor(.float8e8m0, [256], bytes: (0...255).map { UInt8($0) }).floatValues()
        for code in 0..<256 {
            let expected = Float(bitPattern: fixture.decode[code])
            assertSameFloat(ElementCodec.Float8E8M0.decode(UInt8(code)), expected, "e8m0 decode \(code)")
            assertSameFloat(decoded[code], expected, "e8m0 tensor decode \(code)")
        }
        let inputs = fixture.inputs.map { Float(bitPattern: $0) }
        let cases: [(ElementCodec.Float8E8M0.Rounding, Bool, [UInt8])] = [
            (.up, true, fixture.upSaturate), (.up, false, fixture.upNoSaturate),
            (.down, true, fixture.downSaturate), (.down, false, fixture.downNoSaturate),
            (.nearest, true, fixture.nearestSaturate), (.nearest, false, fixture.nearestNoSaturate),
        ]
        for (rounding, saturate, expected) in cases {
            let encoded = bytes(
                of: try Tensor.fromFloats(
                    inputs, shape: [inputs.count], as: .float8e8m0, saturate: saturate, e8m0Rounding: rounding))
            for index in inputs.indices {
                let what = "e8m0 \(rounding) saturate=\(saturate) input \(inputs[index]) (\(hex(fixture.inputs[index])))"
                XCTAssertEqual(
                    ElementCodec.Float8E8M0.encode(inputs[index], saturate: saturate, rounding: rounding),
                    expected[index], what)
                XCTAssertEqual(encoded[index], expected[index], what + " (tensor)")
            }
        }
        // The conformance example test_cast_e8m0_FLOAT_to_FLOAT8E8M0 (saturate, round up).
        let example: [Float] = [0, 0.124, 0.25, 0.5, 1.1, 2, 4, 8]
        XCTAssertEqual(
            bytes(of: try Tensor.fromFloats(example, shape: [2, 4], as: .float8e8m0)),
            [0x00, 0x7C, 0x7D, 0x7E, 0x80, 0x80, 0x81, 0x82])
        XCTAssertEqual(ElementCodec.Float8E8M0.Rounding(rawValue: "nearest"), .nearest)
    }

    // MARK: float16 / bfloat16

    func testFloat16EncodeMatchesReference() throws {
        let fixture = try ConversionFixture.load().float16
        let inputs = fixture.inputs.map { Float(bitPattern: $0) }
        let encoded = try Tensor.fromFloats(inputs, shape: [inputs.count], as: .float16)
        let codes = bytes(of: encoded).withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }.map {
            UInt16(littleEndian: $0)
        }
        for index in inputs.indices {
            let what = "float16 encode \(inputs[index]) (\(hex(fixture.inputs[index])))"
            let expected = fixture.codes[index]
            let scalar = ElementCodec.Float16Bits.encode(inputs[index])
            if inputs[index].isNaN {
                XCTAssertTrue(ElementCodec.Float16Bits.decode(scalar).isNaN, what)
                XCTAssertTrue(ElementCodec.Float16Bits.decode(codes[index]).isNaN, what)
                XCTAssertEqual(scalar & 0x8000, expected & 0x8000, what + " sign")
            } else {
                XCTAssertEqual(scalar, expected, what)
                XCTAssertEqual(codes[index], expected, what + " (tensor)")
            }
        }
    }

    func testFloat16DecodeEveryCode() throws {
        var codes = [UInt8]()
        for bits in 0...0xFFFF {
            codes.append(UInt8(bits & 0xFF))
            codes.append(UInt8(bits >> 8))
        }
        let decoded = try tensor(.float16, [65536], bytes: codes).floatValues()
        for bits in 0...0xFFFF {
            let expected = Float(ElementCodec.Float16Bits.format.decode(UInt32(bits)))
            assertSameFloat(decoded[bits], expected, "float16 decode \(hex(UInt32(bits)))")
            #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
            assertSameFloat(
                decoded[bits], Float(Float16(bitPattern: UInt16(bits))), "platform float16 \(hex(UInt32(bits)))")
            #endif
            // Every non-NaN half round-trips exactly.
            if !expected.isNaN {
                XCTAssertEqual(ElementCodec.Float16Bits.encode(expected), UInt16(bits))
            }
        }
    }

    func testFloat16EncodeSweepAgainstGenericRounding() {
        // A strided sweep over all float32 bit patterns, checked against the
        // generic round-to-nearest-even encoder (and the platform's Float16).
        var bits: UInt32 = 0
        while true {
            let value = Float(bitPattern: bits)
            let fast = ElementCodec.Float16Bits.encode(value)
            if value.isNaN {
                XCTAssertTrue(ElementCodec.Float16Bits.decode(fast).isNaN)
            } else {
                let generic = UInt16(ElementCodec.Float16Bits.format.encode(Double(value), saturate: false))
                if fast != generic { XCTFail("float16 \(value) (\(hex(bits))): \(fast) vs \(generic)") }
                #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
                if fast != Float16(value).bitPattern { XCTFail("platform float16 of \(value) differs") }
                #endif
            }
            let (next, overflow) = bits.addingReportingOverflow(40_009)
            if overflow { break }
            bits = next
        }
    }

    func testBFloat16() throws {
        let fixture = try ConversionFixture.load().bfloat16
        let inputs = fixture.inputs.map { Float(bitPattern: $0) }
        let encoded = bytes(of: try Tensor.fromFloats(inputs, shape: [inputs.count], as: .bfloat16))
        for index in inputs.indices {
            let what = "bfloat16 encode \(inputs[index]) (\(hex(fixture.inputs[index])))"
            let expected = fixture.codes[index]
            let scalar = ElementCodec.BFloat16.encode(inputs[index])
            let fromTensor = UInt16(encoded[2 * index]) | UInt16(encoded[2 * index + 1]) << 8
            if inputs[index].isNaN {
                XCTAssertTrue(ElementCodec.BFloat16.decode(scalar).isNaN, what)
                XCTAssertTrue(ElementCodec.BFloat16.decode(fromTensor).isNaN, what)
                XCTAssertEqual(scalar & 0x8000, expected & 0x8000, what + " sign")
            } else {
                XCTAssertEqual(scalar, expected, what)
                XCTAssertEqual(fromTensor, expected, what + " (tensor)")
                // The generic encoder agrees.
                XCTAssertEqual(ElementCodec.BFloat16.encode(Double(inputs[index])), expected, what + " (Double)")
            }
        }
        // A signalling NaN with only low payload bits must stay NaN, not become Inf.
        XCTAssertTrue(ElementCodec.BFloat16.decode(ElementCodec.BFloat16.encode(Float(bitPattern: 0x7F80_0001))).isNaN)
        XCTAssertEqual(
            try tensor(.bfloat16, [2], bytes: [0x80, 0x3F, 0x80, 0xFF]).floatValues(), [1, -.infinity])
    }

    // MARK: Double sources

    func testEncodeFromDoubleRoundsOnce() throws {
        let fixture = try ConversionFixture.load().fromDouble
        let inputs = try fixture.inputs.map { text -> Double in
            Double(bitPattern: try XCTUnwrap(UInt64(text, radix: 16)))
        }
        func check(_ key: String, _ type: ElementType, saturate: Bool, _ scalar: (Double) -> UInt16) throws {
            let expected = try XCTUnwrap(fixture.codes[key], key)
            let tensor = try Tensor.fromDoubles(inputs, shape: [inputs.count], as: type, saturate: saturate)
            let raw = bytes(of: tensor)
            let width = type.bitWidth / 8
            for index in inputs.indices {
                let fromTensor = width == 1 ? UInt16(raw[index]) : UInt16(raw[2 * index]) | UInt16(raw[2 * index + 1]) << 8
                XCTAssertEqual(scalar(inputs[index]), expected[index], "\(key) of \(inputs[index])")
                XCTAssertEqual(fromTensor, expected[index], "\(key) of \(inputs[index]) (tensor)")
            }
        }
        try check("float16", .float16, saturate: true) { ElementCodec.Float16Bits.encode($0) }
        try check("bfloat16", .bfloat16, saturate: true) { ElementCodec.BFloat16.encode($0) }
        for saturate in [true, false] {
            let suffix = saturate ? "Saturate" : "NoSaturate"
            try check("float8e4m3fn" + suffix, .float8e4m3fn, saturate: saturate) {
                UInt16(ElementCodec.Float8E4M3FN.encode($0, saturate: saturate))
            }
            try check("float8e4m3fnuz" + suffix, .float8e4m3fnuz, saturate: saturate) {
                UInt16(ElementCodec.Float8E4M3FNUZ.encode($0, saturate: saturate))
            }
            try check("float8e5m2" + suffix, .float8e5m2, saturate: saturate) {
                UInt16(ElementCodec.Float8E5M2.encode($0, saturate: saturate))
            }
            try check("float8e5m2fnuz" + suffix, .float8e5m2fnuz, saturate: saturate) {
                UInt16(ElementCodec.Float8E5M2FNUZ.encode($0, saturate: saturate))
            }
        }
        // Double → Float for the float target rounds to nearest even and overflows to Inf.
        XCTAssertEqual(try Tensor.fromDoubles([1e300, 0.1], shape: [2], as: .float).floatValues(), [.infinity, 0.1])
    }

    // MARK: Integers

    func testFloatToIntegerMatchesReference() throws {
        let fixture = try ConversionFixture.load().integers
        let inputs = fixture.inputs.map { Float(bitPattern: $0) }
        let types: [String: ElementType] = [
            "int8": .int8, "uint8": .uint8, "int16": .int16, "uint16": .uint16, "int32": .int32,
            "uint32": .uint32, "int64": .int64, "uint64": .uint64, "int4": .int4, "uint4": .uint4,
            "int2": .int2, "uint2": .uint2,
        ]
        for (name, type) in types {
            let expected = try XCTUnwrap(fixture.codes[name], name)
            let values = try Tensor.fromFloats(inputs, shape: [inputs.count], as: type).int64Values()
            for index in inputs.indices {
                XCTAssertEqual(values[index], expected[index], "\(name) of \(inputs[index])")
            }
            // The same through Double sources.
            let viaDouble = try Tensor.fromDoubles(inputs.map(Double.init), shape: [inputs.count], as: type)
            XCTAssertEqual(try viaDouble.int64Values(), expected, name)
        }
        // The conformance examples test_cast_FLOAT_to_INT4 / UINT4 / INT2.
        let ramp = (-9...15).map(Float.init)
        let packed: [UInt8] = [0x87, 0xA9, 0xCB, 0xED, 0x0F, 0x21, 0x43, 0x65, 0x87, 0xA9, 0xCB, 0xED, 0x0F]
        XCTAssertEqual(bytes(of: try Tensor.fromFloats(ramp, shape: [5, 5], as: .int4)), packed)
        XCTAssertEqual(bytes(of: try Tensor.fromFloats(ramp, shape: [5, 5], as: .uint4)), packed)
        XCTAssertEqual(
            bytes(of: try Tensor.fromFloats((-3...3).map(Float.init), shape: [7, 1], as: .int2)), [0x39, 0x39])
    }

    func testFloatToIntegerEdgeCasesNeverTrap() throws {
        let specials: [Float] = [.nan, -.nan, .infinity, -.infinity, 1e30, -1e30, 0x1p63, -0x1p63, 0x1p64,
                                 .greatestFiniteMagnitude, -2.9, 2.9, -0.0]
        XCTAssertEqual(
            try Tensor.fromFloats(specials, shape: [specials.count], as: .int64).int64Values(),
            [0, 0, .max, .min, .max, .min, .max, .min, .max, .max, -2, 2, 0])
        XCTAssertEqual(
            try Tensor.fromFloats(specials, shape: [specials.count], as: .int32).int64Values(),
            [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -2, 2, 0])
        XCTAssertEqual(
            try Tensor.fromFloats(specials, shape: [specials.count], as: .uint64).int64Values(),
            [0, 0, 0, 0, 0, 0, Int64.min, Int64.min, 0, 0, -2, 2, 0])
        XCTAssertEqual(
            try Tensor.fromFloats(specials, shape: [specials.count], as: .bool).int64Values(),
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0])
        // int64Values of float tensors: truncation, saturation, NaN → 0.
        let floats = try Tensor(shape: [specials.count], scalars: specials)
        XCTAssertEqual(try floats.int64Values(), [0, 0, .max, .min, .max, .min, .max, .min, .max, .max, -2, 2, 0])
        let doubles = try Tensor(shape: [5], scalars: [Double.nan, 1e300, -1e300, 9.9e18, -4.5])
        XCTAssertEqual(try doubles.int64Values(), [0, .max, .min, .max, -4])
        XCTAssertEqual(ElementCodec.IntegerConversion.wrappingBits(-0x1p63), UInt64(1) << 63)
        XCTAssertEqual(ElementCodec.IntegerConversion.wrappingBits(0x1p64), 0)
        XCTAssertEqual(ElementCodec.IntegerConversion.wrappingBits(300.7), 300)
    }

    func testSubBytePackingRoundTrips() throws {
        let cases: [(ElementType, ClosedRange<Int64>)] = [
            (.int4, -8...7), (.uint4, 0...15), (.int2, -2...1), (.uint2, 0...3),
        ]
        for (type, range) in cases {
            for count in [0, 1, 2, 3, 4, 5, 6, 7, 9, 33] {
                let values = (0..<count).map { range.lowerBound + Int64($0 * 5 + 3) % Int64(range.count) }
                let encoded = try Tensor.fromInt64s(values, shape: [count], as: type)
                XCTAssertEqual(encoded.byteCount, (count * type.bitWidth + 7) / 8, "\(type) × \(count)")
                XCTAssertEqual(try encoded.int64Values(), values, "\(type) × \(count)")
                XCTAssertEqual(try encoded.floatValues(), values.map(Float.init), "\(type) × \(count)")
                XCTAssertEqual(try encoded.doubleValues(), values.map(Double.init), "\(type) × \(count)")
                let fromFloats = try Tensor.fromFloats(values.map(Float.init), shape: [count], as: type)
                XCTAssertEqual(fromFloats, encoded)
                // Unused high bits of the last byte stay zero.
                let used = count * type.bitWidth % 8
                if used != 0, let last = bytes(of: encoded).last {
                    XCTAssertEqual(last >> UInt8(used), 0, "\(type) × \(count) padding")
                }
            }
        }
        // Layout: first element in the low bits.
        XCTAssertEqual(bytes(of: try Tensor.fromInt64s([1, -2, 3], shape: [3], as: .int4)), [0xE1, 0x03])
        XCTAssertEqual(bytes(of: try Tensor.fromInt64s([1, -2, -1, 0, 1], shape: [5], as: .int2)), [0x39, 0x01])
        XCTAssertEqual(try tensor(.int4, [3], bytes: [0x8F, 0x07]).int64Values(), [-1, -8, 7])
        XCTAssertEqual(try tensor(.uint4, [3], bytes: [0x8F, 0x07]).int64Values(), [15, 8, 7])
        XCTAssertEqual(try tensor(.int2, [5], bytes: [0b1110_0100, 0b11]).int64Values(), [0, 1, -2, -1, -1])
        XCTAssertEqual(try tensor(.uint2, [5], bytes: [0b1110_0100, 0b11]).int64Values(), [0, 1, 2, 3, 3])
        // Integers wrap (Cast between fixed-point types keeps the low bits).
        XCTAssertEqual(try Tensor.fromInt64s([-9, 8, 15, 16], shape: [4], as: .int4).int64Values(), [7, -8, -1, 0])
        XCTAssertEqual(try Tensor.fromInt64s([-1, 4, 5], shape: [3], as: .uint2).int64Values(), [3, 0, 1])
    }

    func testIntegerSourcesAndOrdinaryTypes() throws {
        XCTAssertEqual(try Tensor.fromInt64s([200, -129, 255], shape: [3], as: .int8).int64Values(), [-56, 127, -1])
        XCTAssertEqual(try Tensor.fromInt64s([-1], shape: [1], as: .uint64).doubleValues(), [0x1p64])
        XCTAssertEqual(try Tensor.fromInt64s([-1], shape: [1], as: .uint64).int64Values(), [-1])
        XCTAssertEqual(try Tensor.fromInt64s([70000], shape: [1], as: .uint16).int64Values(), [70000 - 65536])
        XCTAssertEqual(try Tensor.fromInt64s([0, 7, -3], shape: [3], as: .bool).int64Values(), [0, 1, 1])
        XCTAssertEqual(
            try Tensor.fromInt64s([.max, .min], shape: [2], as: .double).doubleValues(), [0x1p63, -0x1p63])
        // Large integers round once, directly (2^60 + 2^52 + 1 is just above a bfloat16 tie).
        let justAboveTie: Int64 = (1 << 60) + (1 << 52) + 1
        XCTAssertEqual(bytes(of: try Tensor.fromInt64s([justAboveTie], shape: [], as: .bfloat16)), [0x81, 0x5D])
        XCTAssertEqual(bytes(of: try Tensor.fromInt64s([(1 << 60) + 1], shape: [], as: .float8e8m0)), [188])
        XCTAssertEqual(bytes(of: try Tensor.fromInt64s([1000], shape: [], as: .float8e4m3fn)), [0x7E])
        XCTAssertEqual(
            bytes(of: try Tensor.fromInt64s([1000], shape: [], as: .float8e4m3fn, saturate: false)), [0x7F])
        XCTAssertEqual(try Tensor.fromInt64s([65519, 65520], shape: [2], as: .float16).floatValues(), [65504, .infinity])

        // Widening views of the ordinary types.
        XCTAssertEqual(try Tensor(shape: [3], scalars: [Int8(-128), 0, 127]).floatValues(), [-128, 0, 127])
        XCTAssertEqual(try Tensor(shape: [2], scalars: [UInt8(255), 1]).int64Values(), [255, 1])
        XCTAssertEqual(try Tensor(shape: [2], scalars: [Int16.min, 5]).doubleValues(), [-32768, 5])
        XCTAssertEqual(try Tensor(shape: [1], scalars: [UInt16.max]).floatValues(), [65535])
        XCTAssertEqual(try Tensor(shape: [2], scalars: [Int32.min, Int32.max]).int64Values(), [-2147483648, 2147483647])
        XCTAssertEqual(try Tensor(shape: [1], scalars: [UInt32.max]).doubleValues(), [4294967295])
        XCTAssertEqual(try Tensor(shape: [1], scalars: [Int64.max]).floatValues(), [0x1p63])
        XCTAssertEqual(try Tensor(shape: [1], scalars: [UInt64.max]).doubleValues(), [0x1p64])
        XCTAssertEqual(try Tensor(shape: [1], scalars: [UInt64.max]).int64Values(), [-1])
        XCTAssertEqual(try Tensor(shape: [3], scalars: [true, false, true]).floatValues(), [1, 0, 1])
        XCTAssertEqual(try tensor(.bool, [2], bytes: [2, 0]).int64Values(), [1, 0])
        XCTAssertEqual(try Tensor(shape: [2], scalars: [Double(0.1), 1e300]).floatValues(), [0.1, .infinity])
        XCTAssertEqual(try Tensor(shape: [1], scalars: [Float(0.1)]).doubleValues(), [Double(Float(0.1))])
        XCTAssertEqual(try Tensor(scalar: Float(2.5)).floatValues(), [2.5])
        XCTAssertEqual(try Tensor(shape: [0, 3], scalars: [Float]()).floatValues(), [])
        XCTAssertEqual(try Tensor.fromFloats([], shape: [2, 0], as: .int4).byteCount, 0)
        XCTAssertEqual(try Tensor.fromFloats([0, -0.0, .nan, 3], shape: [4], as: .bool).int64Values(), [0, 0, 1, 1])
        // Every numeric type round-trips small integers.
        let small: [Float] = [0, 1, 2, 3]
        for type in ElementType.allCases where type != .string && type != .complex64 && type != .complex128 {
            let encoded = try Tensor.fromFloats(small, shape: [2, 2], as: type)
            XCTAssertEqual(encoded.elementType, type)
            XCTAssertEqual(encoded.shape, [2, 2])
            let expected: [Float]
            switch type {
            case .bool: expected = [0, 1, 1, 1]
            case .int2: expected = [0, 1, -2, -1]
            case .float8e8m0: expected = [0x1p-127, 1, 2, 4]
            default: expected = small
            }
            XCTAssertEqual(try encoded.floatValues(), expected, "\(type)")
        }
    }

    // MARK: Errors, complex, storage

    func testComplexStringAndShapeErrors() throws {
        let complex = try Tensor.fromFloats([1.5, -2], shape: [2], as: .complex64)
        XCTAssertEqual(complex.byteCount, 16)
        XCTAssertEqual(try complex.complexComponents(), [1.5, 0, -2, 0])
        XCTAssertThrowsError(try complex.floatValues()) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .wrongElementType)
        }
        XCTAssertThrowsError(try complex.int64Values())
        let complex128 = try Tensor.fromDoubles([0.1], shape: [1], as: .complex128)
        XCTAssertEqual(try complex128.complexComponents(), [0.1, 0])
        XCTAssertThrowsError(try complex128.doubleValues())
        XCTAssertThrowsError(try Tensor(shape: [1], scalars: [Float(1)]).complexComponents())

        let strings = try Tensor(shape: [1], strings: ["1.5"])
        XCTAssertThrowsError(try strings.floatValues()) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .wrongElementType)
        }
        XCTAssertThrowsError(try Tensor.fromFloats([1], shape: [1], as: .string)) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .wrongElementType)
        }
        XCTAssertThrowsError(try Tensor.fromFloats([1, 2], shape: [3], as: .float)) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .shapeMismatch)
        }
        XCTAssertThrowsError(try Tensor.fromInt64s([1], shape: [-1], as: .int8))
    }

    func testUnalignedBorrowedStorage() throws {
        let values: [Float] = [1.5, -2.25, 3, .infinity]
        let allocation = RawAllocation(byteCount: 1 + 4 * values.count)
        let start = allocation.pointer + 1
        values.withUnsafeBytes { source in
            if let address = source.baseAddress { start.copyMemory(from: address, byteCount: source.count) }
        }
        let buffer = TensorBuffer.borrowing(start, byteCount: 4 * values.count, owner: allocation)
        let tensor = try Tensor(elementType: .float, shape: [4], buffer: buffer)
        XCTAssertEqual(try tensor.floatValues(), values)
        XCTAssertEqual(try tensor.doubleValues(), values.map(Double.init))
        XCTAssertEqual(try tensor.int64Values(), [1, -2, 3, .max])
    }

    func testRandomBitPatternsNeverTrap() throws {
        var generator = SystemRandomNumberGenerator()
        var floats = (0..<4096).map { _ in Float(bitPattern: UInt32.random(in: .min ... .max, using: &generator)) }
        floats += [.nan, -.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                   .leastNonzeroMagnitude, -.leastNormalMagnitude, 0, -0.0, Float(bitPattern: 0x7F80_0001)]
        let doubles = (0..<4096).map { _ in Double(bitPattern: UInt64.random(in: .min ... .max, using: &generator)) }
            + [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude, -0x1p64, 0x1p64]
        let integers = (0..<4096).map { _ in Int64.random(in: .min ... .max, using: &generator) } + [.min, .max, 0, -1]
        for type in ElementType.allCases where type != .string {
            for saturate in [true, false] {
                for rounding in ElementCodec.Float8E8M0.Rounding.allCases {
                    let a = try Tensor.fromFloats(
                        floats, shape: [floats.count], as: type, saturate: saturate, e8m0Rounding: rounding)
                    let b = try Tensor.fromDoubles(
                        doubles, shape: [doubles.count], as: type, saturate: saturate, e8m0Rounding: rounding)
                    let c = try Tensor.fromInt64s(
                        integers, shape: [integers.count], as: type, saturate: saturate, e8m0Rounding: rounding)
                    for tensor in [a, b, c] {
                        if type == .complex64 || type == .complex128 {
                            XCTAssertEqual(try tensor.complexComponents().count, 2 * tensor.count)
                        } else {
                            XCTAssertEqual(try tensor.floatValues().count, tensor.count)
                            XCTAssertEqual(try tensor.doubleValues().count, tensor.count)
                            XCTAssertEqual(try tensor.int64Values().count, tensor.count)
                        }
                    }
                }
            }
        }
        for value in doubles {
            _ = ElementCodec.IntegerConversion.saturatingInt64(value)
            _ = ElementCodec.IntegerConversion.wrappingBits(value)
        }
    }
}
