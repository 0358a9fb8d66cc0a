#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Helpers shared by the elementwise families (unary, more binary, variadic).

extension Tensor {
    /// Calls `body` with the bytes of a bool tensor, one per element
    /// (any non-zero byte is true). Throws unless the tensor is bool.
    func withBoolBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        guard elementType == .bool, let buffer else {
            throw OnyxError.wrongElementType("expected a bool tensor, got \(elementType)")
        }
        let count = try Tensor.checkedCount(shape)
        guard buffer.byteCount >= count else {
            throw OnyxError.invalidModel("\(self) has \(buffer.byteCount) bytes of storage, too few for its shape")
        }
        return try withExtendedLifetime(buffer) {
            try body(UnsafeBufferPointer(start: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), count: count))
        }
    }
}

/// Applies a C math function to a Float, Double or Float16 value: Double
/// computes in Double, the others in Float, rounded back once.
@inline(__always)
func libm<T: BinaryFloatingPoint>(_ x: T, _ single: (Float) -> Float, _ double: (Double) -> Double) -> T {
    T.self == Double.self ? T(double(Double(x))) : T(single(Float(x)))
}

/// The C `pow` of two floating-point values, through Double.
@inline(__always)
func powDouble(_ x: Double, _ y: Double) -> Double { pow(x, y) }
