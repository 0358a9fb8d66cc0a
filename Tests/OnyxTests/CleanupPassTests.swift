import OnyxTesting
import XCTest
@testable import Onyx

/// `eliminate-identity` and `dead-code`.
final class CleanupPassTests: XCTestCase {
    /// x → Relu → a → `op` → b → Sigmoid → y.
    static func chain(_ op: String, opset: Int = 15, extra: [String] = [], outputs: [String] = ["b"],
                      _ attributes: KeyValuePairs<String, AttributeLiteral> = [:]) -> GraphBuilder {
        var g = GraphBuilder(opset: opset)
        g.input("x", [2, 3])
        g.node("Relu", ["x"], ["a"])
        g.node(op, ["a"] + extra, outputs, attributes)
        g.node("Sigmoid", ["b"], ["y"])
        g.output("y")
        return g
    }

    func testIdentityIsRemoved() throws {
        let outcome = assertFolds(try Self.chain("Identity").model(), pass: "eliminate-identity", after: ["Identity": 0])
        XCTAssertEqual(outcome?.optimized.graph.nodes.last?.inputs, ["a"])
    }

    func testIdentityBeforeAGraphOutputRenamesItsProducer() throws {
        var g = GraphBuilder()
        g.input("x", [2, 3])
        g.node("Relu", ["x"], ["a"])
        g.node("Identity", ["a"], ["y"])
        g.output("y")
        let outcome = assertFolds(try g.model(), pass: "eliminate-identity", after: ["Identity": 0, "Relu": 1])
        XCTAssertEqual(outcome?.optimized.graph.nodes.first?.outputs, ["y"])
    }

    func testInferenceDropoutIsRemovedAtEveryOpset() throws {
        assertFolds(try Self.chain("Dropout", opset: 6, ["is_test": 1]).model(), pass: "eliminate-identity", after: ["Dropout": 0])
        assertFolds(try Self.chain("Dropout", opset: 10, ["ratio": 0.3]).model(), pass: "eliminate-identity", after: ["Dropout": 0])
        var g = Self.chain("Dropout", opset: 13, extra: ["ratio", "training"])
        g.initializer("ratio", [0.5])
        g.initializer("training", try Tensor(shape: [], scalars: [false]))
        assertFolds(try g.model(), pass: "eliminate-identity", after: ["Dropout": 0])
    }

    func testIdentityBetweenGraphInputAndOutputDeclines() throws {
        var g = GraphBuilder()
        g.input("x", [2])
        g.node("Identity", ["x"], ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: "eliminate-identity", reason: "\"x\" is a graph input")
    }

    func testIdentityToAnOutputFromASharedValueDeclines() throws {
        var g = GraphBuilder()
        g.input("x", [2])
        g.node("Relu", ["x"], ["a"])
        g.node("Identity", ["a"], ["y"])
        g.output("y", "a")
        assertDoesNotFold(try g.model(), pass: "eliminate-identity", reason: "\"a\" is a graph output")
    }

    func testDropoutWithMaskOrTrainingInputDeclines() throws {
        var masked = Self.chain("Dropout", opset: 13, outputs: ["b", "mask"])
        masked.output("mask")
        assertDoesNotFold(try masked.model(), pass: "eliminate-identity", reason: "mask output is used")
        var training = Self.chain("Dropout", opset: 13, extra: ["ratio", "training"])
        training.initializer("ratio", [0.0])
        training.input("training", [], .bool)
        assertDoesNotFold(try training.model(), pass: "eliminate-identity", reason: "is not a constant false")
    }

    func testIdentityReadBySubgraphDeclines() throws {
        var branch = GraphBuilder(name: "branch")
        branch.node("Neg", ["b"], ["inner"])
        branch.output("inner")
        var g = Self.chain("Identity")
        g.input("flag", [], .bool)
        g.node("If", ["flag"], ["z"], ["then_branch": .graph(branch.currentGraph), "else_branch": .graph(branch.currentGraph)])
        g.output("z")
        assertDoesNotFold(try g.model(), pass: "eliminate-identity", reason: "read by a subgraph")
    }

    func testDeadNodesAndInitializersAreRemoved() throws {
        var g = GraphBuilder()
        g.input("x", [2, 3])
        g.random("unused", [3], seed: 1)
        g.random("w", [3], seed: 2)
        g.node("Add", ["x", "w"], ["dead1"])
        g.node("Neg", ["dead1"], ["dead2"])
        g.node("Relu", ["x"], ["y"])
        g.output("y")
        let outcome = assertFolds(try g.model(), pass: "dead-code", after: ["Add": 0, "Neg": 0, "Relu": 1])
        XCTAssertTrue(outcome?.optimized.graph.constants.isEmpty ?? false)
        XCTAssertEqual(outcome?.report.pass("dead-code")?.line,
                       "dead-code: 2 unused nodes removed, 2 unused initializers removed, 0 declined")
    }

    func testDeadCodeKeepsOverridableInitializersAndSubgraphReads() throws {
        var branch = GraphBuilder(name: "branch")
        branch.node("Neg", ["captured"], ["inner"])
        branch.output("inner")
        var g = GraphBuilder()
        g.input("x", [2])
        g.input("flag", [], .bool)
        g.random("default", [2], seed: 1)
        g.overridable("default")
        g.node("Relu", ["x"], ["captured"])
        g.node("If", ["flag"], ["y"], ["then_branch": .graph(branch.currentGraph), "else_branch": .graph(branch.currentGraph)])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: "dead-code")
    }

    func testDeadCodeInsideSubgraphs() throws {
        var branch = GraphBuilder(name: "branch")
        branch.node("Neg", ["x"], ["unused"])
        branch.node("Abs", ["x"], ["inner"])
        branch.output("inner")
        var g = GraphBuilder()
        g.input("x", [2])
        g.input("flag", [], .bool)
        g.node("If", ["flag"], ["y"], ["then_branch": .graph(branch.currentGraph), "else_branch": .graph(branch.currentGraph)])
        g.output("y")
        assertFolds(try g.model(), pass: "dead-code", before: ["Neg": 2], after: ["Neg": 0, "Abs": 2])
    }
}
