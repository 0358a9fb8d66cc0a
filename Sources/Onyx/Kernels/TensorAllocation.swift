/// Tensor construction for kernels: every output buffer is allocated here,
/// with its size checked against a limit before any memory is touched.
enum TensorAllocation {
    /// Upper bound on the bytes of tensors Onyx allocates and holds at once
    /// (half of physical memory).
    static let limit = ModelLoader.defaultMemoryLimit

    /// Bytes `count` elements of `type` need, or an error when the count
    /// overflows, when the bytes would take the current run over its
    /// ``MemoryBudget`` (`SessionOptions.memoryLimitBytes`), or when together
    /// with the tensor memory already live in the process they would exceed
    /// the process-wide limit.
    static func checkedBytes(_ type: ElementType, count: Int) throws -> Int {
        guard let bytes = type.byteCount(forElements: count), bytes <= limit else {
            throw OnyxError.resourceLimit("a \(type) tensor of \(count) elements exceeds the memory limit")
        }
        if let budget = MemoryBudget.current, !budget.admits(bytes) {
            throw OnyxError.resourceLimit(
                "a \(type) tensor of \(count) elements (\(MemoryBudget.describe(bytes))) would bring this run's "
                    + "tensor memory to \(MemoryBudget.describe(budget.heldBytes &+ bytes)), over its limit of "
                    + "\(MemoryBudget.describe(budget.limit)) (SessionOptions.memoryLimitBytes)")
        }
        let live = LiveTensorBytes.shared.current
        guard bytes <= limit - min(live, limit) else {
            throw OnyxError.resourceLimit(
                "a \(type) tensor of \(count) elements would bring live tensor memory to "
                    + "\((live + bytes) >> 20) MiB, over the limit of \(limit >> 20) MiB")
        }
        return bytes
    }

    /// A scratch array of `count` elements of `value` (e.g. accumulators a
    /// kernel fills before building its output), after the same checks as a
    /// tensor of `count` elements of `stride(T)` bytes.
    static func array<T>(repeating value: T, shape: [Int]) throws -> [T] {
        let count = try Tensor.checkedCount(shape)
        let (bytes, overflow) = count.multipliedReportingOverflow(by: max(MemoryLayout<T>.stride, 1))
        _ = try checkedBytes(.uint8, count: overflow ? Int.max : bytes)
        return [T](repeating: value, count: count)
    }
}

extension Tensor {
    /// A numeric tensor whose bytes `body` writes (they start zeroed).
    static func make(
        _ type: ElementType, _ shape: [Int], _ body: (UnsafeMutableRawPointer) throws -> Void
    ) throws -> Tensor {
        try make(type, shape, zeroed: true, body)
    }

    /// A numeric tensor whose bytes `body` must all write: the buffer is not
    /// zeroed first.
    static func makeOverwritten(
        _ type: ElementType, _ shape: [Int], _ body: (UnsafeMutableRawPointer) throws -> Void
    ) throws -> Tensor {
        try make(type, shape, zeroed: false, body)
    }

    private static func make(
        _ type: ElementType, _ shape: [Int], zeroed: Bool, _ body: (UnsafeMutableRawPointer) throws -> Void
    ) throws -> Tensor {
        let bytes = try TensorAllocation.checkedBytes(type, count: try Tensor.checkedCount(shape))
        let buffer = zeroed ? TensorBuffer.zeroed(byteCount: bytes) : TensorBuffer.uninitialized(byteCount: bytes)
        if let base = buffer.baseAddress { try body(base) }
        return try Tensor(elementType: type, shape: shape, buffer: buffer)
    }

    /// A tensor of Swift scalar type `T` whose elements `body` writes.
    static func make<T: TensorScalar>(
        _ type: T.Type, _ shape: [Int], _ body: (UnsafeMutableBufferPointer<T>) throws -> Void
    ) throws -> Tensor {
        let count = try Tensor.checkedCount(shape)
        return try make(T.elementType, shape) { raw in
            try body(UnsafeMutableBufferPointer(start: raw.bindMemory(to: T.self, capacity: count), count: count))
        }
    }

    /// A float32 tensor whose elements `body` must all write: its buffer is
    /// not zeroed first (the hot float kernels: GEMM-based and depthwise Conv,
    /// elementwise). Every path through `body`, empty operands included,
    /// writes every element. With `donated` of the right size (an input's
    /// buffer the plan gave up, `RunContext.donation(for:outputCount:)`),
    /// the output is written over it instead of a new buffer.
    static func makeOverwritten(
        _ type: Float.Type, _ shape: [Int], reusing donated: TensorBuffer? = nil,
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> Void
    ) throws -> Tensor {
        let count = try Tensor.checkedCount(shape)
        let buffer: TensorBuffer
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        if let donated, !overflow, donated.byteCount == bytes {
            buffer = donated
        } else {
            buffer = TensorBuffer.uninitialized(byteCount: try TensorAllocation.checkedBytes(.float, count: count))
        }
        if let base = buffer.baseAddress {
            try body(UnsafeMutableBufferPointer(start: base.bindMemory(to: Float.self, capacity: count), count: count))
        }
        return try Tensor(elementType: .float, shape: shape, buffer: buffer)
    }

    /// A zero-filled tensor.
    static func zeros(_ type: ElementType, _ shape: [Int]) throws -> Tensor {
        if type == .string {
            return try Tensor(shape: shape, stringBytes: Array(repeating: [], count: try Tensor.checkedCount(shape)))
        }
        return try make(type, shape) { _ in }
    }

    /// The same elements under another shape of equal element count (no copy).
    func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard try Tensor.checkedCount(newShape) == count else {
            throw OnyxError.shapeMismatch("cannot reshape \(shape) (\(count) elements) to \(newShape)")
        }
        switch storage {
        case .bytes(let buffer): return try Tensor(elementType: elementType, shape: newShape, buffer: buffer)
        case .strings(let values): return try Tensor(shape: newShape, stringBytes: values)
        }
    }

    /// Row-major strides of `shape`, in elements.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running &*= shape[axis]
        }
        return strides
    }

    /// Bytes per element for byte-addressable types (nil for strings and sub-byte types).
    var elementSize: Int? {
        let bits = elementType.bitWidth
        return bits >= 8 && bits % 8 == 0 ? bits / 8 : nil
    }
}

/// Resolves a possibly negative axis against `rank`.
func normalizeAxis(_ axis: Int, rank: Int, name: String = "axis") throws -> Int {
    let resolved = axis < 0 ? axis + rank : axis
    guard resolved >= 0, resolved < max(rank, 1) || (rank == 0 && resolved == 0) else {
        throw OnyxError.invalidModel("\(name) \(axis) is out of range for rank \(rank)")
    }
    return resolved
}
