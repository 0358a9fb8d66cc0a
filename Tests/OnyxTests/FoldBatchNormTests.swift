import OnyxTesting
import XCTest
@testable import Onyx

/// `fold-batchnorm`: BatchNormalization folded into Conv, ConvTranspose,
/// Gemm and MatMul, and every guard's refusal.
final class FoldBatchNormTests: XCTestCase {
    let pass = "fold-batchnorm"

    /// Adds scale, B, mean and var initializers for `channels`; returns their names.
    static func batchNormParameters(_ g: inout GraphBuilder, _ prefix: String = "bn", channels: Int, seed: UInt64 = 10,
                                    type: ElementType = .float) -> [String] {
        [
            g.random("\(prefix).scale", [channels], seed: seed, in: 0.5...2, as: type),
            g.random("\(prefix).bias", [channels], seed: seed + 1, as: type),
            g.random("\(prefix).mean", [channels], seed: seed + 2, as: type),
            g.random("\(prefix).var", [channels], seed: seed + 3, in: 0.25...2, as: type),
        ]
    }

    /// x [2, inC, 6, 6] → Conv (3×3, pads 1) → BatchNormalization → y.
    static func convBatchNorm(
        opset: Int = 15, inC: Int = 4, outC: Int = 6, group: Int = 1, bias: Bool = true, type: ElementType = .float
    ) -> GraphBuilder {
        var g = GraphBuilder(opset: opset)
        g.input("x", [2, inC, 6, 6], type)
        var convInputs = ["x", g.random("w", [outC, inC / group, 3, 3], seed: 1, as: type)]
        if bias { convInputs.append(g.random("b", [outC], seed: 2, as: type)) }
        g.node("Conv", convInputs, ["c"], ["pads": [1, 1, 1, 1], "group": .int(group)])
        var bnAttributes: KeyValuePairs<String, AttributeLiteral> = ["epsilon": 1e-3]
        if opset < 7 { bnAttributes = ["epsilon": 1e-3, "is_test": 1] }
        g.node("BatchNormalization", ["c"] + batchNormParameters(&g, channels: outC, type: type), ["y"], bnAttributes)
        g.output("y")
        return g
    }

    func testConvWithBias() throws {
        let outcome = assertFolds(
            try Self.convBatchNorm().model(), pass: pass,
            before: ["BatchNormalization": 1, "Conv": 1], after: ["BatchNormalization": 0, "Conv": 1])
        XCTAssertEqual(outcome?.optimized.graph.nodes.first?.outputs, ["y"])
        XCTAssertEqual(outcome?.report.pass(pass)?.line, "fold-batchnorm: 1 BatchNormalization folded into Conv, 0 declined")
    }

    func testConvWithoutBiasGetsOne() throws {
        let outcome = assertFolds(try Self.convBatchNorm(bias: false).model(), pass: pass, after: ["BatchNormalization": 0])
        XCTAssertEqual(outcome?.optimized.graph.nodes.first?.inputs.count, 3)
    }

    func testGroupedConv() throws {
        assertFolds(try Self.convBatchNorm(inC: 4, outC: 6, group: 2).model(), pass: pass, after: ["BatchNormalization": 0])
    }

    func testDepthwiseConv() throws {
        assertFolds(try Self.convBatchNorm(inC: 4, outC: 4, group: 4).model(), pass: pass, after: ["BatchNormalization": 0])
    }

    func testDoubleAndFloat16Conv() throws {
        assertFolds(try Self.convBatchNorm(type: .double).model(), pass: pass, after: ["BatchNormalization": 0])
        assertFolds(try Self.convBatchNorm(type: .float16).model(), pass: pass, after: ["BatchNormalization": 0], tolerance: 4e-3)
    }

    func testEveryBatchNormOpset() throws {
        for opset in [6, 7, 9, 14, 15] {
            let outcome = assertFolds(try Self.convBatchNorm(opset: opset).model(), pass: pass, after: ["BatchNormalization": 0])
            XCTAssertNotNil(outcome, "opset \(opset)")
        }
    }

    func testConvTransposeWithGroups() throws {
        for (group, bias) in [(1, true), (2, false), (2, true)] {
            var g = GraphBuilder(opset: 15)
            g.input("x", [1, 4, 5, 5])
            var inputs = ["x", g.random("w", [4, 3, 3, 3], seed: 3)]
            if bias { inputs.append(g.random("b", [3 * group], seed: 4)) }
            g.node("ConvTranspose", inputs, ["t"], ["group": .int(group), "strides": [2, 2]])
            g.node("BatchNormalization", ["t"] + Self.batchNormParameters(&g, channels: 3 * group), ["y"])
            g.output("y")
            assertFolds(try g.model(), pass: pass, after: ["BatchNormalization": 0, "ConvTranspose": 1])
        }
    }

    /// x [3, 5] → Gemm (alpha 0.5, beta 2) → BatchNormalization over 4 features.
    static func gemmBatchNorm(transB: Bool, c: [Int]?) -> GraphBuilder {
        var g = GraphBuilder(opset: 15)
        g.input("x", [3, 5])
        var inputs = ["x", g.random("B", transB ? [4, 5] : [5, 4], seed: 5)]
        if let c { inputs.append(g.random("C", c, seed: 6)) }
        g.node("Gemm", inputs, ["g"], ["transB": .int(transB ? 1 : 0), "alpha": 0.5, "beta": 2.0])
        g.node("BatchNormalization", ["g"] + batchNormParameters(&g, channels: 4), ["y"])
        g.output("y")
        return g
    }

