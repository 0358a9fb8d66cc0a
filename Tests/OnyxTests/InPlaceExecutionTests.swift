import Foundation
import OnyxTesting
import XCTest

@testable import Onyx

/// Elementwise kernels writing over an input that dies at their node
/// (`GraphPlan.donors`, `RunContext.donated`): the memory it saves, results
/// bitwise equal to fresh buffers, and no write into a buffer something else
/// still holds (a Reshape's or Identity's input, a constant, a feed).
final class InPlaceExecutionTests: XCTestCase {
    private func session(_ model: Model, limit: Int? = nil, threads: Int = 1, optimize: Bool = false) throws -> Session {
        var options = SessionOptions()
        options.threads = threads
        options.optimize = optimize
        options.memoryLimitBytes = limit
        return try Session(model: model, options: options)
    }

    private func ramp(_ shape: [Int], seed: Int = 0) throws -> Tensor {
        let count = shape.reduce(1, *)
        let values: [Float] = (0..<count).map { index in
            let step: Int = (index &* 29 &+ seed &* 7) % 41
            return Float(step) / 8 - 2.5
        }
        return try Tensor(shape: shape, scalars: values)
    }

    /// A chain of float elementwise nodes on x: every intermediate dies at
    /// the next node, unless `keepAll` makes each a graph output (kept
    /// values are never donated, so that variant runs on fresh buffers).
    private func chain(_ shape: [Int], keepAll: Bool) throws -> Model {
        var g = GraphBuilder(opset: 17)
        g.input("x", shape)
        g.initializer("bias", [0.25, -0.5, 1], shape: [3, 1])
        g.initializer("scale", [1.5], shape: [1])
        g.node("Neg", ["x"], ["a"])
        g.node("Relu", ["a"], ["b"])
        g.node("Sigmoid", ["b"], ["c"])
        g.node("Add", ["c", "bias"], ["d"])
        g.node("Mul", ["scale", "d"], ["e"])
        g.node("Softmax", ["e"], ["f"], ["axis": -1])
        g.node("LogSoftmax", ["f"], ["g"], ["axis": -1])
        g.node("Tanh", ["g"], ["y"])
        g.output("y")
        if keepAll { for name in ["a", "b", "c", "d", "e", "f", "g"] { g.output(name) } }
        return try g.model()
    }

    func testAChainOfElementwiseNodesFitsInOneIntermediateBuffer() throws {
        let shape = [2, 3, 65_536 + 37]
        let bytes = shape.reduce(4, *)
        let x = try ramp(shape)
        let fresh = try session(try chain(shape, keepAll: true))
        XCTAssertEqual(fresh.peakTensorBytes, 0)
        let expected = try fresh.run(["x": x])
        XCTAssertEqual(fresh.peakTensorBytes, 8 * bytes, "eight values of the run stay live as outputs")
        let inPlace = try session(try chain(shape, keepAll: false))
        XCTAssertEqual(try inPlace.run(["x": x])["y"], expected["y"])
        XCTAssertEqual(inPlace.peakTensorBytes, bytes, "every node after the first wrote over its input")
        // Fresh buffers would hold two intermediates at once; in place, one
        // (the output is written over it) fits under 1.5 of them.
        for threads in [1, 2] {
            let result = try session(try chain(shape, keepAll: false), limit: bytes * 3 / 2, threads: threads).run(["x": x])
            XCTAssertEqual(result["y"], expected["y"], "threads \(threads)")
        }
        XCTAssertThrowsError(try session(try chain(shape, keepAll: true), limit: bytes * 3 / 2).run(["x": x]))
        XCTAssertEqual(x, try ramp(shape), "the feed was written")
    }

