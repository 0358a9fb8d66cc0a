import Foundation

/// A block of raw bytes that backs a tensor, with the knowledge of how to
/// release it: memory from `malloc` (e.g. a payload taken over from
/// protobuf-c), a region inside a memory-mapped file kept alive by its owner,
/// or memory Onyx allocated itself.
///
/// The buffer is immutable once shared; kernels that write allocate their own.
public final class TensorBuffer: @unchecked Sendable {
    /// Start of the bytes; nil only when `byteCount` is 0.
    public let baseAddress: UnsafeMutableRawPointer?
    /// Number of bytes.
    public let byteCount: Int

    private enum Release {
        case free
        case deallocate
        case keepAlive(AnyObject)
        case none
    }

    private let release: Release
    /// The run budget this buffer is charged to (memory Onyx allocated during a run).
    private let budget: MemoryBudget?

    private init(baseAddress: UnsafeMutableRawPointer?, byteCount: Int, release: Release) {
        self.baseAddress = baseAddress
        self.byteCount = byteCount
        self.release = release
        if case .deallocate = release, let budget = MemoryBudget.current {
            budget.charge(byteCount)
            self.budget = budget
        } else {
            self.budget = nil
        }
    }

    deinit {
        switch release {
        case .free: Foundation.free(baseAddress)
        case .deallocate:
            baseAddress?.deallocate()
            LiveTensorBytes.shared.subtract(byteCount)
            budget?.refund(byteCount)
        case .keepAlive, .none: break
        }
    }

    /// An empty buffer.
    public static let empty = TensorBuffer(baseAddress: nil, byteCount: 0, release: .none)

    /// A zero-filled buffer of `byteCount` bytes, 64-byte aligned.
    public static func zeroed(byteCount: Int) -> TensorBuffer {
        guard byteCount > 0 else { return .empty }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        LiveTensorBytes.shared.add(byteCount)
        return TensorBuffer(baseAddress: pointer, byteCount: byteCount, release: .deallocate)
    }

    /// A copy of `bytes`.
    public static func copying(_ bytes: UnsafeRawBufferPointer) -> TensorBuffer {
        guard bytes.count > 0, let source = bytes.baseAddress else { return .empty }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        pointer.copyMemory(from: source, byteCount: bytes.count)
        LiveTensorBytes.shared.add(bytes.count)
        return TensorBuffer(baseAddress: pointer, byteCount: bytes.count, release: .deallocate)
    }

    /// Takes ownership of memory obtained from `malloc`; it is `free`d on deinit.
    public static func adoptingMalloced(_ pointer: UnsafeMutableRawPointer?, byteCount: Int) -> TensorBuffer {
        guard let pointer else { return .empty }
        return TensorBuffer(baseAddress: pointer, byteCount: byteCount, release: .free)
    }

    /// Borrows memory that `owner` keeps valid (e.g. a mapped file region).
    public static func borrowing(
        _ pointer: UnsafeMutableRawPointer?, byteCount: Int, owner: AnyObject
    ) -> TensorBuffer {
        guard byteCount > 0, let pointer else { return .empty }
        return TensorBuffer(baseAddress: pointer, byteCount: byteCount, release: .keepAlive(owner))
    }

    /// The bytes as a read-only buffer pointer.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: baseAddress, count: byteCount)
    }
}

/// Bytes held by tensor buffers Onyx allocated itself and has not freed,
/// process-wide. Allocation checks use it so that a graph cannot exhaust the
/// machine through many tensors that are each under the per-tensor limit.
final class LiveTensorBytes: @unchecked Sendable {
    static let shared = LiveTensorBytes()
    private let lock = NSLock()
    private var bytes = 0

    var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return bytes
    }

    func add(_ count: Int) {
        lock.lock()
        bytes &+= count
        lock.unlock()
    }

    func subtract(_ count: Int) {
        lock.lock()
        bytes &-= count
        lock.unlock()
    }
}
