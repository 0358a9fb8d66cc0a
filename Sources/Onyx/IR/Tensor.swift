/// A Swift scalar type that maps one-to-one onto an ONNX element type.
public protocol TensorScalar: Sendable {
    /// The ONNX element type with this Swift representation.
    static var elementType: ElementType { get }
}

extension Float: TensorScalar { public static var elementType: ElementType { .float } }
extension Double: TensorScalar { public static var elementType: ElementType { .double } }
extension Int8: TensorScalar { public static var elementType: ElementType { .int8 } }
extension Int16: TensorScalar { public static var elementType: ElementType { .int16 } }
extension Int32: TensorScalar { public static var elementType: ElementType { .int32 } }
extension Int64: TensorScalar { public static var elementType: ElementType { .int64 } }
extension UInt8: TensorScalar { public static var elementType: ElementType { .uint8 } }
extension UInt16: TensorScalar { public static var elementType: ElementType { .uint16 } }
extension UInt32: TensorScalar { public static var elementType: ElementType { .uint32 } }
extension UInt64: TensorScalar { public static var elementType: ElementType { .uint64 } }
extension Bool: TensorScalar { public static var elementType: ElementType { .bool } }
#if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
extension Float16: TensorScalar { public static var elementType: ElementType { .float16 } }
#endif

