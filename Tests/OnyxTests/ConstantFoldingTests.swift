import OnyxTesting
import XCTest
@testable import Onyx

/// `constant-folding`: nodes on constants become initializers, within a size budget.
final class ConstantFoldingTests: XCTestCase {
    let pass = "constant-folding"

    func testConstantNodeAndArithmeticOnConstantsFold() throws {
        var g = GraphBuilder()
        g.input("x", [2, 3])
        g.node("Constant", [], ["c"], ["value": .tensor(try Tensor(shape: [3], scalars: [Float(1), 2, 3]))])
        g.random("d", [3], seed: 1)
        g.node("Mul", ["c", "d"], ["cd"])
        g.node("Add", ["x", "cd"], ["y"])
        g.output("y")
        let outcome = assertFolds(try g.model(), pass: pass, after: ["Constant": 0, "Mul": 0, "Add": 1])
        XCTAssertEqual(outcome?.report.pass(pass)?.actions.first?.count, 2)
        XCTAssertNotNil(outcome?.optimized.graph.constants["cd"])
    }

    func testReshapeOfAWeightFoldsBecauseItFreesTheOriginal() throws {
        var g = GraphBuilder()
        g.input("x", [2, 64])
        g.random("w", [64, 8, 8], seed: 1)
        g.initializer("shape", [64, 64], as: .int64)
        g.node("Reshape", ["w", "shape"], ["w2"])
        g.node("MatMul", ["x", "w2"], ["y"])
        g.output("y")
        assertFolds(try g.model(), pass: pass, after: ["Reshape": 0, "MatMul": 1])
    }

    func testShapeArithmeticOnSharedConstantsFolds() throws {
        var g = GraphBuilder()
        g.input("x", [6, 6])
        g.random("w", [6, 4], seed: 1)
        g.node("Shape", ["w"], ["s"])
        g.node("MatMul", ["x", "w"], ["m"])
        g.node("Reshape", ["m", "s"], ["y"])
        g.output("y")
        assertFolds(try g.model(), pass: pass, after: ["Shape": 0])
    }

    func testInflatingFoldDeclines() throws {
        var g = GraphBuilder()
        g.input("x", [100, 100])
        g.initializer("shape", [100, 100], as: .int64)
        g.node("ConstantOfShape", ["shape"], ["ones"], ["value": .tensor(try Tensor(shape: [1], scalars: [Float(1)]))])
        g.node("Add", ["x", "ones"], ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "bytes freed")
    }

    func testRandomOpsDecline() throws {
        var g = GraphBuilder()
        g.input("x", [2, 3])
        g.node("RandomUniform", [], ["r"], ["shape": [2, 3], "seed": 1.0])
        g.node("Add", ["x", "r"], ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "not deterministic")
    }

    func testGraphOutputsAndOverridableInputsStay() throws {
        var g = GraphBuilder()
        g.input("x", [3])
        g.random("a", [3], seed: 1)
        g.random("b", [3], seed: 2)
        g.overridable("b")
        g.node("Neg", ["a"], ["out"])
        g.node("Add", ["x", "b"], ["sum"])
        g.node("Mul", ["a", "b"], ["ab"])
        g.node("Add", ["sum", "ab"], ["y"])
        g.output("out", "y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "\"out\" is a graph output")
    }
}
