import Foundation

/// The tensor bytes one run may hold at once, and the bytes it holds now.
///
/// `Session` binds a budget to ``current`` (a task-local, so it follows the
/// run through subgraphs and is invisible to other threads' runs) for the
/// duration of each run. Every tensor buffer Onyx allocates while a budget
/// is bound is charged to it and refunded when the buffer is freed, also
/// after the run ends (an output keeps its charge until dropped).
/// ``TensorAllocation/checkedBytes(_:count:)`` refuses an allocation that
/// would take the held bytes over ``limit`` before any memory is touched.
/// Outside a run (loading, building tensors by hand) no budget is bound and
/// only the process-wide cap applies.
final class MemoryBudget: @unchecked Sendable {
    /// The budget of the run on this task or thread, if any.
    @TaskLocal static var current: MemoryBudget?

    /// Most bytes the run may hold.
    let limit: Int
    /// The block the run's large tensors are cut from, if it has one.
    let arena: RunArena?
    private let lock = NSLock()
    private var held = 0
    private var peak = 0

    init(limit: Int, arena: RunArena? = nil) {
        self.limit = max(limit, 0)
        self.arena = arena
    }

    /// Bytes charged and not yet refunded.
    var heldBytes: Int {
        lock.withLock { held }
    }

    /// The most bytes held at once so far.
    var peakBytes: Int {
        lock.withLock { peak }
    }

    /// Whether `bytes` more fit under the limit now.
    func admits(_ bytes: Int) -> Bool {
        lock.withLock { bytes >= 0 && bytes <= limit - min(held, limit) }
    }

    func charge(_ bytes: Int) {
        lock.lock()
        held &+= bytes
        peak = max(peak, held)
        lock.unlock()
    }

    func refund(_ bytes: Int) {
        lock.lock()
        held &-= bytes
        lock.unlock()
    }

    /// `bytes` as text for messages: bytes below 1 MiB, MiB above.
    static func describe(_ bytes: Int) -> String {
        bytes < 1 << 20 ? "\(bytes) bytes" : "\(bytes >> 20) MiB"
    }
}