    func testGemmEveryLayout() throws {
        for transB in [false, true] {
            for c in [nil, [4], [1, 4], [1], []] as [[Int]?] {
                let outcome = assertFolds(
                    try Self.gemmBatchNorm(transB: transB, c: c).model(), pass: pass,
                    after: ["BatchNormalization": 0, "Gemm": 1])
                XCTAssertNotNil(outcome, "transB \(transB), C \(String(describing: c))")
            }
        }
    }

    func testMatMulWithConstantWeightBecomesGemm() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [3, 5])
        g.node("MatMul", ["x", g.random("W", [5, 4], seed: 7)], ["m"])
        g.node("BatchNormalization", ["m"] + Self.batchNormParameters(&g, channels: 4), ["y"])
        g.output("y")
        let outcome = assertFolds(try g.model(), pass: pass, after: ["BatchNormalization": 0, "MatMul": 0, "Gemm": 1])
        XCTAssertEqual(outcome?.report.pass(pass)?.actions.first?.summary, "BatchNormalization folded into MatMul")
    }

    /// A recurrent-BN step: the rank of x[:, t] is inferred through Gather.
    func testMatMulAfterGatherFolds() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [4, 6, 5])
        g.initializer("t", [2], shape: [], as: .int64)
        g.node("Gather", ["x", "t"], ["step"], ["axis": 1])
        g.node("MatMul", ["step", g.random("W", [5, 8], seed: 7)], ["m"])
        g.node("BatchNormalization", ["m"] + Self.batchNormParameters(&g, channels: 8), ["y"])
        g.output("y")
        assertFolds(try g.model(), pass: pass, after: ["BatchNormalization": 0, "Gemm": 1])
    }

    func testSharedWeightIsCopiedNotChanged() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [1, 4, 5, 5])
        g.random("w", [4, 4, 3, 3], seed: 1)
        g.node("Conv", ["x", "w"], ["c1"])
        g.node("BatchNormalization", ["c1"] + Self.batchNormParameters(&g, "bn1", channels: 4), ["y1"])
        g.node("Conv", ["x", "w"], ["c2"])
        g.node("BatchNormalization", ["c2"] + Self.batchNormParameters(&g, "bn2", channels: 4, seed: 20), ["y2"])
        g.output("y1", "y2")
        let outcome = assertFolds(try g.model(), pass: pass, after: ["BatchNormalization": 0, "Conv": 2])
        let weights = outcome?.optimized.graph.nodes.map { $0.inputs[1] } ?? []
        XCTAssertEqual(Set(weights).count, 2)
    }

    func testWholePipelineFoldsAndKeepsOutputName() throws {
        let outcome = assertFolds(try Self.convBatchNorm().model(), after: ["BatchNormalization": 0, "Conv": 1])
        XCTAssertEqual(outcome?.optimized.graph.outputs.map(\.name), ["y"])
        XCTAssertNil(outcome?.optimized.graph.constants["bn.mean"])
    }

    func testIRVersion3InitializersCountAsConstants() throws {
        var g = Self.convBatchNorm(opset: 7)
        for name in g.currentGraph.constants.keys { g.overridable(name) }
        var model = try g.model()
        model.irVersion = 3
        let outcome = assertFolds(model, after: ["BatchNormalization": 0])
        let graph = try XCTUnwrap(outcome?.optimized.graph)
        XCTAssertEqual(Set(graph.inputs.map(\.name)), Set(graph.constants.keys).union(["x"]))
        XCTAssertNil(graph.constants["bn.mean"])
    }

    func testFoldsInsideSubgraphs() throws {
        var branch = GraphBuilder(name: "branch")
        branch.node("Conv", ["x", branch.random("w", [4, 3, 1, 1], seed: 1)], ["c"])
        branch.node("BatchNormalization", ["c"] + Self.batchNormParameters(&branch, channels: 4), ["inner"])
        branch.output("inner")
        var g = GraphBuilder(opset: 15)
        g.input("x", [2, 3, 4, 4])
        g.input("flag", [], .bool)
        g.node("If", ["flag"], ["y"], ["then_branch": .graph(branch.currentGraph), "else_branch": .graph(branch.currentGraph)])
        g.output("y")
        assertFolds(try g.model(), before: ["BatchNormalization": 2], after: ["BatchNormalization": 0, "Conv": 2])
    }

    /// The example in README.md, kept compiling and passing.
    func testReadmeExample() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [1, 3, 8, 8])
        g.node("Conv", ["x", g.random("w", [4, 3, 3, 3], seed: 1)], ["c"], ["pads": [1, 1, 1, 1]])
        let stats = [g.random("s", [4], seed: 2), g.random("b", [4], seed: 3),
                     g.random("m", [4], seed: 4), g.random("v", [4], seed: 5, in: 0.5...2)]
        g.node("BatchNormalization", ["c"] + stats, ["y"])
        g.output("y")
        assertFolds(try g.model(), pass: "fold-batchnorm", after: ["BatchNormalization": 0, "Conv": 1])
        g.output("c")
        assertDoesNotFold(try g.model(), pass: "fold-batchnorm", reason: "is a graph output")
    }
}