/// A dense, immutable n-dimensional array of one ONNX element type.
///
/// Numeric tensors keep their elements as little-endian bytes in a shared
/// ``TensorBuffer`` (sub-byte types packed as ONNX packs them); string
/// tensors keep each element's bytes, which need not be valid UTF-8.
/// Copies share storage; equality compares type, shape and bytes.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The element type.
    public let elementType: ElementType
    /// The dimensions; `[]` is a scalar.
    public let shape: [Int]

    enum Storage: Sendable {
        case bytes(TensorBuffer)
        case strings([[UInt8]])
    }

    let storage: Storage

    /// Number of elements (product of the dimensions).
    public var count: Int { shape.reduce(1, &*) }

    /// Creates a numeric tensor over `buffer`, which must hold exactly the
    /// bytes `count` elements of `elementType` need.
    public init(elementType: ElementType, shape: [Int], buffer: TensorBuffer) throws {
        guard elementType != .string else {
            throw OnyxError.invalidModel("a string tensor cannot be built from raw bytes")
        }
        let count = try Tensor.checkedCount(shape)
        guard let needed = elementType.byteCount(forElements: count), needed == buffer.byteCount else {
            throw OnyxError.invalidModel(
                "\(elementType) tensor of shape \(shape) needs "
                    + "\(elementType.byteCount(forElements: count).map(String.init) ?? "too many") bytes, "
                    + "got \(buffer.byteCount)")
        }
        self.elementType = elementType
        self.shape = shape
        self.storage = .bytes(buffer)
    }

    /// Creates a string tensor; each element is stored as its bytes.
    public init(shape: [Int], stringBytes: [[UInt8]]) throws {
        let count = try Tensor.checkedCount(shape)
        guard count == stringBytes.count else {
            throw OnyxError.invalidModel("string tensor of shape \(shape) needs \(count) elements, got \(stringBytes.count)")
        }
        self.elementType = .string
        self.shape = shape
        self.storage = .strings(stringBytes)
    }

    /// Creates a string tensor from Swift strings (UTF-8).
    public init(shape: [Int], strings: [String]) throws {
        try self.init(shape: shape, stringBytes: strings.map { Array($0.utf8) })
    }

    /// Creates a tensor of a Swift scalar type from its elements in row-major order.
    public init<T: TensorScalar>(shape: [Int], scalars: [T]) throws {
        let count = try Tensor.checkedCount(shape)
        guard count == scalars.count else {
            throw OnyxError.shapeMismatch("shape \(shape) needs \(count) elements, got \(scalars.count)")
        }
        let buffer = scalars.withUnsafeBytes { TensorBuffer.copying($0) }
        try self.init(elementType: T.elementType, shape: shape, buffer: buffer)
    }

    /// A scalar (rank-0) tensor.
    public init<T: TensorScalar>(scalar: T) {
        let buffer = [scalar].withUnsafeBytes { TensorBuffer.copying($0) }
        self.elementType = T.elementType
        self.shape = []
        self.storage = .bytes(buffer)
    }

    /// The product of `shape`, or an error if a dimension is negative or the
    /// product overflows.
    public static func checkedCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { throw OnyxError.invalidModel("negative dimension \(dim) in shape \(shape)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw OnyxError.invalidModel("shape \(shape) has more elements than Int can count") }
            count = product
        }
        return count
    }

    /// The storage buffer of a numeric tensor (nil for strings).
    public var buffer: TensorBuffer? {
        if case .bytes(let buffer) = storage { return buffer }
        return nil
    }

    /// The element bytes of a string tensor (nil for numeric tensors).
    public var stringBytes: [[UInt8]]? {
        if case .strings(let values) = storage { return values }
        return nil
    }

    /// Size of the payload in bytes (string tensors: sum of element lengths).
    public var byteCount: Int {
        switch storage {
        case .bytes(let buffer): return buffer.byteCount
        case .strings(let values): return values.reduce(0) { $0 &+ $1.count }
        }
    }

    /// Calls `body` with the raw little-endian bytes of a numeric tensor
    /// (an empty buffer for strings), without copying.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch storage {
        case .bytes(let buffer): return try withExtendedLifetime(buffer) { try body(buffer.bytes) }
        case .strings: return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// Calls `body` with the elements typed as `T`, without copying.
    /// Throws when `T` is not this tensor's element type, and for a bool
    /// tensor whose bytes are not all 0 or 1 (which Swift's `Bool` cannot hold).
    public func withUnsafeBufferPointer<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) throws -> R {
        guard T.elementType == elementType, case .bytes(let buffer) = storage else {
            throw OnyxError.wrongElementType("tensor holds \(elementType), not \(T.elementType)")
        }
        if T.self == Bool.self, buffer.bytes.contains(where: { $0 > 1 }) {
            throw OnyxError.wrongElementType("bool tensor holds bytes other than 0 and 1; read it as UInt8 bytes")
        }
        return try withExtendedLifetime(buffer) {
            let typed = buffer.baseAddress.map {
                UnsafeBufferPointer(start: $0.assumingMemoryBound(to: T.self), count: count)
            } ?? UnsafeBufferPointer(start: nil, count: 0)
            return try body(typed)
        }
    }

    /// The elements as an array of `T`; throws `wrongElementType` when `T`
    /// is not the element type (no conversion: use ``floatValues()`` and
    /// friends for that). A bool tensor reads any nonzero byte as true.
    public func scalars<T: TensorScalar>(as type: T.Type) throws -> [T] {
        if T.self == Bool.self, elementType == .bool, case .bytes(let buffer) = storage {
            return buffer.bytes.map { $0 != 0 } as? [T] ?? []
        }
        return try withUnsafeBufferPointer(as: T.self) { Array($0) }
    }

    /// Creates a string tensor; the same as ``init(shape:strings:)``, so
    /// that `Tensor(shape:scalars:)` covers every element type.
    public init(shape: [Int], scalars: [String]) throws {
        try self.init(shape: shape, strings: scalars)
    }

    /// The elements of a string tensor decoded as UTF-8 (invalid bytes
    /// repaired); throws `wrongElementType` for a numeric tensor.
    public func scalars(as type: String.Type) throws -> [String] {
        try strings()
    }

    /// The elements of a string tensor decoded as UTF-8 (invalid bytes repaired).
    public func strings() throws -> [String] {
        guard let values = stringBytes else {
            throw OnyxError.wrongElementType("tensor holds \(elementType), not string")
        }
        return values.map { String(decoding: $0, as: UTF8.self) }
    }

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.elementType == rhs.elementType, lhs.shape == rhs.shape else { return false }
        switch (lhs.storage, rhs.storage) {
        case (.strings(let a), .strings(let b)): return a == b
        case (.bytes(let a), .bytes(let b)):
            if a === b { return true }
            guard a.byteCount == b.byteCount else { return false }
            guard a.byteCount > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
            return memcmp(pa, pb, a.byteCount) == 0
        default: return false
        }
    }

    public var description: String {
        "tensor(\(elementType), \(shape.map(String.init).joined(separator: "x")))"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
