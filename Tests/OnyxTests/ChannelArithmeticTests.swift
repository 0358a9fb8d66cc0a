import OnyxTesting
import XCTest
@testable import Onyx

/// `fold-channel-arithmetic` and `batchnorm-to-affine`.
final class ChannelArithmeticTests: XCTestCase {
    let pass = "fold-channel-arithmetic"

    /// x [2, 3, 5, 5] → Conv (4 channels) → `op`(c, k) or `op`(k, c) → y, with k of `shape`.
    static func convThen(_ op: String, constant shape: [Int], constantFirst: Bool = false, group: Int = 1) -> GraphBuilder {
        var g = GraphBuilder(opset: 17)
        g.input("x", [2, 4, 5, 5])
        g.node("Conv", ["x", g.random("w", [4, 4 / group, 3, 3], seed: 1), g.random("b", [4], seed: 2)], ["c"],
               ["group": .int(group), "pads": [1, 1, 1, 1]])
        g.random("k", shape, seed: 3, in: 0.5...2)
        g.node(op, constantFirst ? ["k", "c"] : ["c", "k"], ["y"])
        g.output("y")
        return g
    }

    func testEveryOperatorFoldsIntoConv() throws {
        for op in ["Mul", "Add", "Sub", "Div"] {
            for shape in [[4, 1, 1], [1, 4, 1, 1], [1], []] {
                let outcome = assertFolds(try Self.convThen(op, constant: shape).model(), pass: pass, after: [op: 0, "Conv": 1])
                XCTAssertNotNil(outcome, "\(op) \(shape)")
                XCTAssertEqual(outcome?.optimized.graph.nodes.first?.outputs, ["y"])
            }
        }
    }

    func testCommutedMulAndAddFoldIntoDepthwiseConv() throws {
        assertFolds(try Self.convThen("Mul", constant: [4, 1, 1], constantFirst: true, group: 4).model(), pass: pass, after: ["Mul": 0])
        assertFolds(try Self.convThen("Add", constant: [4, 1, 1], constantFirst: true).model(), pass: pass, after: ["Add": 0])
    }

    func testGemmAndMatMul() throws {
        for op in ["Mul", "Add", "Div"] {
            var g = GraphBuilder(opset: 17)
            g.input("x", [3, 5])
            g.node("Gemm", ["x", g.random("B", [4, 5], seed: 1), g.random("C", [4], seed: 2)], ["g"], ["transB": 1, "beta": 0.5])
            g.node(op, ["g", g.random("k", [1, 4], seed: 3, in: 0.5...2)], ["y"])
            g.output("y")
            assertFolds(try g.model(), pass: pass, after: [op: 0, "Gemm": 1])
        }
        var g = GraphBuilder(opset: 17)
        g.input("x", [3, 5])
        g.node("MatMul", ["x", g.random("W", [5, 4], seed: 1)], ["m"])
        g.node("Add", ["m", g.random("k", [4], seed: 3)], ["y"])
        g.output("y")
        assertFolds(try g.model(), pass: pass, after: ["Add": 0, "MatMul": 0, "Gemm": 1])
    }

