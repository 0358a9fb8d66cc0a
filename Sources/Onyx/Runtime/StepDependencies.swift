import Foundation

/// Which steps of a plan wait on which, and who reads each value slot: what
/// running independent nodes at once needs (`GraphPlan.runLanes`).
///
/// A step waits on the earlier steps that produce the slots it reads (its
/// inputs and its subgraphs' free variables). A slot is released once every
/// step reading it has run, unless it is a graph output; an output nobody
/// reads is released as soon as it is made. Run in plan order, that is
/// ``releases``; on lanes, `LaneSchedule` counts the readers down.
struct StepDependencies: Sendable {
    /// Per step: how many distinct steps it waits on.
    let waitCounts: [Int]
    /// Per step: the steps waiting on it.
    let dependents: [[Int]]
    /// Per slot: how many steps read it.
    let readerCounts: [Int]
    /// Per step: the slots it reads, each once.
    let reads: [[Int]]
    /// Per step: its output slots that no step reads and that are not graph outputs.
    let unread: [[Int]]
    /// Per step, when the steps run in plan order: the slots to release
    /// after it (those it reads last, and its unread outputs).
    let releases: [[Int]]
    /// Per slot: whether it is a graph output (never released).
    let kept: [Bool]
    /// The most steps ready at once while the plan runs in order: 1 when
    /// the nodes form one chain and nothing can run beside anything else.
    let widest: Int

    init(steps: [GraphPlan.Step], slotCount: Int, kept keptSlots: Set<Int>) {
        var producer = [Int?](repeating: nil, count: slotCount)
        for (index, step) in steps.enumerated() {
            for case let slot? in step.outputs where producer[slot] == nil { producer[slot] = index }
        }
        var waitCounts = [Int](repeating: 0, count: steps.count)
        var dependents = [[Int]](repeating: [], count: steps.count)
        var readerCounts = [Int](repeating: 0, count: slotCount)
        var lastReader = [Int?](repeating: nil, count: slotCount)
        var inOrder = true
        for (index, step) in steps.enumerated() {
            var waitsOn = Set<Int>()
            for slot in step.reads {
                readerCounts[slot] &+= 1
                lastReader[slot] = index
                guard let source = producer[slot] else { continue }
                if source < index { waitsOn.insert(source) } else { inOrder = false }
            }
            waitCounts[index] = waitsOn.count
            for source in waitsOn.sorted() { dependents[source].append(index) }
        }
        var kept = [Bool](repeating: false, count: slotCount)
        for slot in keptSlots where slot < slotCount { kept[slot] = true }
        self.waitCounts = waitCounts
        self.dependents = dependents
        self.readerCounts = readerCounts
        self.reads = steps.map(\.reads)
        self.kept = kept
        let unread = steps.map { step in
            step.outputs.compactMap { slot in slot.flatMap { readerCounts[$0] == 0 && !kept[$0] ? $0 : nil } }
        }
        var releases = unread
        for (slot, reader) in lastReader.enumerated() {
            if let reader, !kept[slot] { releases[reader].append(slot) }
        }
        self.unread = unread
        self.releases = releases
        // A step reading a value made at or after it keeps plan order, so it
        // fails as it would in order ("was not produced").
        widest = inOrder ? Self.widest(waitCounts: waitCounts, dependents: dependents) : 1
    }

    /// The largest ready set while the steps run one by one in plan order.
    private static func widest(waitCounts: [Int], dependents: [[Int]]) -> Int {
        var remaining = waitCounts
        var ready = remaining.reduce(0) { $0 &+ ($1 == 0 ? 1 : 0) }
        var widest = min(ready, 1)
        for index in remaining.indices {
            widest = max(widest, ready)
            ready &-= 1
            for dependent in dependents[index] {
                remaining[dependent] &-= 1
                if remaining[dependent] == 0 { ready &+= 1 }
            }
        }
        return widest
    }
}

/// The progress of one run on lanes: steps ready to run, steps and readers
/// still awaited, and the first failure. Every method takes the lock (a
/// pthread mutex, which Thread Sanitizer follows).
final class LaneSchedule: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: [Int]
    private var readers: [Int]
    /// Ready steps; `claim` takes the lowest, to stay near plan order.
    private var ready: [Int]
    private var running = 0
    private var finished = 0
    private let total: Int
    /// The failure of the lowest-numbered failing step so far.
    private var firstFailure: (index: Int, error: Error)?

    init(_ dependencies: StepDependencies) {
        let waits = dependencies.waitCounts
        remaining = waits
        readers = dependencies.readerCounts
        ready = waits.indices.filter { waits[$0] == 0 }
        total = waits.count
    }

    /// The error of the lowest-numbered step that failed, if any did.
    var failure: Error? {
        lock.lock()
        defer { lock.unlock() }
        return firstFailure?.error
    }

    /// The next step to run (`.some(index)`); `.some(nil)` when none is
    /// ready yet; nil when no step is left to start (all have run, or one
    /// failed and none is running).
    func claim() -> Int?? {
        lock.lock()
        defer { lock.unlock() }
        if firstFailure != nil { return running == 0 ? nil : .some(nil) }
        guard !ready.isEmpty else { return finished == total ? nil : .some(nil) }
        var lowest = 0
        for position in ready.indices where ready[position] < ready[lowest] { lowest = position }
        let index = ready[lowest]
        ready[lowest] = ready[ready.count &- 1]
        ready.removeLast()
        running &+= 1
        return .some(index)
    }

    /// Records that step `index` ran (or failed), makes its dependents ready
    /// when it was the last step they waited on, and returns the slots to
    /// release now.
    func finish(_ index: Int, failure error: Error?, dependencies: StepDependencies) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        running &-= 1
        finished &+= 1
        if let error {
            if firstFailure.map({ index < $0.index }) ?? true { firstFailure = (index, error) }
            return []
        }
        for dependent in dependencies.dependents[index] {
            remaining[dependent] &-= 1
            if remaining[dependent] == 0 { ready.append(dependent) }
        }
        var released = dependencies.unread[index]
        for slot in dependencies.reads[index] {
            readers[slot] &-= 1
            if readers[slot] == 0, !dependencies.kept[slot] { released.append(slot) }
        }
        return released
    }
}
