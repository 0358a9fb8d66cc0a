/// One dimension of a shape: a known size, a named symbol (`batch`), or unknown.
public enum Dim: Sendable, Hashable, CustomStringConvertible {
    case known(Int)
    case symbolic(String)
    case unknown

    public var description: String {
        switch self {
        case .known(let size): return String(size)
        case .symbolic(let name): return name
        case .unknown: return "?"
        }
    }

    /// The size when known.
    public var value: Int? {
        if case .known(let size) = self { return size }
        return nil
    }
}

/// The type of a value: a tensor (element type and optional shape), or the
/// container types ONNX defines around tensors.
public indirect enum ValueType: Sendable, Hashable, CustomStringConvertible {
    /// A tensor; `shape` nil means the rank is unknown. `elementType` nil
    /// means the file did not say (or used a type number this build lacks,
    /// kept in `rawElementType`).
    case tensor(elementType: ElementType?, shape: [Dim]?)
    case sparseTensor(elementType: ElementType?, shape: [Dim]?)
    case sequence(ValueType?)
    case map(key: ElementType?, value: ValueType?)
    case optional(ValueType?)

    /// The element type of a (sparse) tensor type.
    public var elementType: ElementType? {
        switch self {
        case .tensor(let type, _), .sparseTensor(let type, _): return type
        default: return nil
        }
    }

    /// The shape of a (sparse) tensor type.
    public var shape: [Dim]? {
        switch self {
        case .tensor(_, let shape), .sparseTensor(_, let shape): return shape
        default: return nil
        }
    }

    public var description: String {
        func shapeText(_ shape: [Dim]?) -> String {
            guard let shape else { return "" }
            return "[" + shape.map(\.description).joined(separator: ",") + "]"
        }
        switch self {
        case .tensor(let type, let shape):
            return "tensor(\(type?.description ?? "?"))\(shapeText(shape))"
        case .sparseTensor(let type, let shape):
            return "sparse_tensor(\(type?.description ?? "?"))\(shapeText(shape))"
        case .sequence(let inner): return "seq(\(inner?.description ?? "?"))"
        case .map(let key, let value): return "map(\(key?.description ?? "?"),\(value?.description ?? "?"))"
        case .optional(let inner): return "optional(\(inner?.description ?? "?"))"
        }
    }
}

/// A named, typed value of a graph (input, output, or annotated intermediate).
public struct ValueInfo: Sendable, Hashable {
    public var name: String
    /// nil when the file gives no type (allowed for intermediates).
    public var type: ValueType?
    public var docString: String
    /// The type's denotation, kept for round trips.
    public var denotation: String
    public var metadata: [StringPair]

    public init(name: String, type: ValueType?, docString: String = "", denotation: String = "", metadata: [StringPair] = []) {
        self.name = name
        self.type = type
        self.docString = docString
        self.denotation = denotation
        self.metadata = metadata
    }
}

/// A key/value string pair (model metadata, external-data entries).
public struct StringPair: Sendable, Hashable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
