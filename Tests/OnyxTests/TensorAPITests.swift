import Foundation
import Onyx
import XCTest

/// The public `Tensor` surface: construction and reading for every Swift
/// scalar type, type-mismatch errors, zero-copy access and file round trips.
final class TensorAPITests: XCTestCase {
    private func assertRoundTrip<T: TensorScalar & Equatable>(
        _ values: [T], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let tensor = try Tensor(shape: [1, values.count], scalars: values)
        XCTAssertEqual(tensor.elementType, T.elementType, file: file, line: line)
        XCTAssertEqual(tensor.shape, [1, values.count], file: file, line: line)
        XCTAssertEqual(try tensor.scalars(as: T.self), values, file: file, line: line)
        let viaPointer = try tensor.withUnsafeBufferPointer(as: T.self) { Array($0) }
        XCTAssertEqual(viaPointer, values, file: file, line: line)
        for format in TensorFileFormat.allCases {
            let decoded = try Tensor(serialized: try tensor.serialized(as: format, name: "t"))
            XCTAssertEqual(decoded, tensor, "\(format)", file: file, line: line)
        }
    }

    func testEveryScalarTypeRoundTripsThroughScalarsPointersNpyAndTensorProto() throws {
        try assertRoundTrip([Float(1.5), -2, .infinity])
        try assertRoundTrip([Double(1.5), -2, 1e300])
        try assertRoundTrip([Int8.min, 0, Int8.max])
        try assertRoundTrip([Int16.min, 0, Int16.max])
        try assertRoundTrip([Int32.min, 0, Int32.max])
        try assertRoundTrip([Int64.min, 0, Int64.max])
        try assertRoundTrip([UInt8.min, 7, UInt8.max])
        try assertRoundTrip([UInt16.min, 7, UInt16.max])
        try assertRoundTrip([UInt32.min, 7, UInt32.max])
        try assertRoundTrip([UInt64.min, 7, UInt64.max])
        try assertRoundTrip([true, false, true])
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        try assertRoundTrip([Float16(0.5), -3, 65504])
        #endif
    }

    func testStringTensors() throws {
        let tensor = try Tensor(shape: [2], scalars: ["onyx", "é"])
        XCTAssertEqual(tensor.elementType, .string)
        XCTAssertEqual(try tensor.scalars(as: String.self), ["onyx", "é"])
        let decoded = try Tensor(serialized: try tensor.serialized(as: .tensorProto))
        XCTAssertEqual(decoded, tensor)
        XCTAssertThrowsError(try tensor.serialized(as: .npy)) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .wrongElementType)
        }
        XCTAssertThrowsError(try Tensor(shape: [2], scalars: [1.0]).scalars(as: String.self))
    }

    func testReadingAsTheWrongTypeThrows() throws {
        let tensor = try Tensor(shape: [2], scalars: [Float(1), 2])
        for attempt in [{ _ = try tensor.scalars(as: Double.self) }, { _ = try tensor.scalars(as: Int32.self) }] {
            XCTAssertThrowsError(try attempt()) { error in
                XCTAssertEqual((error as? OnyxError)?.kind, .wrongElementType)
            }
        }
        XCTAssertThrowsError(try Tensor(shape: [3], scalars: [Float(1), 2])) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .shapeMismatch)
        }
    }

    func testBoolBytesOtherThanZeroAndOneAreNotReadAsSwiftBool() throws {
        let raw = try Tensor(elementType: .bool, shape: [3], buffer: [UInt8(0), 1, 2].withUnsafeBytes { TensorBuffer.copying($0) })
        XCTAssertEqual(try raw.scalars(as: Bool.self), [false, true, true])
        XCTAssertThrowsError(try raw.withUnsafeBufferPointer(as: Bool.self) { _ in () })
    }

    func testWithUnsafeBufferPointerDoesNotCopy() throws {
        let tensor = try Tensor(shape: [4], scalars: [Float](repeating: 3, count: 4))
        let first = try tensor.withUnsafeBufferPointer(as: Float.self) { $0.baseAddress }
        let second = try tensor.withUnsafeBufferPointer(as: Float.self) { $0.baseAddress }
        XCTAssertNotNil(first)
        XCTAssertEqual(first, second)
        XCTAssertEqual(UnsafeRawPointer(first), tensor.withUnsafeBytes { $0.baseAddress })
    }

    func testFilesChooseTheFormatByExtension() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("onyx-tensor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tensor = try Tensor(shape: [2, 2, 1], scalars: [Int64(1), 2, 3, 4])
        let npy = directory.appendingPathComponent("t.npy")
        let pb = directory.appendingPathComponent("t.pb")
        try tensor.write(to: npy)
        try tensor.write(to: pb, name: "x")
        XCTAssertEqual(try Data(contentsOf: npy).prefix(6), Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]))
        // The npy header is padded so the payload starts on a 64-byte boundary.
        XCTAssertEqual((try Data(contentsOf: npy).count - 32) % 64, 0)
        XCTAssertEqual(try Tensor(contentsOf: npy), tensor)
        XCTAssertEqual(try Tensor(contentsOf: pb), tensor)
        let scalar = Tensor(scalar: Float(2))
        try scalar.write(to: npy)
        XCTAssertEqual(try Tensor(contentsOf: npy), scalar)
    }
}

/// `OnyxError` kinds as a caller matches them.
final class OnyxErrorMatchingTests: XCTestCase {
    func testCallersSwitchOnKindsAndErrorsNameTheValue() throws {
        let graph = Graph(
            nodes: [Node(name: "neg", opType: "Neg", inputs: ["x"], outputs: ["y"])],
            inputs: [ValueInfo(name: "x", type: .tensor(elementType: .float, shape: [.known(2)]))],
            outputs: [ValueInfo(name: "y", type: nil)])
        let session = try Session(model: Model(opsetImports: [OpsetImport(domain: "", version: 17)], graph: graph))
        var caught: [OnyxError.Kind] = []
        let feeds: [[String: Tensor]] = [
            [:], ["x": try Tensor(shape: [2], scalars: [1.0, 2.0])], ["x": try Tensor(shape: [3], scalars: [Float(1), 2, 3])],
            ["x": try Tensor(shape: [2], scalars: [Float(1), 2]), "z": Tensor(scalar: Float(0))],
        ]
        for feed in feeds {
            do {
                _ = try session.run(feed)
            } catch let error as OnyxError {
                switch error.kind {
                case .missingInput, .unexpectedInput, .wrongElementType, .shapeMismatch:
                    caught.append(error.kind)
                    XCTAssertNotNil(error.value, "\(error)")
                default:
                    XCTFail("unexpected \(error)")
                }
            }
        }
        XCTAssertEqual(caught, [.missingInput, .wrongElementType, .shapeMismatch, .unexpectedInput])
    }
}
