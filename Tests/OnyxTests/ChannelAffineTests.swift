import OnyxTesting
import XCTest
@testable import Onyx

/// `batchnorm-to-channel-affine`, `fold-affine-forward` and `fuse-matmul-add`.
final class ChannelAffineTests: XCTestCase {
    /// x [2, C, 5, 5] (a graph input, so the BN cannot fold backward) → BN → b.
    static func inputBatchNorm(_ g: inout GraphBuilder, channels: Int = 4, shift: Bool = true) {
        g.input("x", [2, channels, 5, 5])
        g.random("s", [channels], seed: 11, in: 0.5...1.5)
        if shift { g.random("B", [channels], seed: 12) } else { g.initializer("B", [Double](repeating: 0, count: channels)) }
        if shift { g.random("mean", [channels], seed: 13) } else { g.initializer("mean", [Double](repeating: 0, count: channels)) }
        g.random("var", [channels], seed: 14, in: 0.5...2)
        g.node("BatchNormalization", ["x", "s", "B", "mean", "var"], ["b"], ["epsilon": 1e-3])
    }

    func testUnfoldableBatchNormBecomesChannelAffineWithRelu() throws {
        var g = GraphBuilder(opset: 17)
        g.input("a", [1, 3, 6, 6])
        g.input("c", [1, 5, 6, 6])
        g.node("Concat", ["a", "c"], ["cat"], ["axis": 1])
        g.random("s", [8], seed: 1, in: 0.5...1.5)
        g.random("B", [8], seed: 2)
        g.random("mean", [8], seed: 3)
        g.random("var", [8], seed: 4, in: 0.5...2)
        g.node("BatchNormalization", ["cat", "s", "B", "mean", "var"], ["bn"])
        g.node("Relu", ["bn"], ["r"])
        g.node("Conv", ["r", g.random("w", [4, 8, 3, 3], seed: 5)], ["y"], ["pads": [1, 1, 1, 1]])
        g.output("y")
        let outcome = assertFolds(try g.model(), after: ["BatchNormalization": 0, "Relu": 0, "ChannelAffine": 1, "Conv": 1])
        let affine = outcome?.optimized.graph.nodes.first { $0.opType == "ChannelAffine" }
        XCTAssertEqual(affine?.attribute("activation")?.value, .string(Array("Relu".utf8)))
        // Written in standard ops, it is a BatchNormalization again, then the Relu.
        XCTAssertEqual(outcome?.lowered.map { OptimizerAssertions.opCounts($0.graph) }?["BatchNormalization"], 1)
        XCTAssertEqual(outcome?.lowered.map { OptimizerAssertions.opCounts($0.graph) }?["Relu"], 1)
    }

