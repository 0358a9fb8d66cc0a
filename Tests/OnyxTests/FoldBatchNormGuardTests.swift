import OnyxTesting
import XCTest
@testable import Onyx

/// `fold-batchnorm` guards: each refusal leaves the model unchanged and
/// says why.
final class FoldBatchNormGuardTests: XCTestCase {
    let pass = "fold-batchnorm"
    typealias Fold = FoldBatchNormTests

    func testTrainingModeDeclines() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 3, 4, 4])
        g.node("Conv", ["x", g.random("w", [4, 3, 1, 1], seed: 1)], ["c"])
        g.node("BatchNormalization", ["c"] + Fold.batchNormParameters(&g, channels: 4), ["y"], ["training_mode": 1])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "training_mode = 1")
    }

    func testUsedTrainingOutputsDecline() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 3, 4, 4])
        g.node("Conv", ["x", g.random("w", [4, 3, 1, 1], seed: 1)], ["c"])
        g.node("BatchNormalization", ["c"] + Fold.batchNormParameters(&g, channels: 4),
               ["y", "running_mean", "running_var"], ["training_mode": 1])
        g.output("y", "running_mean")
        assertDoesNotFold(try g.model(), pass: pass, reason: "optional outputs")
    }

    func testSharedProducerDeclines() throws {
        var g = Fold.convBatchNorm()
        g.node("Relu", ["c"], ["r"])
        g.output("r")
        assertDoesNotFold(try g.model(), pass: pass, reason: "has 2 readers")
    }

    func testProducerOutputThatIsAGraphOutputDeclines() throws {
        var g = Fold.convBatchNorm()
        g.output("c")
        assertDoesNotFold(try g.model(), pass: pass, reason: "\"c\" is a graph output")
    }

    func testProducerOutputReadBySubgraphDeclines() throws {
        var branch = GraphBuilder(name: "branch")
        branch.node("Identity", ["c"], ["inner"])
        branch.output("inner")
        var g = Fold.convBatchNorm()
        g.input("flag", [], .bool)
        g.node("If", ["flag"], ["z"], ["then_branch": .graph(branch.currentGraph), "else_branch": .graph(branch.currentGraph)])
        g.output("z")
        assertDoesNotFold(try g.model(), pass: pass, reason: "read by a subgraph")
    }

    func testNonConstantParametersDecline() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 3, 4, 4])
        g.input("scale", [4])
        g.node("Conv", ["x", g.random("w", [4, 3, 1, 1], seed: 1)], ["c"])
        var parameters = Fold.batchNormParameters(&g, channels: 4)
        parameters[0] = "scale"
        g.node("BatchNormalization", ["c"] + parameters, ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "scale \"scale\" is not a constant")
    }

    func testOverridableInitializerIsNotConstant() throws {
        var g = Fold.convBatchNorm()
        g.overridable("bn.var")
        assertDoesNotFold(try g.model(), pass: pass, reason: "var \"bn.var\" is not a constant")
    }

    func testNonConstantWeightDeclines() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 3, 4, 4])
        g.input("w", [4, 3, 1, 1])
        g.node("Conv", ["x", "w"], ["c"])
        g.node("BatchNormalization", ["c"] + Fold.batchNormParameters(&g, channels: 4), ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "weight \"w\" is not a constant")
    }

    func testSpatialZeroDeclines() throws {
        var g = GraphBuilder(opset: 7)
        g.input("x", [2, 3, 4, 4])
        g.node("Conv", ["x", g.random("w", [4, 3, 1, 1], seed: 1)], ["c"])
        let parameters = ["scale", "bias", "mean", "var"].enumerated().map { index, name in
            g.random(name, [4, 4, 4], seed: UInt64(30 + index), in: 0.5...1.5)
        }
        g.node("BatchNormalization", ["c"] + parameters, ["y"], ["spatial": 0])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "spatial = 0")
    }

    func testNonPositiveVarianceDeclines() throws {
        var g = Fold.convBatchNorm(outC: 2)
        g.initializer("bn.var", [0.5, -1])
        assertDoesNotFold(try g.model(), pass: pass, reason: "var + epsilon is not positive")
    }

    func testBatchNormAfterInputOrUnsupportedProducerDeclines() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 4, 3, 3])
        g.node("BatchNormalization", ["x"] + Fold.batchNormParameters(&g, channels: 4), ["y"])
        g.node("Relu", ["y"], ["r"])
        g.node("BatchNormalization", ["r"] + Fold.batchNormParameters(&g, "bn2", channels: 4), ["z"])
        g.output("z")
        let outcome = assertDoesNotFold(try g.model(), pass: pass, reason: "is a graph input")
        XCTAssertTrue(outcome?.report.pass(pass)?.declines.contains { $0.reason.contains("producer Relu") } ?? false)
        XCTAssertEqual(outcome?.report.pass(pass)?.line, "fold-batchnorm: no change, 2 declined")
    }

    func testMatMulOfUnknownRankDeclines() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [3, 5])
        g.node("Shape", ["x"], ["shape"])
        g.node("Reshape", ["x", "shape"], ["r"])
        g.node("MatMul", ["r", g.random("W", [5, 4], seed: 7)], ["m"])
        g.node("BatchNormalization", ["m"] + Fold.batchNormParameters(&g, channels: 4), ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "not known to have rank 2")
    }

    func testGemmWithPerRowBiasDeclines() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [3, 5])
        g.node("Gemm", ["x", g.random("B", [5, 4], seed: 5), g.random("C", [3, 4], seed: 6)], ["g"])
        g.node("BatchNormalization", ["g"] + Fold.batchNormParameters(&g, channels: 4), ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "Gemm C has shape [3, 4]")
    }
}
