import Foundation
import OnyxTesting
import XCTest

@testable import Onyx

/// Independent nodes running at once (`GraphPlan.runLanes`): the dependency
/// counts, results equal to one-after-another runs, values released once
/// their last reader ran, and failures reported from the failing node.
final class InterOpSchedulingTests: XCTestCase {
    /// `branches` independent chains of MatMul + Relu (+ a Tanh) on x, an If
    /// in the first branch reading a value from the second, all joined by a Concat.
    private func branchyModel(branches: Int, size: Int) throws -> Model {
        var g = GraphBuilder(opset: 17)
        g.input("x", [size, size])
        g.input("flag", [], .bool)
        var joined: [String] = []
        for branch in 0..<branches {
            g.random("w\(branch)", [size, size], seed: UInt64(branch) &+ 1)
            g.node("MatMul", ["x", "w\(branch)"], ["p\(branch)"])
            g.node("Relu", ["p\(branch)"], ["r\(branch)"])
            g.node("MatMul", ["r\(branch)", "w\(branch)"], ["q\(branch)"])
            g.node("Tanh", ["q\(branch)"], ["t\(branch)"])
            joined.append("t\(branch)")
        }
        var then = GraphBuilder(name: "then")
        then.node("Add", ["t0", "r1"], ["picked"])
        then.output("picked")
        var otherwise = GraphBuilder(name: "otherwise")
        otherwise.node("Sub", ["t0", "r1"], ["picked"])
        otherwise.output("picked")
        g.node("If", ["flag"], ["chosen"], ["then_branch": .graph(then.currentGraph), "else_branch": .graph(otherwise.currentGraph)])
        g.node("Concat", joined + ["chosen"], ["y"], ["axis": 0])
        g.output("y")
        return try g.model()
    }

    private func plan(_ model: Model) throws -> GraphPlan {
        try GraphPlan(graph: model.graph, environment: .init(opsets: ["": 17], functions: [], registry: .standard))
    }

    private func feeds(size: Int, flag: Bool, seed: Int) throws -> [String: Tensor] {
        let values = (0..<size * size).map { Float(($0 &* 37 &+ seed &* 11) % 23) / 23 - 0.5 }
        return ["x": try Tensor(shape: [size, size], scalars: values), "flag": Tensor(scalar: flag)]
    }

    func testDependencyCountsAndWidth() throws {
        let dependencies = try plan(try branchyModel(branches: 3, size: 4)).dependencies
        // Per branch MatMul, Relu, MatMul, Tanh; then If, Concat (the optimizer did not run).
        XCTAssertEqual(dependencies.waitCounts, [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 2, 4])
        XCTAssertEqual(dependencies.widest, 3)
        XCTAssertEqual(dependencies.dependents[3], [12, 13], "the first Tanh feeds the If's body and the Concat")
        XCTAssertTrue(dependencies.dependents[5].contains(12), "the If reads the second branch's Relu")
        var chain = GraphBuilder(opset: 17)
        chain.input("x", [2])
        chain.node("Relu", ["x"], ["a"])
        chain.node("Neg", ["a"], ["b"])
        chain.node("Abs", ["b"], ["c"])
        chain.output("c")
        XCTAssertEqual(try plan(try chain.model()).dependencies.widest, 1)
    }

    func testLanesGiveTheOneAfterAnotherResultsBitwise() throws {
        let model = try branchyModel(branches: 4, size: 96)
        var runs: [[String: Tensor]] = []
        for (threads, interOp) in [(1, false), (2, false), (2, true), (4, true)] {
            var options = SessionOptions()
            options.threads = threads
            options.interOpParallelism = interOp
            let session = try Session(model: model, options: options)
            for round in 0..<6 {
                let outputs = try session.run(try feeds(size: 96, flag: round % 2 == 0, seed: round))
                if runs.count <= round { runs.append(outputs) } else {
                    XCTAssertEqual(outputs, runs[round], "threads \(threads), inter-op \(interOp), round \(round)")
                }
            }
        }
    }

    func testIndependentBranchesRunOnMoreThanOneThread() throws {
        guard Gemm.activeCores > 1 else { throw XCTSkip("one active core: no second lane") }
        let model = try branchyModel(branches: 4, size: 256)
        var options = SessionOptions()
        options.threads = 2
        let session = try Session(model: model, options: options)
        var threads = Set<Int>()
        for round in 0..<10 where threads.count < 2 {
            let profiler = Profiler()
            _ = try session.runValues(try feeds(size: 256, flag: true, seed: round).mapValues { .tensor($0) }, profiler: profiler)
            threads.formUnion(profiler.events.filter { $0.category == "MatMul" }.map(\.thread))
        }
        XCTAssertGreaterThan(threads.count, 1, "no two MatMul nodes ran on different threads in 10 runs")
    }

    func testValuesAreReleasedAfterTheirLastReaderOnLanes() throws {
        let plan = try plan(try branchyModel(branches: 3, size: 4))
        let dependencies = plan.dependencies
        let schedule = LaneSchedule(dependencies)
        var released: [Int] = []
        var order: [Int] = []
        while let claim = schedule.claim() {
            guard let index = claim else { return XCTFail("nothing ready while steps remain") }
            order.append(index)
            released += schedule.finish(index, failure: nil, dependencies: dependencies)
        }
        XCTAssertEqual(order.count, plan.steps.count)
        let output = try XCTUnwrap(plan.slotOf["y"])
        XCTAssertFalse(released.contains(output), "the graph output stays")
        for name in ["p0", "r0", "q0", "t0", "r1", "t2", "chosen", "x", "w0"] {
            XCTAssertTrue(released.contains(try XCTUnwrap(plan.slotOf[name])), "\(name) was not released")
        }
        XCTAssertEqual(released.count, Set(released).count, "a slot released twice")
    }

    func testAFailingBranchNamesItsNodeAndStopsTheRun() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [64, 64])
        g.random("w", [64, 64], seed: 3)
        g.initializer("bad", [5, 7], shape: [2], as: .int64)
        g.node("MatMul", ["x", "w"], ["a"])
        g.node("Relu", ["a"], ["b"])
        g.node("Reshape", ["x", "bad"], ["c"], name: "broken_reshape")
        g.node("Neg", ["c"], ["d"])
        g.node("Concat", ["b", "d"], ["y"], ["axis": 0])
        g.output("y")
        var options = SessionOptions()
        options.threads = 2
        options.optimize = false
        let session = try Session(model: try g.model(), options: options)
        XCTAssertGreaterThan(try plan(try g.model()).dependencies.widest, 1)
        let x = try Tensor(shape: [64, 64], scalars: [Float](repeating: 0.5, count: 64 * 64))
        for _ in 0..<5 {
            XCTAssertThrowsError(try session.run(["x": x])) { error in
                XCTAssertTrue("\(error)".contains("broken_reshape"), "\(error)")
            }
        }
    }
}
