import CKernels
import Foundation
import Synchronization

/// The threads that run Onyx's intra-op parallel loops (GEMM tiles, conv
/// planes, elementwise ranges): `activeCores - 1` workers plus the calling
/// thread. A parallel loop takes a few microseconds to start when the
/// workers are awake, where waking sleeping Dispatch workers for every loop
/// cost tens of microseconds — most of a small convolution. After a loop a
/// worker spins (with the CPU's pause hint) for up to ``spinNanoseconds``
/// waiting for the next one, then sleeps on a condition variable: an idle
/// pool burns no CPU.
///
/// One loop runs at a time; a loop started while another is running (a
/// second session on another thread, or a loop nested inside a loop body)
/// runs on its calling thread alone. Kernels compute each element the same
/// way whatever the split, so that changes no result.
///
/// While a graph runs its nodes on several threads at once (a loop of
/// *lanes*, see `GraphPlan`), each lane's own parallel loops go to a second,
/// *nested* job slot: lanes with no node to run help with it
/// (``helpNested()``), so a lone large node still gets every thread.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(workers: max(0, Gemm.activeCores - 1))

    /// How long an idle worker spins before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    /// One parallel loop: its body (valid until the submitting call returns)
    /// and its index and completion counters.
    private final class Job: @unchecked Sendable {
        let body: (Int) -> Void
        let count: Int
        let next = Atomic<Int>(0)
        let pending: Atomic<Int>

        init(body: @escaping (Int) -> Void, count: Int) {
            self.body = body
            self.count = count
            pending = Atomic<Int>(count)
        }

        /// Claims and runs indices until none are left.
        func work() {
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                body(index)
                pending.wrappingSubtract(1, ordering: .releasing)
            }
        }
    }

    /// Where a loop is posted for other threads to join: the job's address
    /// (0 when none), the lock that admits one job at a time, and the
    /// helpers inside it; the submitter waits for none to be inside before
    /// the job (and its body) goes away.
    private final class Slot: @unchecked Sendable {
        let current = Atomic<UInt>(0)
        let entered = Atomic<Int>(0)
        let submission = NSLock()

        /// Posts `job`, calls `announce`, works on the job, and returns once
        /// every index is done and no helper is left inside.
        func run(_ job: Job, announce: () -> Void) {
            current.store(UInt(bitPattern: Unmanaged.passUnretained(job).toOpaque()), ordering: .sequentiallyConsistent)
            announce()
            job.work()
            while job.pending.load(ordering: .acquiring) > 0 { onyx_cpu_relax() }
            current.store(0, ordering: .sequentiallyConsistent)
            while entered.load(ordering: .sequentiallyConsistent) > 0 { onyx_cpu_relax() }
            withExtendedLifetime(job) {}
        }

        /// Works on the job in the slot, if there is one; returns whether there was.
        func help() -> Bool {
            guard current.load(ordering: .relaxed) != 0 else { return false }
            // Announced before reading the job: the submitter frees it only
            // after clearing `current` and seeing no helper inside.
            entered.wrappingAdd(1, ordering: .sequentiallyConsistent)
            defer { entered.wrappingSubtract(1, ordering: .sequentiallyConsistent) }
            let address = current.load(ordering: .sequentiallyConsistent)
            guard address != 0, let pointer = UnsafeRawPointer(bitPattern: address) else { return false }
            Unmanaged<Job>.fromOpaque(pointer).takeUnretainedValue().work()
            return true
        }
    }

    let workers: Int
    /// The slot the workers serve.
    private let main = Slot()
    /// The slot for a loop started while `main` is busy (a lane's loop
    /// while the lanes hold `main`); lanes with nothing to run help with it.
    private let nested = Slot()
    /// Counts the jobs posted to `main` (a job's address may be reused by the next one).
    private let posted = Atomic<Int>(0)
    private let sleepers = NSCondition()
    private var sleeping = 0

    init(workers: Int) {
        self.workers = workers
        for index in 0..<workers {
            let thread = Thread { [unowned self] in self.serve() }
            thread.name = "onyx-worker-\(index)"
            thread.start()
        }
    }

    /// Calls `body(index)` for every index below `iterations`, on the workers
    /// and the calling thread, and returns when all calls are done. With the
    /// main slot busy the loop goes to the nested slot, and with both busy it
    /// runs on the calling thread alone.
    func run(_ iterations: Int, _ body: (Int) -> Void) {
        let slot = iterations > 1 && workers > 0
            ? (main.submission.try() ? main : nested.submission.try() ? nested : nil) : nil
        guard let slot else {
            for index in 0..<iterations { body(index) }
            return
        }
        defer { slot.submission.unlock() }
        withoutActuallyEscaping(body) { escapable in
            slot.run(Job(body: escapable, count: iterations)) {
                guard slot === main else { return }
                posted.wrappingAdd(1, ordering: .sequentiallyConsistent)
                sleepers.lock()
                if sleeping > 0 { sleepers.broadcast() }
                sleepers.unlock()
            }
        }
    }

    /// Works on the nested loop in flight, if there is one; returns whether there was.
    func helpNested() -> Bool { nested.help() }

    private func serve() {
        var seen = 0
        while true {
            // Spin for a new job, then sleep until one is posted.
            var spinStart: UInt64 = 0
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                onyx_cpu_relax()
                spins &+= 1
                guard spins & 255 == 0 else { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if spinStart == 0 {
                    spinStart = now
                } else if now &- spinStart > Self.spinNanoseconds {
                    sleepers.lock()
                    sleeping += 1
                    while posted.load(ordering: .acquiring) == seen { sleepers.wait() }
                    sleeping -= 1
                    sleepers.unlock()
                }
            }
            seen = posted.load(ordering: .acquiring)
            _ = main.help()
        }
    }
}
