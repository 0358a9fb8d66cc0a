import Foundation

/// Records how long each node of a run takes, for `onyx bench --profile`.
///
/// Pass one to ``Session/run(_:profiler:)``; every node the plan executes
/// (subgraph bodies included) adds one ``Event``. A run without a profiler
/// pays one nil check per node. Recording is thread-safe: nodes may run on
/// several threads, and each thread gets a small sequential `thread` id in
/// the order threads first record.
public final class Profiler: @unchecked Sendable {
    /// One timed span: a node, or a caller-defined span such as a whole run.
    public struct Event: Sendable, Equatable {
        /// The node name (the op type when the node has no name).
        public var name: String
        /// The op type, or the caller's category.
        public var category: String
        /// Nanoseconds since the profiler was created.
        public var start: UInt64
        public var duration: UInt64
        /// Small sequential id of the recording thread.
        public var thread: Int
    }

    /// Time per op type over top-level events (those not inside another
    /// event on the same thread, so control-flow bodies are not counted twice).
    public struct OpTypeSummary: Sendable, Equatable {
        public var opType: String
        public var totalNanoseconds: UInt64
        public var calls: Int
    }

    private let lock = NSLock()
    private let origin: UInt64
    private var recorded: [Event] = []
    private var threadIDs: [Int: Int] = [:]

    public init() {
        origin = Profiler.monotonicNanoseconds()
    }

    /// Nanoseconds since the profiler was created; pass to ``record(name:category:since:)``.
    public func now() -> UInt64 {
        Profiler.monotonicNanoseconds() &- origin
    }

    /// Records a span from `start` (a value of ``now()``) until now.
    public func record(name: String, category: String, since start: UInt64) {
        let end = now()
        let thread = Profiler.currentThreadHandle()
        lock.lock()
        defer { lock.unlock() }
        let id: Int
        if let known = threadIDs[thread] {
            id = known
        } else {
            id = threadIDs.count
            threadIDs[thread] = id
        }
        recorded.append(Event(
            name: name, category: category, start: start, duration: end >= start ? end - start : 0, thread: id))
    }

    /// Every event so far, in recording order.
    public var events: [Event] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }

    /// Forgets the events recorded so far.
    public func reset() {
        lock.lock()
        defer { lock.unlock() }
        recorded.removeAll(keepingCapacity: true)
    }

    /// Total time and calls per category over top-level events, excluding
    /// the categories in `excluding` (e.g. whole-run spans); sorted by total
    /// time, largest first.
    public func summary(excluding: Set<String> = []) -> [OpTypeSummary] {
        var totals: [String: OpTypeSummary] = [:]
        for event in Profiler.outermost(events.filter { !excluding.contains($0.category) }) {
            var entry = totals[event.category] ?? OpTypeSummary(opType: event.category, totalNanoseconds: 0, calls: 0)
            entry.totalNanoseconds &+= event.duration
            entry.calls &+= 1
            totals[event.category] = entry
        }
        return totals.values.sorted {
            $0.totalNanoseconds != $1.totalNanoseconds ? $0.totalNanoseconds > $1.totalNanoseconds : $0.opType < $1.opType
        }
    }

    /// The events in Chrome's trace-event format (chrome://tracing, Perfetto):
    /// complete events (`ph` "X") with `ts` and `dur` in microseconds, `name`
    /// the node name, `cat` the op type and `tid` the thread id.
    public func chromeTrace() throws -> Data {
        struct TraceEvent: Encodable {
            var name: String
            var cat: String
            var ph = "X"
            var ts: Double
            var dur: Double
            var pid = 1
            var tid: Int
        }
        struct Trace: Encodable {
            var traceEvents: [TraceEvent]
            var displayTimeUnit = "ms"
        }
        let trace = Trace(traceEvents: events.map {
            TraceEvent(name: $0.name, cat: $0.category, ts: Double($0.start) / 1000, dur: Double($0.duration) / 1000,
                       tid: $0.thread)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(trace)
    }

    /// The events not nested inside another event of the same thread.
    static func outermost(_ events: [Event]) -> [Event] {
        var result: [Event] = []
        let byThread = Dictionary(grouping: events, by: \.thread)
        for (_, threadEvents) in byThread {
            // Longest first among equal starts, so an enclosing span precedes what it contains.
            let sorted = threadEvents.sorted { $0.start != $1.start ? $0.start < $1.start : $0.duration > $1.duration }
            var coveredUntil: UInt64 = 0
            for event in sorted {
                let end = event.start &+ event.duration
                if event.start < coveredUntil && end <= coveredUntil { continue }
                result.append(event)
                coveredUntil = max(coveredUntil, end)
            }
        }
        return result
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(max(0, time.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, time.tv_nsec))
    }

    private static func currentThreadHandle() -> Int {
        #if os(Linux)
        return Int(bitPattern: UInt(pthread_self()))
        #else
        return Int(bitPattern: pthread_self())
        #endif
    }
}

extension Session {
    /// Runs the model like `run(_:)`; a non-nil `profiler` times every node.
    public func run(_ feeds: [String: Tensor], profiler: Profiler?) throws -> [String: Tensor] {
        let values = try runValues(feeds.mapValues { .tensor($0) }, profiler: profiler)
        var result: [String: Tensor] = [:]
        for (index, output) in outputs.enumerated() where index < values.count {
            result[output.name] = try values[index].asTensor()
        }
        return result
    }
}
