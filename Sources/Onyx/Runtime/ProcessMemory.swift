import Foundation

/// Resident memory of this process, for reports (`onyx info`, `onyx bench`).
package enum ProcessMemory {
    /// Bytes resident now (Linux: /proc/self/statm); nil where unavailable.
    package static func residentBytes() -> Int? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return nil
        #endif
    }

    /// The resident high-water mark (Linux: `VmHWM` in /proc/self/status),
    /// falling back to ``peakResidentBytes()`` elsewhere.
    public static func highWaterMarkBytes() -> Int? {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                if fields.count >= 2, let kibibytes = Int(fields[1]) { return kibibytes &* 1024 }
            }
        }
        #endif
        return peakResidentBytes()
    }

    /// The most bytes ever resident in this process (getrusage).
    package static func peakResidentBytes() -> Int? {
        var usage = rusage()
        #if os(Linux)
        let who = RUSAGE_SELF.rawValue
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return nil }
        #if os(Linux)
        return Int(usage.ru_maxrss) * 1024
        #else
        return Int(usage.ru_maxrss)
        #endif
    }
}
