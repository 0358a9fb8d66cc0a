import ArgumentParser
import Foundation
import Onyx

/// `onyx test`: run ONNX backend test-data folders.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run ONNX backend test cases (model.onnx + test_data_set_N/).",
        discussion: """
            Each DIR is a case folder or a folder holding case folders (searched \
            recursively). Every case runs in its own process, so a failure of one \
            cannot stop the others. Each data set runs twice in one session (the second \
            run uses the run arena the first sized); both must match. Outputs are \
            compared like onnx's runner: same \
            count, shape and element type; floats within rtol 1e-3 and atol 1e-7 \
            unless the case's data.json says otherwise (NaN equals NaN); strings and \
            integers exactly. Cases listed in an incomplete-cases.txt next to (or \
            above) a DIR are skipped. Prints pass / mismatch / error per case and a \
            summary. With --expect, exits 1 when a listed case does not pass.
            """
    )

    @Argument(help: "Case folders, or folders containing them.") var directories: [String]
    @Option(help: "Only run cases whose name (e.g. node/test_add) matches this regular expression.") var filter: String?
    @Option(help: "Cases to run at once (default: one per core).") var jobs: Int?
    @Option(help: "A file listing cases (one per line) that must pass.") var expect: String?
    @Option(help: "Write the names of the passing cases to this file.") var writePassing: String?
    @Option(help: "Seconds before a case is stopped and counted as an error.") var timeout: Double = 300
    @Flag(help: "Print only failures and the summary.") var quiet = false
    @Flag(help: "Do not run the graph optimizer.") var noOptimize = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if let filter, (try? NSRegularExpression(pattern: filter)) == nil {
            throw ValidationError("--filter is not a valid regular expression")
        }
    }

    func run() throws {
        let (cases, skipped) = try collectCases()
        guard !cases.isEmpty || !skipped.isEmpty else {
            throw OnyxError.io("no test cases found under \(directories.joined(separator: ", "))")
        }
        let executable = Self.executablePath()
        let results = Results()
        let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
        let queue = DispatchQueue(label: "onyx.test.results")
        let semaphore = DispatchSemaphore(value: jobs)
        let group = DispatchGroup()
        for testCase in cases {
            semaphore.wait()
            group.enter()
            DispatchQueue.global().async {
                let result = Self.runIsolated(
                    testCase, executable: executable, timeout: timeout, optimize: !noOptimize)
                queue.sync {
                    results.add(testCase.name, result)
                    if !quiet || result.outcome != .pass {
                        let detail = result.message.isEmpty ? "" : ": \(result.message)"
                        let line = "\(result.outcome.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(testCase.name)\(detail)\n"
                        FileHandle.standardOutput.write(Data(line.utf8))
                    }
                }
                semaphore.signal()
                group.leave()
            }
        }
        group.wait()
        for name in skipped {
            results.add(name, ConformanceCase.Result(outcome: .skip, message: "listed in incomplete-cases.txt"))
        }
        let counts = results.counts()
        print(
            "\(counts[.pass, default: 0]) passed, \(counts[.mismatch, default: 0] + counts[.error, default: 0]) failed "
                + "(\(counts[.mismatch, default: 0]) mismatch, \(counts[.error, default: 0]) error), "
                + "\(counts[.skip, default: 0]) skipped")
        if let writePassing {
            let names = results.names(with: .pass).sorted().joined(separator: "\n") + "\n"
            try names.write(toFile: writePassing, atomically: true, encoding: .utf8)
        }
        if let expect {
            let wanted = try String(contentsOfFile: expect, encoding: .utf8).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            let passed = Set(results.names(with: .pass))
            let ran = Set(results.allNames())
            let regressions = wanted.filter { ran.contains($0) && !passed.contains($0) }
            let absent = wanted.filter { !ran.contains($0) }
            if !absent.isEmpty && filter == nil {
                print("expected cases not found: \(absent.count) (e.g. \(absent.prefix(3).joined(separator: ", ")))")
            }
            if !regressions.isEmpty {
                print("REGRESSION: \(regressions.count) expected cases did not pass: \(regressions.prefix(20).joined(separator: ", "))")
                throw ExitCode(1)
            }
            print("all \(wanted.count - absent.count) expected cases passed")
        }
    }

    /// Case folders under the given directories, minus those listed as incomplete.
    func collectCases() throws -> ([ConformanceCase], [String]) {
        let regex = try filter.map { try NSRegularExpression(pattern: $0) }
        var incomplete = Set<String>()
        var cases: [ConformanceCase] = []
        var seen = Set<String>()
        for directory in directories {
            let root = URL(fileURLWithPath: directory).standardizedFileURL
            for candidate in [root, root.deletingLastPathComponent(), root.deletingLastPathComponent().deletingLastPathComponent()] {
                let list = candidate.appendingPathComponent("incomplete-cases.txt")
                if let text = try? String(contentsOf: list, encoding: .utf8) {
                    for line in text.split(separator: "\n") { incomplete.insert(line.trimmingCharacters(in: .whitespaces)) }
                }
            }
            var folders: [URL] = []
            if FileManager.default.fileExists(atPath: root.appendingPathComponent("model.onnx").path) {
                folders = [root]
            } else if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
                for case let url as URL in walker where url.lastPathComponent == "model.onnx" {
                    folders.append(url.deletingLastPathComponent())
                }
            } else {
                throw OnyxError.io("cannot read \(directory)")
            }
            for folder in folders.sorted(by: { $0.path < $1.path }) {
                let testCase = ConformanceCase(directory: folder)
                guard seen.insert(testCase.name).inserted else { continue }
                if let regex {
                    let name = testCase.name
                    if regex.firstMatch(in: name, range: NSRange(name.startIndex..., in: name)) == nil { continue }
                }
                cases.append(testCase)
            }
        }
        let skipped = cases.filter { incomplete.contains($0.name) }.map(\.name)
        return (cases.filter { !incomplete.contains($0.name) }, skipped)
    }

    static func executablePath() -> String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return CommandLine.arguments[0]
    }

    /// Runs one case in a child `onyx test-case` process.
    static func runIsolated(
        _ testCase: ConformanceCase, executable: String, timeout: Double, optimize: Bool = true
    ) -> ConformanceCase.Result {
        let outcome: ChildProcess.Outcome
        do {
            let arguments = ["test-case", testCase.directory.path] + (optimize ? [] : ["--no-optimize"])
            outcome = try ChildProcess.run(executable, arguments, timeout: timeout)
        } catch {
            return .init(outcome: .error, message: "\(error)")
        }
        if outcome.timedOut {
            return .init(outcome: .error, message: "timed out after \(Int(timeout)) s")
        }
        if let signal = outcome.signal {
            return .init(outcome: .error, message: "crashed with signal \(signal)")
        }
        guard let result = try? JSONDecoder().decode(ConformanceCase.Result.self, from: outcome.output) else {
            return .init(outcome: .error, message: "the case runner exited with status \(outcome.exitStatus ?? -1) and no result")
        }
        return result
    }

    /// Thread-confined results (used on one serial queue).
    final class Results: @unchecked Sendable {
        private var items: [(String, ConformanceCase.Result)] = []
        func add(_ name: String, _ result: ConformanceCase.Result) { items.append((name, result)) }
        func counts() -> [ConformanceCase.Outcome: Int] {
            items.reduce(into: [:]) { $0[$1.1.outcome, default: 0] += 1 }
        }
        func names(with outcome: ConformanceCase.Outcome) -> [String] { items.filter { $0.1.outcome == outcome }.map(\.0) }
        func allNames() -> [String] { items.map(\.0) }
    }
}

/// Runs one case in this process and prints its result as JSON (used by `onyx test`).
struct TestCaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test-case", abstract: "Run one backend test case and print the result as JSON.",
        shouldDisplay: false)

    @Argument(help: "The case folder.") var directory: String
    @Flag(help: "Do not run the graph optimizer.") var noOptimize = false

    func run() throws {
        var options = SessionOptions()
        options.optimize = !noOptimize
        let result = ConformanceCase(directory: URL(fileURLWithPath: directory)).run(options: options)
        let data = try JSONEncoder().encode(result)
        print(String(decoding: data, as: UTF8.self))
    }
}
