import Foundation

/// One block of memory that the large tensors of a run are carved from.
///
/// A session sizes the arena from the most tensor memory an earlier run held
/// (``Session/peakTensorBytes``), takes the block from ``MappedBlockCache``
/// (so the next run gets the same, still-warm pages back) and binds it to
/// the run through ``MemoryBudget``. Buffers from
/// ``TensorBuffer/mappedThreshold`` up are cut from it best-fit and given
/// back when the buffer is freed, with free neighbours merged; a buffer that
/// does not fit falls back to the block cache.
///
/// A region is reused only after the ``TensorBuffer`` over it is gone, so
/// values that share a buffer (a Reshape's output) and anything a run hands
/// out stay valid however long they live. Every region holds the arena, and
/// the block goes back to the cache when the last region and the run are
/// done; the session copies graph outputs out of the arena so that a caller
/// keeping them does not keep the block.
final class RunArena: @unchecked Sendable {
    /// Regions start on cache lines (the kernels' vector loads).
    static let alignment = 64

    private let base: UnsafeMutableRawPointer
    private let blockLength: Int
    /// Usable bytes: the capacity asked for, rounded up to whole 64 KiB (the
    /// block taken from the cache may be longer).
    let capacity: Int
    private let lock = NSLock()
    /// Free regions, sorted by offset, never adjacent (merged when freed).
    private var free: [(offset: Int, length: Int)]
    private var used = 0
    private var fallbacks = 0

    /// An arena of at least `capacity` bytes, or nil when no memory is to be had.
    init?(capacity: Int) {
        guard capacity > 0 else { return nil }
        let length = MappedBlockCache.length(for: capacity)
        guard let block = MappedBlockCache.shared.acquire(length: length, zeroed: false) else { return nil }
        base = block.pointer
        blockLength = block.length
        self.capacity = length
        free = [(0, length)]
    }

    deinit {
        MappedBlockCache.shared.release(base, length: blockLength)
    }

    /// The start of `bytes` bytes (contents undefined), or nil when no free
    /// region is that long (the allocation is then counted as a fallback).
    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes > 0, bytes <= capacity else { return nil }
        let length = (bytes + Self.alignment - 1) & ~(Self.alignment - 1)
        lock.lock()
        defer { lock.unlock() }
        var best: Int?
        for index in free.indices where free[index].length >= length {
            if best.map({ free[index].length < free[$0].length }) ?? true { best = index }
        }
        guard let index = best else {
            fallbacks &+= 1
            return nil
        }
        let region = free[index]
        if region.length == length {
            free.remove(at: index)
        } else {
            free[index] = (region.offset &+ length, region.length &- length)
        }
        used &+= length
        return base + region.offset
    }

    /// Returns the region of `bytes` bytes at `pointer` (from ``allocate(_:)``).
    func release(_ pointer: UnsafeMutableRawPointer, bytes: Int) {
        let length = (bytes + Self.alignment - 1) & ~(Self.alignment - 1)
        let offset = pointer - base
        lock.lock()
        defer { lock.unlock() }
        used &-= length
        // The first free region after this one; merge with it and the one before.
        var index = 0
        while index < free.count && free[index].offset < offset { index &+= 1 }
        var start = offset
        var end = offset &+ length
        if index < free.count, free[index].offset == end {
            end = free[index].offset &+ free[index].length
            free.remove(at: index)
        }
        if index > 0, free[index &- 1].offset &+ free[index &- 1].length == start {
            start = free[index &- 1].offset
            free[index &- 1] = (start, end &- start)
        } else {
            free.insert((start, end &- start), at: index)
        }
    }

    /// Bytes handed out and not yet returned.
    var usedBytes: Int {
        lock.withLock { used }
    }

    /// Requests that found no region long enough.
    var fallbackCount: Int {
        lock.withLock { fallbacks }
    }

    /// Free regions, for tests: (offset, length) sorted by offset.
    var freeRegions: [(offset: Int, length: Int)] {
        lock.withLock { free }
    }
}
