import Foundation

/// A block of raw bytes that backs a tensor, with the knowledge of how to
/// release it: memory from `malloc` (e.g. a payload taken over from
/// protobuf-c), a region inside a memory-mapped file kept alive by its owner,
/// or memory Onyx allocated itself (from 64 KiB on, a region of the run's
/// arena or mapped pages recycled across runs).
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
        /// Pages from `mmap` (large buffers Onyx allocated), `munmap`ped on deinit.
        case unmap(length: Int)
        /// A region of the run's arena, given back on deinit.
        case arena(RunArena)
        case keepAlive(AnyObject)
        case none

        /// Memory Onyx allocated itself: charged to the run, writable once unshared.
        var isOwned: Bool {
            switch self {
            case .deallocate, .unmap, .arena: return true
            case .free, .keepAlive, .none: return false
            }
        }
    }

    private let release: Release
    /// The run budget this buffer is charged to (memory Onyx allocated during a run).
    private let budget: MemoryBudget?

    /// `budget`: the run to charge an owned buffer to (the task's current
    /// one unless the caller has already looked it up).
    private init(
        baseAddress: UnsafeMutableRawPointer?, byteCount: Int, release: Release,
        budget: MemoryBudget? = MemoryBudget.current
    ) {
        self.baseAddress = baseAddress
        self.byteCount = byteCount
        self.release = release
        if release.isOwned, let budget {
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
        case .unmap(let length):
            if let baseAddress { MappedBlockCache.shared.release(baseAddress, length: length) }
            LiveTensorBytes.shared.subtract(byteCount)
            budget?.refund(byteCount)
        case .arena(let arena):
            if let baseAddress { arena.release(baseAddress, bytes: byteCount) }
            LiveTensorBytes.shared.subtract(byteCount)
            budget?.refund(byteCount)
        case .keepAlive, .none: break
        }
    }

    /// Buffers from this size (64 KiB) up are mapped pages recycled through
    /// ``MappedBlockCache``. Through malloc, glibc raises its mmap threshold
    /// after such frees and keeps the memory in per-thread arenas, so peak
    /// memory grew with the number of threads that ever ran a kernel; and
    /// the heap it trims hands mid-sized buffers back as fresh pages, so
    /// with a 1 MiB threshold EfficientNet-B0 still took ~220 page faults a
    /// run, none with this one.
    static let mappedThreshold = 1 << 16

    /// Zeroed pages for a large buffer — a recycled block of the same
    /// length when ``MappedBlockCache`` has one, fresh ones otherwise — or nil
    /// when the kernel refuses.
    private static func mapped(byteCount: Int) -> TensorBuffer? {
        let length = MappedBlockCache.length(for: byteCount)
        guard let block = MappedBlockCache.shared.acquire(length: length) else { return nil }
        LiveTensorBytes.shared.add(byteCount)
        return TensorBuffer(baseAddress: block.pointer, byteCount: byteCount, release: .unmap(length: block.length))
    }

    /// An empty buffer.
    public static let empty = TensorBuffer(baseAddress: nil, byteCount: 0, release: .none)

    /// A zero-filled buffer of `byteCount` bytes, 64-byte aligned.
    public static func zeroed(byteCount: Int) -> TensorBuffer {
        guard byteCount > 0 else { return .empty }
        if let buffer = fromArena(byteCount: byteCount), let base = buffer.baseAddress {
            base.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
            return buffer
        }
        if byteCount >= mappedThreshold, let buffer = mapped(byteCount: byteCount) { return buffer }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        LiveTensorBytes.shared.add(byteCount)
        return TensorBuffer(baseAddress: pointer, byteCount: byteCount, release: .deallocate)
    }

    /// A 64-byte aligned buffer of `byteCount` bytes whose contents start
    /// undefined (a recycled block keeps its old bytes): only for a kernel
    /// that writes every byte before anything reads the buffer.
    static func uninitialized(byteCount: Int) -> TensorBuffer {
        guard byteCount > 0 else { return .empty }
        if let buffer = fromArena(byteCount: byteCount) { return buffer }
        if byteCount >= mappedThreshold {
            let length = MappedBlockCache.length(for: byteCount)
            if let block = MappedBlockCache.shared.acquire(length: length, zeroed: false) {
                LiveTensorBytes.shared.add(byteCount)
                return TensorBuffer(baseAddress: block.pointer, byteCount: byteCount, release: .unmap(length: block.length))
            }
        }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        LiveTensorBytes.shared.add(byteCount)
        return TensorBuffer(baseAddress: pointer, byteCount: byteCount, release: .deallocate)
    }

    /// A copy of `bytes`.
    public static func copying(_ bytes: UnsafeRawBufferPointer) -> TensorBuffer {
        guard bytes.count > 0, let source = bytes.baseAddress else { return .empty }
        if bytes.count >= mappedThreshold, let buffer = mapped(byteCount: bytes.count), let target = buffer.baseAddress {
            target.copyMemory(from: source, byteCount: bytes.count)
            return buffer
        }
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

    /// Whether Onyx allocated this memory itself (so a kernel may write it
    /// once nothing else holds the buffer); false for borrowed, adopted and
    /// empty buffers.
    var isAllocatedByOnyx: Bool { release.isOwned }

    /// Whether the memory is a region of a run's arena.
    var isArenaRegion: Bool {
        if case .arena = release { return true }
        return false
    }

    /// A region of the current run's arena (``MemoryBudget/arena``) for a
    /// large buffer, contents undefined; nil without an arena or room in it.
    private static func fromArena(byteCount: Int) -> TensorBuffer? {
        guard byteCount >= mappedThreshold, let budget = MemoryBudget.current, let arena = budget.arena,
            let pointer = arena.allocate(byteCount)
        else { return nil }
        LiveTensorBytes.shared.add(byteCount)
        return TensorBuffer(baseAddress: pointer, byteCount: byteCount, release: .arena(arena), budget: budget)
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

/// Freed large tensor blocks kept for reuse, by length, up to a total of
/// ``capacity`` bytes; beyond that they are unmapped. Runs of one model ask
/// for the same sizes again and again, so after the first run most large
/// buffers are recycled pages (zeroed with one memset) rather than fresh
/// page faults, and the memory held stays bounded whatever the threads.
final class MappedBlockCache: @unchecked Sendable {
    static let shared = MappedBlockCache()
    /// Most bytes kept in freed blocks.
    let capacity = 64 << 20
    private var blocks: [Int: [UnsafeMutableRawPointer]] = [:]
    private var cached = 0
    private let lock = NSLock()

    /// `byteCount` rounded up to whole 64 KiB, so near sizes share blocks.
    static func length(for byteCount: Int) -> Int { (byteCount + 0xFFFF) & ~0xFFFF }

    /// A block of at least `length` bytes (a multiple of the page size) and
    /// its true length, to pass back to ``release(_:length:)``; its first
    /// `length` bytes zeroed unless `zeroed` is false (a recycled block then
    /// keeps its old bytes), or nil. A free block of exactly `length` comes
    /// first, then the shortest free one up to ``reuseFactor`` times longer:
    /// a block freed moments ago by a larger tensor is still in cache, where
    /// one of the exact size last used a whole run ago is not (the first
    /// convolutions of each MobileNetV2 / EfficientNet-B0 stage ran 1.5–2×
    /// slower, writing into cold blocks), and only then fresh pages.
    func acquire(length: Int, zeroed: Bool = true) -> (pointer: UnsafeMutableRawPointer, length: Int)? {
        lock.lock()
        var taken = length
        var reused = blocks[length]?.popLast()
        if reused == nil {
            var best = Int.max
            for (candidate, free) in blocks where candidate > length && candidate < best && !free.isEmpty
                && candidate <= length &* Self.reuseFactor
            {
                best = candidate
            }
            if best != Int.max {
                reused = blocks[best]?.popLast()
                taken = best
            }
        }
        if reused != nil { cached -= taken }
        lock.unlock()
        if let reused {
            if zeroed { reused.initializeMemory(as: UInt8.self, repeating: 0, count: length) }
            return (reused, taken)
        }
        let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let pointer, pointer != MAP_FAILED else { return nil }
        return (pointer, length)
    }

    /// How much longer than asked a recycled block may be.
    static let reuseFactor = 8

    /// Keeps the block for reuse, or unmaps it when the cache is full.
    func release(_ pointer: UnsafeMutableRawPointer, length: Int) {
        lock.lock()
        let keep = cached + length <= capacity
        if keep {
            blocks[length, default: []].append(pointer)
            cached += length
        }
        lock.unlock()
        if !keep { munmap(pointer, length) }
    }

    /// Unmaps every free block: when a session moves its tensors into a run
    /// arena, the blocks its earlier runs freed would otherwise sit idle.
    func trim() {
        lock.lock()
        let freed = blocks
        blocks = [:]
        cached = 0
        lock.unlock()
        for (length, pointers) in freed { for pointer in pointers { munmap(pointer, length) } }
    }
}

/// Float scratch memory for one kernel call: blocks of
/// ``TensorBuffer/mappedThreshold`` bytes and up are recycled through
/// ``MappedBlockCache`` (so a kernel called every run does not fault in fresh
/// pages each time), smaller ones come from malloc. The contents start
/// undefined: the kernel must write each element before reading it. The
/// memory is 64-byte aligned and given back when the object goes.
final class FloatScratch {
    let base: UnsafeMutablePointer<Float>?
    let count: Int
    private let mappedLength: Int

    init(count: Int) throws {
        let bytes = try TensorAllocation.checkedBytes(.float, count: count)
        self.count = count
        if bytes >= TensorBuffer.mappedThreshold {
            let length = MappedBlockCache.length(for: bytes)
            guard let block = MappedBlockCache.shared.acquire(length: length, zeroed: false) else {
                throw OnyxError.resourceLimit("no memory for \(bytes) bytes of kernel scratch")
            }
            mappedLength = block.length
            base = block.pointer.bindMemory(to: Float.self, capacity: count)
        } else {
            mappedLength = 0
            // Cache-line aligned: the kernels load whole vectors from it.
            base = count > 0
                ? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Float.self, capacity: count)
                : nil
        }
    }

    deinit {
        guard let base else { return }
        if mappedLength > 0 {
            MappedBlockCache.shared.release(UnsafeMutableRawPointer(base), length: mappedLength)
        } else {
            UnsafeMutableRawPointer(base).deallocate()
        }
    }
}
