import Foundation
import OnyxTesting
import XCTest
@testable import Onyx

/// `onyx bench` as a user calls it, and the ``Profiler`` behind `--profile`.
final class BenchCommandTests: XCTestCase {
    let digits = TestPaths.root.appendingPathComponent("models/digits/digits-cnn.onnx").path

    private func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], text)
    }

    func testJSONReportHasOrderedLatenciesAndMemory() throws {
        let result = try TestPaths.runOnyx([
            "bench", digits, "--iterations", "7", "--warmup", "1", "--threads", "1", "--shape", "batch=1", "--json",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try json(result.stdout)
        XCTAssertEqual(report["iterations"] as? Int, 7)
        XCTAssertEqual(report["threads"] as? Int, 1)
        XCTAssertEqual(report["warmup"] as? Int, 1)
        let latency = try XCTUnwrap(report["latency_ms"] as? [String: Double], result.stdout)
        let keys = ["min", "p50", "p90", "p99", "max"]
        let values = try keys.map { try XCTUnwrap(latency[$0], "latency_ms.\($0) missing") }
        XCTAssertEqual(values, values.sorted(), "percentiles out of order: \(latency)")
        let mean = try XCTUnwrap(latency["mean"])
        XCTAssertTrue(values[0] > 0 && values[0] <= mean && mean <= values[4], "\(latency)")
        XCTAssertGreaterThan(try XCTUnwrap(report["peak_rss_mb"] as? Double), 1)
        let tensors = try XCTUnwrap(report["peak_tensor_mb"] as? Double)
        XCTAssertTrue(tensors > 0 && tensors < 1, "the digits model's activations: \(tensors) MiB")
        XCTAssertGreaterThan(try XCTUnwrap(report["throughput_per_s"] as? Double), 0)
        XCTAssertNotNil(report["load_ms"] as? Double)
        XCTAssertNotNil(report["plan_ms"] as? Double)
        XCTAssertNil(report["profile"], "no profile unless asked")
        let inputs = try XCTUnwrap(report["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.first?["name"] as? String, "image")
        XCTAssertEqual(inputs.first?["shape"] as? [Int], [1, 1, 8, 8])
    }

    func testTextReportAndProfileTable() throws {
        let sample = TestPaths.root.appendingPathComponent("models/digits/samples/digit-2-label-7.pb").path
        let result = try TestPaths.runOnyx(["bench", digits, sample, "--iterations", "3", "--profile"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for text in ["latency ms", "p50", "p99", "throughput", "peak RSS", "digit-2-label-7.pb", "op type", "Conv", "all nodes"] {
            XCTAssertTrue(result.stdout.contains(text), "missing \(text) in\n\(result.stdout)")
        }
        XCTAssertFalse(result.stderr.contains("["), "no progress bar when stderr is not a terminal: \(result.stderr)")
    }

    func testSequentialFlagRunsAndGivesTheSameOutputs() throws {
        let sample = TestPaths.root.appendingPathComponent("models/digits/samples/digit-2-label-7.pb").path
        let bench = try TestPaths.runOnyx(["bench", digits, sample, "--iterations", "2", "--sequential", "--threads", "2"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        let plain = try TestPaths.runOnyx(["bench", digits, sample, "--iterations", "2", "--no-arena", "--json"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertNotNil(try json(plain.stdout)["peak_tensor_mb"] as? Double)
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var outputs: [Data] = []
        for (index, flags) in [["--sequential"], []].enumerated() {
            let folder = directory.appendingPathComponent("run\(index)")
            let run = try TestPaths.runOnyx(["run", digits, sample, "--threads", "2", "--output-dir", folder.path] + flags)
            XCTAssertEqual(run.status, 0, run.stderr)
            outputs.append(try Data(contentsOf: folder.appendingPathComponent("output_0.pb")))
        }
        XCTAssertEqual(outputs[0], outputs[1])
    }

    func testProfileCountsEveryNodeAndWritesChromeTrace() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trace = directory.appendingPathComponent("trace.json")
        let runs = 4
        let result = try TestPaths.runOnyx([
            "bench", digits, "--iterations", "\(runs)", "--shape", "image=1x1x8x8", "--json", "--profile-json", trace.path,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let session = try Session(contentsOf: URL(fileURLWithPath: digits))
        let nodes = session.model.graph.nodes
        let report = try json(result.stdout)
        let rows = try XCTUnwrap(report["profile"] as? [[String: Any]], result.stdout)
        var calls: [String: Int] = [:]
        for row in rows {
            let opType = try XCTUnwrap(row["op_type"] as? String)
            calls[opType] = row["calls"] as? Int
            XCTAssertNotNil(row["total_ms"] as? Double)
            XCTAssertNotNil(row["mean_us"] as? Double)
        }
        let expected = Dictionary(grouping: nodes, by: \.opType).mapValues { $0.count * runs }
        XCTAssertEqual(calls, expected)
        let totals = rows.compactMap { $0["total_ms"] as? Double }
        XCTAssertEqual(totals, totals.sorted(by: >), "rows sorted by total time")
        let share = rows.compactMap { $0["percent"] as? Double }.reduce(0, +)
        XCTAssertTrue(share > 0 && share <= 100.5, "node time is part of the run time: \(share)%")

        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: trace)) as? [String: Any]
        let events = try XCTUnwrap(object?["traceEvents"] as? [[String: Any]])
        let nodeEvents = events.filter { $0["cat"] as? String != "run" }
        XCTAssertEqual(nodeEvents.count, nodes.count * runs)
        XCTAssertEqual(events.count - nodeEvents.count, runs, "one span per run")
        let names = Set(nodes.map { $0.name.isEmpty ? $0.opType : $0.name })
        for event in nodeEvents {
            XCTAssertEqual(event["ph"] as? String, "X")
            XCTAssertTrue(names.contains(event["name"] as? String ?? ""), "\(event)")
            XCTAssertNotNil(event["ts"] as? Double)
            XCTAssertGreaterThanOrEqual(event["dur"] as? Double ?? -1, 0)
            XCTAssertEqual(event["tid"] as? Int, 0)
        }
    }

    /// A model with a symbolic batch, int64 ids into a constant 10-row
    /// table, and int64 column indices into the runtime input `x` (width 3).
    private func symbolicModel() throws -> URL {
        var g = GraphBuilder(opset: 17)
        g.input("x", dims: [.symbolic("batch"), .known(3)])
        g.input("ids", dims: [.known(4)], .int64)
        g.input("cols", dims: [.known(2)], .int64)
        g.random("table", [10, 3], seed: 1)
        g.node("Gather", ["table", "ids"], ["rows"])
        g.node("Gather", ["x", "cols"], ["picked"], ["axis": 1])
        g.output("rows", "picked")
        let url = try TestPaths.temporaryDirectory().appendingPathComponent("symbolic.onnx")
        try g.model().write(to: url)
        return url
    }

    func testSymbolicDimsNeedShapes() throws {
        let model = try symbolicModel()
        defer { try? FileManager.default.removeItem(at: model.deletingLastPathComponent()) }
        let missing = try TestPaths.runOnyx(["bench", model.path, "--iterations", "1", "--int-range", "0,3"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("\"x\"") && missing.stderr.contains("batch"), missing.stderr)

        let bySymbol = try TestPaths.runOnyx([
            "bench", model.path, "--iterations", "2", "--shape", "batch=5", "--int-range", "0,3", "--json",
        ])
        XCTAssertEqual(bySymbol.status, 0, bySymbol.stderr)
        let inputs = try XCTUnwrap(try json(bySymbol.stdout)["inputs"] as? [[String: Any]])
        XCTAssertEqual(inputs.first?["shape"] as? [Int], [5, 3])
        XCTAssertEqual(inputs.last?["type"] as? String, "int64")

        let byInput = try TestPaths.runOnyx(["bench", model.path, "--iterations", "1", "--shape", "x=2x3", "--int-range", "0,3"])
        XCTAssertEqual(byInput.status, 0, byInput.stderr)
        let wrongFixed = try TestPaths.runOnyx(["bench", model.path, "--iterations", "1", "--shape", "x=2x4"])
        XCTAssertEqual(wrongFixed.status, 1)
        XCTAssertTrue(wrongFixed.stderr.contains("dimension 1"), wrongFixed.stderr)
        let unknown = try TestPaths.runOnyx(["bench", model.path, "--iterations", "1", "--shape", "nope=3"])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("nope"), unknown.stderr)
    }

    func testIntegerInputsStayInRangeAndBelowConstantTables() throws {
        let model = try symbolicModel()
        let directory = model.deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Column ids up to 99 (the default range) index past x's 3 columns.
        let outOfRange = try TestPaths.runOnyx(["bench", model.path, "--iterations", "1", "--shape", "batch=1"])
        XCTAssertEqual(outOfRange.status, 1, "default ids in [0, 100) must overflow 3 columns")
        XCTAssertTrue(outOfRange.stderr.contains("Gather"), outOfRange.stderr)
        // With the columns from a file, the ids into the 10-row table are
        // drawn below 10 although --int-range allows 100.
        let cols = directory.appendingPathComponent("cols.pb")
        try TensorFiles.writeTensorProto(try Tensor(shape: [2], scalars: [Int64(2), 0]), name: "cols", to: cols)
        for seed in 0..<5 {
            let result = try TestPaths.runOnyx([
                "bench", model.path, "--input", "cols=\(cols.path)", "--iterations", "1", "--shape", "batch=1",
                "--seed", "\(seed)",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("ids: int64 [4] (random in [0, 10), seed \(seed &+ 1))"), result.stdout)
            XCTAssertTrue(result.stdout.contains("cols: int64 [2] (\(cols.path))"), result.stdout)
        }
        // A range for one input.
        let own = try TestPaths.runOnyx([
            "bench", model.path, "--int-range", "cols=1,3", "--iterations", "1", "--shape", "batch=1",
        ])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(own.stdout.contains("cols: int64 [2] (random in [1, 3), seed 2)"), own.stdout)
        let stranger = try TestPaths.runOnyx(["bench", model.path, "--int-range", "nope=1,3", "--shape", "batch=1"])
        XCTAssertEqual(stranger.status, 1)
        XCTAssertTrue(stranger.stderr.contains("nope"), stranger.stderr)
    }

    func testUsageErrorsExitTwo() throws {
        for arguments in [["--iterations", "0"], ["--iterations", "2", "--duration", "1"], ["--int-range", "5,5"], ["--int-range", "image=3,1"],
                          ["--threads", "0"], ["--duration", "-1"]] {
            let result = try TestPaths.runOnyx(["bench", digits] + arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
        }
    }

    func testProfilerSummaryCountsOnlyOutermostSpans() {
        let outer = Profiler.Event(name: "loop", category: "Loop", start: 100, duration: 50, thread: 0)
        let inner = Profiler.Event(name: "add", category: "Add", start: 110, duration: 10, thread: 0)
        let after = Profiler.Event(name: "add2", category: "Add", start: 150, duration: 5, thread: 0)
        let otherThread = Profiler.Event(name: "mul", category: "Mul", start: 120, duration: 5, thread: 1)
        let kept = Profiler.outermost([inner, outer, after, otherThread])
        XCTAssertEqual(Set(kept.map(\.name)), ["loop", "add2", "mul"])
    }

    func testProfilerRecordsFromManyThreads() {
        let profiler = Profiler()
        DispatchQueue.concurrentPerform(iterations: 64) { index in
            let start = profiler.now()
            profiler.record(name: "n\(index)", category: index % 2 == 0 ? "Even" : "Odd", since: start)
        }
        let events = profiler.events
        XCTAssertEqual(events.count, 64)
        XCTAssertEqual(Set(events.map(\.name)).count, 64)
        let summary = profiler.summary()
        XCTAssertEqual(summary.map(\.calls).reduce(0, +), 64)
        XCTAssertEqual(Set(summary.map(\.opType)), ["Even", "Odd"])
        let threads = Set(events.map(\.thread))
        XCTAssertEqual(threads, Set(0..<threads.count), "thread ids are small and sequential")
        profiler.reset()
        XCTAssertTrue(profiler.events.isEmpty)
    }
}
