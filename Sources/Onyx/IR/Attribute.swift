/// A sparse tensor in COO form, as an attribute or initializer carries it.
public struct SparseTensor: Sendable, Equatable {
    /// The dense shape.
    public var shape: [Int]
    /// 1-D values, one per stored element.
    public var values: Tensor
    /// int64 indices, `[nnz]` (linear) or `[nnz, rank]`.
    public var indices: Tensor

    public init(shape: [Int], values: Tensor, indices: Tensor) {
        self.shape = shape
        self.values = values
        self.indices = indices
    }
}

/// The value of a node attribute, one case per ONNX `AttributeType`.
public indirect enum AttributeValue: Sendable, Equatable {
    case float(Float)
    case int(Int64)
    /// Bytes; ONNX strings need not be valid UTF-8.
    case string([UInt8])
    case tensor(Tensor)
    case graph(Graph)
    case sparseTensor(SparseTensor)
    case type(ValueType?)
    case floats([Float])
    case ints([Int64])
    case strings([[UInt8]])
    case tensors([Tensor])
    case graphs([Graph])
    case sparseTensors([SparseTensor])
    case types([ValueType?])

    /// The ONNX `AttributeProto.AttributeType` name of this case.
    public var kindName: String {
        switch self {
        case .float: return "FLOAT"
        case .int: return "INT"
        case .string: return "STRING"
        case .tensor: return "TENSOR"
        case .graph: return "GRAPH"
        case .sparseTensor: return "SPARSE_TENSOR"
        case .type: return "TYPE_PROTO"
        case .floats: return "FLOATS"
        case .ints: return "INTS"
        case .strings: return "STRINGS"
        case .tensors: return "TENSORS"
        case .graphs: return "GRAPHS"
        case .sparseTensors: return "SPARSE_TENSORS"
        case .types: return "TYPE_PROTOS"
        }
    }

    public static func == (lhs: AttributeValue, rhs: AttributeValue) -> Bool {
        switch (lhs, rhs) {
        // Bitwise so that NaN attributes compare equal to themselves.
        case (.float(let a), .float(let b)): return a.bitPattern == b.bitPattern
        case (.floats(let a), .floats(let b)): return a.map(\.bitPattern) == b.map(\.bitPattern)
        case (.int(let a), .int(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.tensor(let a), .tensor(let b)): return a == b
        case (.graph(let a), .graph(let b)): return a == b
        case (.sparseTensor(let a), .sparseTensor(let b)): return a == b
        case (.type(let a), .type(let b)): return a == b
        case (.ints(let a), .ints(let b)): return a == b
        case (.strings(let a), .strings(let b)): return a == b
        case (.tensors(let a), .tensors(let b)): return a == b
        case (.graphs(let a), .graphs(let b)): return a == b
        case (.sparseTensors(let a), .sparseTensors(let b)): return a == b
        case (.types(let a), .types(let b)): return a == b
        default: return false
        }
    }
}

/// A named attribute of a node. Inside a function body an attribute may
/// instead refer to an attribute of the calling node (`reference`).
public struct Attribute: Sendable, Equatable {
    public var name: String
    /// The value; nil only for a pure reference (`reference` set).
    public var value: AttributeValue?
    /// `ref_attr_name`: the caller's attribute this one takes its value from.
    public var reference: String?
    public var docString: String

    public init(name: String, value: AttributeValue?, reference: String? = nil, docString: String = "") {
        self.name = name
        self.value = value
        self.reference = reference
        self.docString = docString
    }
}
