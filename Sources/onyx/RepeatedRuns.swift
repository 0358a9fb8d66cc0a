import Foundation
import Onyx

/// `onyx run --repeat N` (hidden): runs the model N times in this process
/// and prints resident memory after warm-up and at the end, to check that
/// repeated runs do not leak (`tools/soak`).
enum RepeatedRuns {
    /// Runs `count` times; prints one `rss:` line on standard error.
    /// Warm-up is the first tenth of the runs (at least one).
    static func measure(_ session: Session, feeds: [String: Tensor], count: Int) throws {
        let warmUp = max(count / 10, 1)
        var afterWarmUp = 0
        var peak = 0
        for index in 0..<count {
            _ = try session.run(feeds)
            let resident = ProcessMemory.residentBytes() ?? 0
            if index + 1 == warmUp { afterWarmUp = resident }
            if index + 1 > warmUp { peak = max(peak, resident) }
        }
        let final = ProcessMemory.residentBytes() ?? 0
        let growth = afterWarmUp > 0 ? Double(final - afterWarmUp) / Double(afterWarmUp) * 100 : 0
        let line = String(
            format: "rss: %d runs; after %d warm-up runs %.2f MiB, peak after %.2f MiB, final %.2f MiB (%+.2f%%)\n",
            count, warmUp, Double(afterWarmUp) / 1048576, Double(peak) / 1048576, Double(final) / 1048576, growth)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