    func testConvBatchNormAsMulAndAddFoldsCompletely() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [2, 4, 5, 5])
        g.node("Conv", ["x", g.random("w", [4, 4, 3, 3], seed: 1)], ["c"])
        g.node("Mul", ["c", g.random("s", [4, 1, 1], seed: 3)], ["scaled"])
        g.node("Add", ["scaled", g.random("t", [1, 4, 1, 1], seed: 4)], ["y"])
        g.output("y")
        assertFolds(try g.model(), pass: pass, after: ["Mul": 0, "Add": 0, "Conv": 1])
    }

    func testNonChannelConstantDeclines() throws {
        assertDoesNotFold(try Self.convThen("Mul", constant: [5]).model(), pass: pass, reason: "is not per-channel")
        assertDoesNotFold(try Self.convThen("Add", constant: [1, 4, 5, 5]).model(), pass: pass, reason: "is not per-channel")
        assertDoesNotFold(try Self.convThen("Mul", constant: [1, 1, 4, 1, 1]).model(), pass: pass, reason: "more than the output's")
    }

    func testConstantMinuendOrDividendDeclines() throws {
        assertDoesNotFold(try Self.convThen("Sub", constant: [4, 1, 1], constantFirst: true).model(), pass: pass,
                          reason: "first operand of Sub")
        assertDoesNotFold(try Self.convThen("Div", constant: [4, 1, 1], constantFirst: true).model(), pass: pass,
                          reason: "first operand of Div")
    }

    func testDivisionByZeroDeclines() throws {
        var g = Self.convThen("Div", constant: [4, 1, 1])
        g.initializer("k", [1, 0, 2, 3], shape: [4, 1, 1])
        assertDoesNotFold(try g.model(), pass: pass, reason: "zero")
    }

    func testSharedProducerAndOverridableConstantDecline() throws {
        var shared = Self.convThen("Mul", constant: [4, 1, 1])
        shared.output("c")
        assertDoesNotFold(try shared.model(), pass: pass, reason: "\"c\" is a graph output")
        var overridable = Self.convThen("Mul", constant: [4, 1, 1])
        overridable.overridable("k")
        assertDoesNotFold(try overridable.model(), pass: pass)
    }

    func testBatchNormThatCannotFoldBecomesMulAndAdd() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 3, 4, 4])
        g.input("x2", [2, 1, 4, 4])
        g.node("Concat", ["x", "x2"], ["cat"], ["axis": 1])
        g.node("BatchNormalization", ["cat"] + FoldBatchNormTests.batchNormParameters(&g, channels: 4), ["y"])
        g.output("y")
        XCTAssertEqual(try Optimizer().optimize(g.model()).report.pass("batchnorm-to-affine")?.line, "batchnorm-to-affine: disabled")
        let outcome = assertFolds(
            try g.model(), enable: ["batchnorm-to-affine"], after: ["BatchNormalization": 0, "Mul": 1, "Add": 1])
        let report = outcome?.report
        XCTAssertEqual(report?.pass("fold-batchnorm")?.declines.first?.reason.contains("producer Concat"), true)
        XCTAssertEqual(report?.pass("batchnorm-to-affine")?.line,
                       "batchnorm-to-affine: 1 BatchNormalization rewritten as Mul and Add, 0 declined")
        XCTAssertEqual(outcome?.optimized.graph.constants["y_scale"]?.shape, [4, 1, 1])
    }

    func testBatchNormOfUnknownRankOrFloat16StaysBatchNorm() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", dims: [.symbolic("n"), .known(3)], .float16)
        g.node("BatchNormalization", ["x"] + FoldBatchNormTests.batchNormParameters(&g, channels: 3), ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: "batchnorm-to-affine", reason: "not known to be float or double")
        var h = GraphBuilder(opset: 15)
        h.input("x", [2, 3, 2])
        h.node("Shape", ["x"], ["shape"])
        h.node("Reshape", ["x", "shape"], ["r"])
        h.node("BatchNormalization", ["r"] + FoldBatchNormTests.batchNormParameters(&h, channels: 3), ["y"])
        h.output("y")
        assertDoesNotFold(try h.model(), pass: "batchnorm-to-affine", reason: "rank of X")
    }

    func testOpset6UsesLegacyBroadcasting() throws {
        var g = GraphBuilder(opset: 6)
        g.input("x", [2, 3, 4, 4])
        g.node("BatchNormalization", ["x"] + FoldBatchNormTests.batchNormParameters(&g, channels: 3), ["y"], ["is_test": 1])
        g.output("y")
        let outcome = assertFolds(try g.model(), pass: "batchnorm-to-affine", after: ["BatchNormalization": 0, "Mul": 1])
        XCTAssertEqual(outcome?.optimized.graph.nodes.first?.attribute("broadcast")?.value, .int(1))
        var h = GraphBuilder(opset: 6)
        h.input("x", [2, 3, 4, 4])
        h.node("Conv", ["x", h.random("w", [4, 3, 1, 1], seed: 1)], ["c"])
        h.node("Mul", ["c", h.random("k", [4], seed: 2)], ["y"], ["broadcast": 1, "axis": 1])
        h.output("y")
        assertDoesNotFold(try h.model(), pass: pass, reason: "legacy broadcasting")
    }
}
