import Foundation
import ONNXProto

/// Writes the IR back as a standard `.onnx` file.
///
/// The encoding streams through protobuf-c's `pack_to_buffer` into the file
/// in 1 MiB chunks; tensor payloads are written straight from their buffers,
/// so writing needs no second copy of the weights.
public enum ModelWriter {
    /// Writes `model` to `url`, replacing any file there.
    public static func write(_ model: Model, to url: URL) throws {
        let path = url.path
        let encoder = ProtoEncoder()
        let proto = try encoder.encodeModel(model)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw OnyxError.io("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        let status = withExtendedLifetime(encoder) { onyx_pack_model_to_fd(proto, fd) }
        let closed = close(fd)
        guard status == 0 else {
            throw OnyxError.io("cannot write \(path): \(String(cString: strerror(status)))")
        }
        guard closed == 0 else {
            throw OnyxError.io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// The serialized bytes of `model`.
    public static func serialize(_ model: Model) throws -> [UInt8] {
        let encoder = ProtoEncoder()
        let proto = try encoder.encodeModel(model)
        return withExtendedLifetime(encoder) {
            let size = onnx__model_proto__get_packed_size(proto)
            var bytes = [UInt8](repeating: 0, count: size)
            bytes.withUnsafeMutableBufferPointer { buffer in
                _ = onnx__model_proto__pack(proto, buffer.baseAddress)
            }
            return bytes
        }
    }
}

extension Model {
    /// Writes this model as a `.onnx` file.
    public func write(to url: URL) throws {
        try ModelWriter.write(self, to: url)
    }
}
