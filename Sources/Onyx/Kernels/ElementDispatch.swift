/// Visits the Swift type that computes on an element type. Types without
/// native Swift arithmetic here (bfloat16, the float8 and 4-bit kinds,
/// complex, string) go to `visitOther`, where kernels usually compute in
/// Float and encode the result back.
protocol ElementVisitor {
    associatedtype Result
    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Result
    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Result
    func visitBool() throws -> Result
    func visitOther(_ type: ElementType) throws -> Result
}

extension ElementType {
    /// Dispatches `visitor` on the Swift compute type of this element type.
    func visit<V: ElementVisitor>(_ visitor: V) throws -> V.Result {
        switch self {
        case .float: return try visitor.visitFloat(Float.self)
        case .double: return try visitor.visitFloat(Double.self)
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        case .float16: return try visitor.visitFloat(Float16.self)
        #endif
        case .int8: return try visitor.visitInteger(Int8.self)
        case .int16: return try visitor.visitInteger(Int16.self)
        case .int32: return try visitor.visitInteger(Int32.self)
        case .int64: return try visitor.visitInteger(Int64.self)
        case .uint8: return try visitor.visitInteger(UInt8.self)
        case .uint16: return try visitor.visitInteger(UInt16.self)
        case .uint32: return try visitor.visitInteger(UInt32.self)
        case .uint64: return try visitor.visitInteger(UInt64.self)
        case .bool: return try visitor.visitBool()
        default: return try visitor.visitOther(self)
        }
    }
}

extension Tensor {
    /// Calls `body` with the elements as `T` (the caller has checked the type).
    func withElements<T: TensorScalar, R>(_ type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) throws -> R {
        try withUnsafeBufferPointer(as: T.self, body)
    }
}