    func testBroadcastOperandsAreNeverOverwritten() throws {
        // The small operand is made by a node and dies at the Sub, but only
        // an operand the size of the output may take the result.
        var g = GraphBuilder(opset: 17)
        g.input("big", [4, 3, 40])
        g.input("small", [3, 1])
        g.node("Neg", ["small"], ["s"])
        g.node("Exp", ["big"], ["b"])
        g.node("Sub", ["s", "b"], ["d"])
        g.node("Add", ["d", "b"], ["y"])
        g.output("y")
        let big = try ramp([4, 3, 40])
        let small = try ramp([3, 1], seed: 5)
        let y = try XCTUnwrap(try session(try g.model()).run(["big": big, "small": small])["y"]).scalars(as: Float.self)
        let b = try big.scalars(as: Float.self)
        let s = try small.scalars(as: Float.self).map { -$0 }
        for i in 0..<b.count {
            let row = (i / 40) % 3
            let e = Float(exp(Double(b[i])))
            XCTAssertEqual(y[i], (s[row] - e) + e, accuracy: 1e-4, "element \(i)")
        }
    }

    func testAReshapedValueStillReadElsewhereIsNotOverwritten() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [6, 5])
        g.initializer("flat", [30], shape: [1], as: .int64)
        g.node("Neg", ["x"], ["a"])
        g.node("Reshape", ["a", "flat"], ["r"])
        g.node("Relu", ["r"], ["b"])  // r dies here, but shares a's buffer
        g.node("Shape", ["a"], ["shape"])
        g.node("Reshape", ["b", "shape"], ["c"])
        g.node("Add", ["a", "c"], ["y"])
        g.output("y")
        let x = try ramp([6, 5])
        for optimize in [false, true] {
            let y = try XCTUnwrap(try session(try g.model(), optimize: optimize).run(["x": x])["y"]).scalars(as: Float.self)
            XCTAssertEqual(y, try x.scalars(as: Float.self).map { -$0 + max(-$0, 0) }, "optimize \(optimize)")
        }
    }

    func testConstantsAndFeedsAreNeverOverwritten() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [8])
        g.initializer("c", (0..<8).map { Double($0) - 3.5 }, shape: [8])
        g.node("Identity", ["c"], ["i"])
        g.node("Neg", ["i"], ["n"])
        g.node("Identity", ["x"], ["j"])
        g.node("Abs", ["j"], ["m"])
        g.node("Add", ["n", "m"], ["y"])
        g.output("y")
        let session = try session(try g.model())
        let x = try ramp([8])
        let first = try session.run(["x": x])
        XCTAssertEqual(try session.run(["x": x]), first, "a second run saw a changed constant")
        XCTAssertEqual(x, try ramp([8]), "the feed was written")
        let xs = try x.scalars(as: Float.self)
        let expected = (0..<8).map { 3.5 - Float($0) + abs(xs[$0]) }
        XCTAssertEqual(try XCTUnwrap(first["y"]).scalars(as: Float.self), expected)
    }

    func testOnlyAValuesLastReaderWhateverTheScheduleIsADonor() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [4096])
        g.node("Neg", ["x"], ["a"])  // x: a feed
        g.node("Relu", ["a"], ["b"])  // a: read here only
        g.node("Add", ["b", "b"], ["c"])  // b: read twice by this step
        g.node("Sigmoid", ["c"], ["d"])  // c: read again by the Mul
        g.node("Mul", ["c", "d"], ["e"])  // c: the Sigmoid ran before (it made d); d: read here only
        g.node("Abs", ["e"], ["f"])  // e: also read by the Neg, which may run at the same time
        g.node("Neg", ["e"], ["g"])  // the same, the other way round
        g.node("Sub", ["f", "g"], ["y"])
        g.node("Tanh", ["y"], ["z"])  // y: a graph output
        g.output("y")
        g.output("z")
        let model = try g.model()
        let plan = try GraphPlan(graph: model.graph, environment: .init(opsets: ["": 17], functions: [], registry: .standard))
        XCTAssertEqual(plan.donors, [[], [0], [], [], [0, 1], [], [], [0, 1], []])
        let x = try ramp([4096])
        let expected = try session(model).run(["x": x])
        for _ in 0..<20 {
            XCTAssertEqual(try session(model, threads: 2).run(["x": x]), expected)
        }
    }
}
