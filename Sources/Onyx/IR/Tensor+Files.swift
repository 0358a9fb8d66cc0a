import Foundation

/// The file formats a single tensor can be read from and written to.
public enum TensorFileFormat: String, Sendable, CaseIterable {
    /// NumPy's `.npy`: little-endian, C order. Covers float16/32/64,
    /// (u)int8–64 and bool.
    case npy
    /// A serialized ONNX `TensorProto` (`.pb`, the backend-test format).
    /// Covers every element type, strings included, and carries a name.
    case tensorProto

    /// The format a file name's extension implies: `.npy` → ``npy``, anything else → ``tensorProto``.
    public init(pathExtensionOf url: URL) {
        self = url.pathExtension.lowercased() == "npy" ? .npy : .tensorProto
    }
}

extension Tensor {
    /// Reads a tensor from a `.npy` or TensorProto `.pb` file; the format is
    /// recognised from the contents, not the name.
    public init(contentsOf url: URL) throws {
        self = try TensorFiles.read(contentsOf: url).tensor
    }

    /// Decodes a tensor from `.npy` or serialized TensorProto bytes,
    /// recognised from the contents.
    public init(serialized data: Data) throws {
        if data.starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) {
            self = try TensorFiles.decodeNpy(data)
        } else {
            self = try TensorFiles.decodeTensorProto(data).tensor
        }
    }

    /// The tensor encoded in `format`; `name` is stored in a TensorProto
    /// (ONNX test data names it after the graph input) and ignored by `.npy`.
    /// Throws `wrongElementType` for types `.npy` cannot hold.
    public func serialized(as format: TensorFileFormat, name: String = "") throws -> Data {
        switch format {
        case .npy: return try TensorFiles.encodeNpy(self)
        case .tensorProto: return TensorFiles.encodeTensorProto(self, name: name)
        }
    }

    /// Writes the tensor to `url` in `format` (by default the one the
    /// extension implies: `.npy`, else TensorProto).
    public func write(to url: URL, format: TensorFileFormat? = nil, name: String = "") throws {
        let data = try serialized(as: format ?? TensorFileFormat(pathExtensionOf: url), name: name)
        do {
            try data.write(to: url)
        } catch {
            throw OnyxError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