    func testChannelAffinePassAloneAndItsGuards() throws {
        var g = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&g)
        g.output("b")
        assertFolds(try g.model(), pass: "batchnorm-to-channel-affine", after: ["BatchNormalization": 0, "ChannelAffine": 1])
        var d = GraphBuilder(opset: 17)
        d.input("x", [2, 3, 4], .double)
        for (name, seed) in [("s", 1), ("B", 2), ("mean", 3)] { d.random(name, [3], seed: UInt64(seed), as: .double) }
        d.random("var", [3], seed: 4, in: 0.5...1, as: .double)
        d.node("BatchNormalization", ["x", "s", "B", "mean", "var"], ["y"])
        d.output("y")
        assertDoesNotFold(try d.model(), pass: "batchnorm-to-channel-affine", reason: "not known to be float")
        var t = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&t)
        t.node("Identity", ["b"], ["y"])
        t.output("y")
        var training = try t.model()
        training.graph.nodes[0].attributes.append(Attribute(name: "training_mode", value: .int(1)))
        assertDoesNotFold(training, pass: "batchnorm-to-channel-affine", reason: "training_mode")
    }

    func testForwardFoldIntoConvPlainGroupedAndDepthwise() throws {
        for group in [1, 2, 4] {
            var g = GraphBuilder(opset: 17)
            Self.inputBatchNorm(&g)
            g.node("Conv", ["b", g.random("w", [8, 4 / group, 3, 3], seed: 5), g.random("cb", [8], seed: 6)], ["y"],
                   ["group": .int(group)])
            g.output("y")
            // The pipeline: BN → ChannelAffine → folded into the Conv.
            XCTAssertNotNil(assertFolds(try g.model(), after: ["BatchNormalization": 0, "ChannelAffine": 0, "Conv": 1]), "group \(group)")
            // The pass alone folds the BatchNormalization itself.
            XCTAssertNotNil(assertFolds(try g.model(), pass: "fold-affine-forward", after: ["BatchNormalization": 0, "Conv": 1]))
        }
    }

    func testPaddingDeclinesWithShiftAndFoldsWithout() throws {
        var g = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&g)
        g.node("Conv", ["b", g.random("w", [3, 4, 3, 3], seed: 5)], ["y"], ["pads": [1, 1, 1, 1]])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: "fold-affine-forward", reason: "padding with a non-zero shift is not foldable")
        var same = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&same)
        same.node("Conv", ["b", same.random("w", [3, 4, 3, 3], seed: 5)], ["y"], ["auto_pad": "SAME_UPPER"])
        same.output("y")
        assertDoesNotFold(try same.model(), pass: "fold-affine-forward", reason: "auto_pad SAME_UPPER")
        var zero = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&zero, shift: false)
        zero.node("Conv", ["b", zero.random("w", [3, 4, 3, 3], seed: 5)], ["y"], ["pads": [1, 1, 1, 1]])
        zero.output("y")
        assertFolds(try zero.model(), pass: "fold-affine-forward", after: ["BatchNormalization": 0, "Conv": 1])
    }

    func testForwardFoldIntoGemmAndMatMul() throws {
        for transB in [0, 1] {
            var g = GraphBuilder(opset: 17)
            g.input("x", [3, 6])
            for (name, seed) in [("B", 2), ("mean", 3)] { g.random(name, [6], seed: UInt64(seed)) }
            g.random("s", [6], seed: 1, in: 0.5...1.5)
            g.random("var", [6], seed: 4, in: 0.5...2)
            g.node("BatchNormalization", ["x", "s", "B", "mean", "var"], ["b"])
            g.node("Gemm", ["b", g.random("W", transB == 1 ? [5, 6] : [6, 5], seed: 5), g.random("C", [5], seed: 6)], ["y"],
                   ["transB": .int(transB), "alpha": 0.7, "beta": 1.3])
            g.output("y")
            XCTAssertNotNil(assertFolds(try g.model(), after: ["ChannelAffine": 0, "BatchNormalization": 0, "Gemm": 1]), "transB \(transB)")
        }
        var m = GraphBuilder(opset: 17)
        m.input("x", [3, 6])
        for (name, seed) in [("B", 2), ("mean", 3)] { m.random(name, [6], seed: UInt64(seed)) }
        m.random("s", [6], seed: 1, in: 0.5...1.5)
        m.random("var", [6], seed: 4, in: 0.5...2)
        m.node("BatchNormalization", ["x", "s", "B", "mean", "var"], ["b"])
        m.node("MatMul", ["b", m.random("W", [6, 5], seed: 5)], ["y"])
        m.output("y")
        assertFolds(try m.model(), after: ["ChannelAffine": 0, "BatchNormalization": 0, "MatMul": 0, "Gemm": 1])
    }

    func testForwardFoldGuards() throws {
        var shared = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&shared)
        shared.node("Conv", ["b", shared.random("w", [3, 4, 1, 1], seed: 5)], ["y"])
        shared.node("Conv", ["b", shared.random("w2", [3, 4, 1, 1], seed: 6)], ["z"])
        shared.output("y", "z")
        assertDoesNotFold(try shared.model(), pass: "fold-affine-forward", reason: "has 2 readers")
        var output = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&output)
        output.node("Conv", ["b", output.random("w", [3, 4, 1, 1], seed: 5)], ["y"])
        output.output("y", "b")
        assertDoesNotFold(try output.model(), pass: "fold-affine-forward", reason: "is a graph output")
        var rank3 = GraphBuilder(opset: 17)
        rank3.input("x", [2, 6, 6])
        for (name, seed) in [("B", 2), ("mean", 3)] { rank3.random(name, [6], seed: UInt64(seed)) }
        rank3.random("s", [6], seed: 1, in: 0.5...1.5)
        rank3.random("var", [6], seed: 4, in: 0.5...2)
        rank3.node("BatchNormalization", ["x", "s", "B", "mean", "var"], ["b"])
        rank3.node("MatMul", ["b", rank3.random("W", [6, 5], seed: 5)], ["y"])
        rank3.output("y")
        assertDoesNotFold(try rank3.model(), pass: "fold-affine-forward", reason: "not known to have rank 2")
    }

    func testFuseMatMulAddAndGuards() throws {
        let pass = "fuse-matmul-add"
        for (shape, aShape) in [([7], [4, 5]), ([1, 7], [2, 4, 5]), ([1], [4, 5]), ([1, 1, 7], [2, 4, 5])] {
            var g = GraphBuilder(opset: 17)
            g.input("x", aShape)
            g.node("MatMul", ["x", g.random("W", [5, 7], seed: 1)], ["m"])
            g.node("Add", ["m", g.random("c", shape, seed: 2)], ["y"])
            g.output("y")
            XCTAssertNotNil(assertFolds(try g.model(), pass: pass, after: ["MatMul": 0, "Add": 0, "FusedMatMul": 1]), "\(shape)")
        }
        func model(bias: [Int] = [7], aShape: [Int] = [4, 5], weightInput: Bool = false, extra: ((inout GraphBuilder) -> Void)? = nil) throws -> Model {
            var g = GraphBuilder(opset: 17)
            g.input("x", aShape)
            if weightInput { g.input("W", [5, 7]) } else { g.random("W", [5, 7], seed: 1) }
            g.node("MatMul", ["x", "W"], ["m"])
            g.node("Add", ["m", g.random("c", bias, seed: 2)], ["y"])
            g.output("y")
            extra?(&g)
            return try g.model()
        }
        assertDoesNotFold(try model(weightInput: true), pass: pass, reason: "is not a constant 2-D float initializer")
        assertDoesNotFold(try model(bias: [4, 7]), pass: pass, reason: "not a vector along the last axis")
        assertDoesNotFold(try model(bias: [1, 1, 7]), pass: pass, reason: "may broadcast the MatMul output")
        assertDoesNotFold(try model { $0.output("m") }, pass: pass, reason: "is a graph output")
        assertDoesNotFold(try model { g in
            g.node("Relu", ["m"], ["r"])
            g.output("r")
        }, pass: pass, reason: "has 2 readers")
    }

    /// Whole pipeline, written back in standard ops: no ai.onyx node is left.
    func testStandardOpOutputHasNoCustomOps() throws {
        var g = GraphBuilder(opset: 17)
        Self.inputBatchNorm(&g)
        g.node("Relu", ["b"], ["r"])
        g.node("Conv", ["r", g.random("w", [3, 4, 3, 3], seed: 5)], ["c"], ["pads": [1, 1, 1, 1]])
        g.node("Clip", ["c", g.initializer("lo", Tensor(scalar: Float(0))), g.initializer("hi", Tensor(scalar: Float(6)))], ["y"])
        g.output("y")
        let model = try g.model()
        let (fused, _) = try OptimizerAssertions.optimize(model)
        XCTAssertEqual(OptimizerAssertions.opCounts(fused.graph)["ChannelAffine"], 1)
        XCTAssertEqual(OptimizerAssertions.opCounts(fused.graph)["FusedConv"], 1)
        let (standard, report) = try OptimizerAssertions.optimize(model, allowCustomOps: false)
        XCTAssertFalse(OptimizerAssertions.hasCustomOps(standard.graph))
        XCTAssertFalse(standard.opsetImports.contains { $0.domain == OnyxDomain.name })
        XCTAssertEqual(report.loweredCustomOps, 2)
        XCTAssertEqual(OptimizerAssertions.opCounts(standard.graph)["BatchNormalization"], 1)
        assertFolds(model, after: ["ChannelAffine": 1, "FusedConv": 1, "Relu": 0, "Clip": 0])
    }
}
