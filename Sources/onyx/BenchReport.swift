import Foundation
import Onyx

/// What `onyx bench` measured; `--json` prints it with snake_case keys.
struct BenchReport: Encodable {
    struct Latency: Encodable {
        var min, mean, p50, p90, p99, max: Double
    }

    struct Input: Encodable {
        var name: String
        var type: String
        var shape: [Int]
        /// "random" or the file it was read from.
        var source: String
    }

    struct ProfileRow: Encodable {
        var opType: String
        var totalMs: Double
        /// Share of the profiled runs' wall time.
        var percent: Double
        var calls: Int
        var meanUs: Double
    }

    var model: String
    var threads: Int
    var optimize: Bool
    var warmup: Int
    var iterations: Int
    var inputs: [Input]
    /// Reading and validating the file.
    var loadMs: Double
    /// Optimizing and compiling the graph into a plan.
    var planMs: Double
    var latencyMs: Latency
    /// Runs per second over the measured iterations.
    var throughputPerS: Double
    /// Wall time of the measured iterations, in seconds.
    var totalS: Double
    var rssAfterLoadMb: Double?
    /// Resident high-water mark of the process (VmHWM), loading included.
    var peakRssMb: Double?
    /// Most tensor memory one run held at once (`Session.peakTensorBytes`).
    var peakTensorMb: Double
    /// Per-op-type times when profiling; they include the profiler's own overhead.
    var profile: [ProfileRow]?

    /// Min, mean and linearly interpolated percentiles of `samples` (ms).
    static func latency(_ samples: [Double]) -> Latency {
        let sorted = samples.sorted()
        guard let first = sorted.first, let last = sorted.last else {
            return Latency(min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0)
        }
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        return Latency(
            min: first, mean: mean, p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9),
            p99: percentile(sorted, 0.99), max: last)
    }

    /// The `q` quantile of ascending `sorted` (non-empty), as numpy's default (linear).
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard sorted.count > 1 else { return sorted.first ?? 0 }
        let position = q * Double(sorted.count - 1)
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }

    /// Per-op-type rows from `profiler`, shares taken of `wallNanoseconds`.
    static func profileRows(_ profiler: Profiler, wallNanoseconds: Double, excluding: Set<String>) -> [ProfileRow] {
        profiler.summary(excluding: excluding).map { entry in
            let total = Double(entry.totalNanoseconds)
            return ProfileRow(
                opType: entry.opType, totalMs: total / 1e6,
                percent: wallNanoseconds > 0 ? 100 * total / wallNanoseconds : 0, calls: entry.calls,
                meanUs: entry.calls > 0 ? total / 1e3 / Double(entry.calls) : 0)
        }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    func text() -> String {
        func ms(_ value: Double) -> String { String(format: value < 10 ? "%.3f" : "%.2f", value) }
        var lines: [(String, String)] = []
        lines.append(("model", model))
        for (index, input) in inputs.enumerated() {
            lines.append((index == 0 ? "inputs" : "", "\(input.name): \(input.type) \(input.shape) (\(input.source))"))
        }
        lines.append(("threads", "\(threads)" + (optimize ? "" : ", optimizer off")))
        lines.append(("load", "\(ms(loadMs)) ms, plan \(ms(planMs)) ms"))
        lines.append(("iterations", "\(iterations) in \(String(format: "%.3f", totalS)) s, after \(warmup) warm-up"))
        let l = latencyMs
        lines.append(("latency ms", "min \(ms(l.min))  mean \(ms(l.mean))  p50 \(ms(l.p50))  p90 \(ms(l.p90))  p99 \(ms(l.p99))  max \(ms(l.max))"))
        lines.append(("throughput", String(format: "%.2f runs/s", throughputPerS)))
        if let rssAfterLoadMb { lines.append(("resident", String(format: "%.1f MiB after loading", rssAfterLoadMb))) }
        if let peakRssMb { lines.append(("peak RSS", String(format: "%.1f MiB", peakRssMb))) }
        lines.append(("tensors", String(format: "%.1f MiB at most in one run", peakTensorMb)))
        let width = lines.map(\.0.count).max() ?? 0
        var text = lines.map { key, value in key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value + "\n" }
            .joined()
        if let profile {
            text += "\n" + Self.profileTable(profile)
        }
        return text
    }

    /// The per-op-type table, sorted by total time.
    static func profileTable(_ rows: [ProfileRow]) -> String {
        let width = max(9, rows.map(\.opType.count).max() ?? 0)
        func pad(_ text: String, _ count: Int) -> String {
            String(repeating: " ", count: max(0, count - text.count)) + text
        }
        var text = "op type".padding(toLength: width, withPad: " ", startingAt: 0)
            + pad("total ms", 12) + pad("% of run", 10) + pad("calls", 9) + pad("mean µs", 12) + "\n"
        for row in rows {
            text += row.opType.padding(toLength: width, withPad: " ", startingAt: 0)
                + pad(String(format: "%.2f", row.totalMs), 12) + pad(String(format: "%.1f%%", row.percent), 10)
                + pad("\(row.calls)", 9) + pad(String(format: "%.1f", row.meanUs), 12) + "\n"
        }
        let total = rows.reduce(0) { $0 + $1.totalMs }
        let share = rows.reduce(0) { $0 + $1.percent }
        text += "all nodes".padding(toLength: width, withPad: " ", startingAt: 0)
            + pad(String(format: "%.2f", total), 12) + pad(String(format: "%.1f%%", share), 10) + "\n"
        return text
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar {
    private let enabled: Bool
    private var lastDraw: UInt64 = 0

    init() {
        enabled = isatty(STDERR_FILENO) == 1
    }

    /// Redraws at most ten times a second; `fraction` in [0, 1].
    func update(fraction: Double, label: String, now: UInt64) {
        guard enabled, now &- lastDraw >= 100_000_000 else { return }
        lastDraw = now
        let width = 30
        let filled = Int((min(max(fraction, 0), 1) * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(label)\u{1B}[K".utf8))
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
