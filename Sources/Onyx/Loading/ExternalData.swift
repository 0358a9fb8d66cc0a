import Foundation
import ONNXProto

/// Resolves `data_location = EXTERNAL` tensors: each referenced file is
/// mapped once, and tensors borrow their byte ranges from the mapping.
///
/// Paths are relative to the model's folder; absolute paths, `..`
/// components and symlinks that lead outside the folder are refused, as are
/// ranges past the end of the file.
final class ExternalDataResolver {
    let baseDirectory: URL?
    private var mapped: [String: MappedFile] = [:]

    init(baseDirectory: URL?) {
        self.baseDirectory = baseDirectory
    }

    /// The files mapped so far (for `onyx info`).
    var files: [String] { mapped.keys.sorted() }

    func bytes(location: String, offset: Int, length: Int?, expected: Int) throws -> TensorBuffer {
        guard let baseDirectory else {
            throw OnyxError.invalidModel("external data \"\(location)\" needs a model file to resolve against")
        }
        guard !location.isEmpty else { throw OnyxError.invalidModel("external data has an empty location") }
        guard !location.hasPrefix("/") && !location.hasPrefix("\\") else {
            throw OnyxError.invalidModel("external data location \"\(location)\" is an absolute path")
        }
        let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !components.contains("..") else {
            throw OnyxError.invalidModel("external data location \"\(location)\" points outside the model's folder")
        }
        let file = try mappedFile(location: location, under: baseDirectory)
        guard offset >= 0 else { throw OnyxError.invalidModel("external data offset \(offset) is negative") }
        let length = length ?? (file.size - offset)
        guard length >= 0, offset <= file.size, length <= file.size - offset else {
            throw OnyxError.invalidModel(
                "external data range \(offset)+\(length) runs past the end of \"\(location)\" (\(file.size) bytes)")
        }
        guard length == expected else {
            throw OnyxError.invalidModel("external data \"\(location)\" has \(length) bytes, dims need \(expected)")
        }
        guard let base = file.baseAddress else { return .empty }
        return TensorBuffer.borrowing(base + offset, byteCount: length, owner: file)
    }

    private func mappedFile(location: String, under directory: URL) throws -> MappedFile {
        if let file = mapped[location] { return file }
        let root = directory.resolvingSymlinksInPath().standardizedFileURL.path
        let candidate = directory.appendingPathComponent(location)
        guard FileManager.default.fileExists(atPath: candidate.path) else {
            throw OnyxError.invalidModel("external data file \"\(location)\" is missing")
        }
        let resolved = candidate.resolvingSymlinksInPath().standardizedFileURL.path
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard resolved.hasPrefix(prefix) else {
            throw OnyxError.invalidModel("external data location \"\(location)\" resolves outside the model's folder")
        }
        let file = try MappedFile(path: resolved)
        mapped[location] = file
        return file
    }
}

extension ProtoDecoder {
    /// The payload of an external-data tensor, `byteCount` bytes long.
    func externalData(_ proto: UnsafeMutablePointer<Onnx__TensorProto>, byteCount: Int) throws -> TensorBuffer {
        var location: String?
        var offset = 0
        var length: Int?
        for entry in stringPairs(proto.pointee.n_external_data, proto.pointee.external_data) {
            switch entry.key {
            case "location": location = entry.value
            case "offset":
                guard let value = Int(entry.value) else {
                    throw OnyxError.invalidModel("external data offset \"\(entry.value)\" is not an integer")
                }
                offset = value
            case "length":
                guard let value = Int(entry.value) else {
                    throw OnyxError.invalidModel("external data length \"\(entry.value)\" is not an integer")
                }
                length = value
            default: break
            }
        }
        guard let location else { throw OnyxError.invalidModel("external data without a location") }
        return try external.bytes(location: location, offset: offset, length: length, expected: byteCount)
    }
}
