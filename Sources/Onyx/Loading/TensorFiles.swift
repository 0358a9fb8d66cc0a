import Foundation
import ONNXProto

/// Reading and writing single tensors: serialized `TensorProto` (`.pb`, the
/// ONNX test-data format) and NumPy `.npy`.
package enum TensorFiles {
    /// Reads a tensor from a `.pb` (TensorProto) or `.npy` file, chosen by
    /// the file's contents. Returns the tensor and its name (empty for .npy).
    package static func read(contentsOf url: URL) throws -> (name: String, tensor: Tensor) {
        do {
            let data = try Data(contentsOf: url)
            if data.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
                return ("", try decodeNpy(data))
            }
            return try decodeTensorProto(data)
        } catch let error as OnyxError {
            throw error.inFile(url.path)
        } catch {
            throw OnyxError.io("cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    /// Decodes a serialized TensorProto.
    package static func decodeTensorProto(_ data: Data) throws -> (name: String, tensor: Tensor) {
        try data.withUnsafeBytes { raw -> (String, Tensor) in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else {
                // An empty message is a valid TensorProto with nothing set.
                throw OnyxError.invalidModel("the tensor file is empty")
            }
            // TensorProto's schema has no recursive fields, so protobuf-c's
            // recursion is bounded whatever the bytes say.
            guard let proto = onnx__tensor_proto__unpack(nil, raw.count, base) else {
                throw OnyxError.invalidModel("not a valid TensorProto")
            }
            defer { onnx__tensor_proto__free_unpacked(proto, nil) }
            let decoder = ProtoDecoder(
                external: ExternalDataResolver(baseDirectory: nil), memoryLimit: ModelLoader.defaultMemoryLimit,
                maxGraphDepth: 0)
            let name = decoder.cString(proto.pointee.name)
            return (name, try decoder.decodeTensor(proto))
        }
    }

    /// Serializes `tensor` as a TensorProto named `name`.
    package static func encodeTensorProto(_ tensor: Tensor, name: String) -> Data {
        let encoder = ProtoEncoder()
        let proto = encoder.encodeTensor(tensor, name: name)
        return withExtendedLifetime(encoder) {
            let size = onnx__tensor_proto__get_packed_size(proto)
            var bytes = Data(count: size)
            bytes.withUnsafeMutableBytes { buffer in
                _ = onnx__tensor_proto__pack(proto, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
            return bytes
        }
    }

    /// Writes `tensor` as a TensorProto `.pb` file.
    package static func writeTensorProto(_ tensor: Tensor, name: String, to url: URL) throws {
        do {
            try encodeTensorProto(tensor, name: name).write(to: url)
        } catch {
            throw OnyxError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    // MARK: - NumPy

    private static let npyTypes: [String: ElementType] = [
        "f4": .float, "f8": .double, "f2": .float16, "i1": .int8, "i2": .int16, "i4": .int32, "i8": .int64,
        "u1": .uint8, "u2": .uint16, "u4": .uint32, "u8": .uint64, "b1": .bool,
    ]

    /// Decodes a little-endian, C-ordered `.npy` array.
    package static func decodeNpy(_ data: Data) throws -> Tensor {
        let bytes = [UInt8](data)
        guard bytes.count >= 10 else { throw OnyxError.invalidModel("truncated .npy header") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else {
            guard bytes.count >= 12 else { throw OnyxError.invalidModel("truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        }
        guard headerStart + headerLength <= bytes.count else { throw OnyxError.invalidModel("truncated .npy header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func field(_ key: String) -> String? {
            guard let range = header.range(of: "'\(key)':") else { return nil }
            return String(header[range.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        guard let descrField = field("descr"), let quote = descrField.dropFirst().firstIndex(of: "'") else {
            throw OnyxError.invalidModel(".npy header has no descr")
        }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<quote])
        guard descr.first == "<" || descr.first == "|", let type = npyTypes[String(descr.dropFirst())] else {
            throw OnyxError.invalidModel(".npy dtype \(descr) is not supported")
        }
        if let order = field("fortran_order"), order.hasPrefix("True") {
            throw OnyxError.invalidModel(".npy arrays in Fortran order are not supported")
        }
        guard let shapeField = field("shape"), let open = shapeField.firstIndex(of: "("),
              let close = shapeField.firstIndex(of: ")")
        else { throw OnyxError.invalidModel(".npy header has no shape") }
        let shape = try shapeField[shapeField.index(after: open)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { text -> Int in
                guard let value = Int(text), value >= 0 else { throw OnyxError.invalidModel(".npy shape is invalid") }
                return value
            }
        let count = try Tensor.checkedCount(shape)
        let needed = try TensorAllocation.checkedBytes(type, count: count)
        let payload = headerStart + headerLength
        guard bytes.count - payload == needed else {
            throw OnyxError.invalidModel(".npy payload has \(bytes.count - payload) bytes, shape \(shape) needs \(needed)")
        }
        return try bytes[payload...].withUnsafeBytes { raw in
            try Tensor(elementType: type, shape: shape, buffer: TensorBuffer.copying(raw))
        }
    }
}

extension TensorFiles {
    /// Encodes a numeric tensor as a version 1.0 `.npy` array (little-endian,
    /// C order). Throws `wrongElementType` for types NumPy has no dtype for
    /// (strings, bfloat16, the float8 and packed sub-byte kinds, complex).
    package static func encodeNpy(_ tensor: Tensor) throws -> Data {
        guard let descr = npyTypes.first(where: { $0.value == tensor.elementType })?.key else {
            throw OnyxError.wrongElementType("a \(tensor.elementType) tensor cannot be written as .npy")
        }
        let order = descr == "i1" || descr == "u1" || descr == "b1" ? "|" : "<"
        let dims = tensor.shape.map(String.init)
        let shape = dims.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var header = "{'descr': '\(order)\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        // Magic (6) + version (2) + length (2) + header + "\n", padded to 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        guard header.utf8.count <= Int(UInt16.max) else {
            throw OnyxError.shapeMismatch("shape \(tensor.shape) is too long for a .npy header")
        }
        let length = UInt16(header.utf8.count)
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        tensor.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }
}
