import Foundation
import OnyxTesting
import XCTest

@testable import Onyx

/// The per-run arena (`RunArena`): best-fit regions merged when freed, runs
/// that cut their large tensors from it, and outputs that outlive it.
final class RunArenaTests: XCTestCase {
    func testRegionsAreBestFitAlignedAndMergedWhenFreed() throws {
        let arena = try XCTUnwrap(RunArena(capacity: 1 << 20))
        XCTAssertEqual(arena.capacity, 1 << 20)
        let a = try XCTUnwrap(arena.allocate(100_000))
        let b = try XCTUnwrap(arena.allocate(200_000))
        let c = try XCTUnwrap(arena.allocate(70_000))
        XCTAssertEqual(b - a, 100_032, "regions are rounded to 64 bytes")
        XCTAssertEqual(c - b, 200_000)
        XCTAssertEqual(Int(bitPattern: c) % RunArena.alignment, 0)
        arena.release(a, bytes: 100_000)
        // A gap of 100_032 at the start, 678_304 after c: 90_000 bytes take the smaller one.
        let d = try XCTUnwrap(arena.allocate(90_000))
        XCTAssertEqual(d, a)
        XCTAssertNil(arena.allocate(1 << 20), "no region that long")
        XCTAssertEqual(arena.fallbackCount, 1)
        for (pointer, bytes) in [(c, 70_000), (d, 90_000), (b, 200_000)] { arena.release(pointer, bytes: bytes) }
        XCTAssertEqual(arena.usedBytes, 0)
        XCTAssertEqual(arena.freeRegions.map(\.length), [1 << 20], "freed neighbours merge back into one region")
        XCTAssertNotNil(arena.allocate(1 << 20))
    }

    /// A chain with values read more than once, and a Reshape sharing a
    /// buffer with a value read later.
    private func model() throws -> Model {
        var g = GraphBuilder(opset: 17)
        g.input("x", [64, 1024])
        g.initializer("flat", [65_536], shape: [1], as: .int64)
        g.initializer("back", [64, 1024], shape: [2], as: .int64)
        g.node("Neg", ["x"], ["a"])
        g.node("Exp", ["a"], ["b"])
        g.node("Reshape", ["b", "flat"], ["r"])
        g.node("Add", ["a", "b"], ["c"])
        g.node("Mul", ["c", "a"], ["d"])
        g.node("Reshape", ["r", "back"], ["e"])
        g.node("Sub", ["d", "e"], ["y"])
        g.node("Softmax", ["y"], ["z"], ["axis": -1])
        g.output("y")
        g.output("z")
        return try g.model()
    }

    private func input(_ seed: Int) throws -> Tensor {
        try Tensor(shape: [64, 1024], scalars: (0..<65_536).map { Float(($0 &* 13 &+ seed) % 29) / 10 - 1.4 })
    }

    func testAPlanCutsItsTensorsFromTheArenaAndGivesThemBack() throws {
        let model = try model()
        let plan = try GraphPlan(graph: model.graph, environment: .init(opsets: ["": 17], functions: [], registry: .standard))
        let arena = try XCTUnwrap(RunArena(capacity: 4 << 20))
        let budget = MemoryBudget(limit: 1 << 30, arena: arena)
        let context = RunContext(lookup: { _ in nil }, options: RunOptions())
        var outputs: [Value]? = try MemoryBudget.$current.withValue(budget) {
            try plan.run(feeds: ["x": .tensor(try input(0))], context: context)
        }
        XCTAssertEqual(arena.fallbackCount, 0)
        XCTAssertEqual(arena.usedBytes, 2 * 65_536 * 4, "only the two outputs are still held")
        for case .tensor(let tensor)? in outputs ?? [] { XCTAssertEqual(tensor.buffer?.isArenaRegion, true) }
        outputs = nil
        XCTAssertEqual(arena.usedBytes, 0)
        XCTAssertEqual(arena.freeRegions.count, 1)
    }

    func testRunsWithAndWithoutTheArenaGiveTheSameBitsAndOutputsOutliveIt() throws {
        var results: [[[String: Tensor]]] = []
        for (arena, threads) in [(false, 1), (true, 1), (true, 2)] {
            var options = SessionOptions()
            options.runArena = arena
            options.threads = threads
            let session = try Session(model: try model(), options: options)
            var runs: [[String: Tensor]] = []
            for round in 0..<4 {
                let outputs = try session.run(["x": try input(round)])
                for tensor in outputs.values { XCTAssertEqual(tensor.buffer?.isArenaRegion, false, "an output left in the arena") }
                runs.append(outputs)
            }
            XCTAssertEqual(session.peakTensorBytes, 3 * 65_536 * 4, "a, b and c, then d over c, y, z over y")
            results.append(runs)
        }
        // Outputs held from the first runs still hold their values after the later runs reused the arena.
        XCTAssertEqual(results[1], results[0])
        XCTAssertEqual(results[2], results[0])
        XCTAssertNotEqual(results[0][0], results[0][1])
    }

    /// The committed real models, run repeatedly at 1 and 2 threads: after a
    /// few runs (the arena grows when one does not fit) every run fits its
    /// arena, and the outputs are the arena-free ones.
    func testRealModelsFitTheirArena() throws {
        for directory in try RealModelTests.cases() {
            let folder = directory.appendingPathComponent("test_data_set_0")
            var feeds: [String: Tensor] = [:]
            var index = 0
            while case let file = folder.appendingPathComponent("input_\(index).pb"),
                FileManager.default.fileExists(atPath: file.path)
            {
                let (name, tensor) = try TensorFiles.read(contentsOf: file)
                feeds[name] = tensor
                index += 1
            }
            let model = try Model(contentsOf: directory.appendingPathComponent("model.onnx"))
            var plain = SessionOptions()
            plain.runArena = false
            let expected = try Session(model: model, options: plain).run(feeds)
            for threads in [1, 2] {
                var options = SessionOptions()
                options.threads = threads
                let session = try Session(model: model, options: options)
                for _ in 0..<4 { XCTAssertEqual(try session.run(feeds), expected, directory.lastPathComponent) }
                let settled = session.arenaFallbacks
                for _ in 0..<3 { XCTAssertEqual(try session.run(feeds), expected, directory.lastPathComponent) }
                XCTAssertEqual(session.arenaFallbacks, settled, "\(directory.lastPathComponent), \(threads) threads")
                XCTAssertLessThanOrEqual(settled, 3, "\(directory.lastPathComponent), \(threads) threads")
            }
        }
    }
}
