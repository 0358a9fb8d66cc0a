import OnyxTesting
import XCTest
@testable import Onyx

/// `fuse-layernorm` and `fuse-skip-layernorm`: the decomposed LayerNorm in
/// its exported variants, every guard, and Add + LayerNorm.
final class FuseLayerNormTests: XCTestCase {
    let pass = "fuse-layernorm"

    struct Variant {
        var opset = 17
        var shape: [Int] = [2, 3, 8]
        var axes = [-1]
        var mulSquare = false
        var reciprocal = false
        var gamma = true
        var beta = true
        var keepdims = 1
        /// Also expose the centered value as a graph output (a shared intermediate).
        var shareCentered = false
        /// x comes from an op whose rank ``ValueFacts`` does not infer (Atan).
        var unknownRank = false
    }

    /// x → decomposed LayerNorm → y, as exporters write it.
    static func decomposed(_ v: Variant) -> GraphBuilder {
        var g = GraphBuilder(opset: v.opset)
        let shape = v.shape
        if v.unknownRank {
            g.input("x0", shape)
            g.node("Atan", ["x0"], ["x"])
        } else {
            g.input("x", shape)
        }
        let normalizedShape = Array(shape.suffix(v.axes.count))
        func reduceMean(_ input: String, _ output: String) {
            if v.opset >= 18 {
                g.initializer(output + "_axes", v.axes.map(Double.init), as: .int64)
                g.node("ReduceMean", [input, output + "_axes"], [output], ["keepdims": .int(v.keepdims)])
            } else {
                g.node("ReduceMean", [input], [output], ["axes": .ints(v.axes), "keepdims": .int(v.keepdims)])
            }
        }
        reduceMean("x", "mean")
        g.node("Sub", ["x", "mean"], ["d"])
        if v.mulSquare {
            g.node("Mul", ["d", "d"], ["sq"])
        } else {
            g.node("Pow", ["d", g.initializer("two", [2], shape: [])], ["sq"])
        }
        reduceMean("sq", "var")
        g.node("Add", ["var", g.initializer("eps", [1e-3], shape: [])], ["ve"])
        g.node("Sqrt", ["ve"], ["s"])
        var last = "n"
        if v.reciprocal {
            g.node("Reciprocal", ["s"], ["r"])
            g.node("Mul", ["r", "d"], ["n"])
        } else {
            g.node("Div", ["d", "s"], ["n"])
        }
        if v.gamma {
            last = g.node("Mul", [last, g.random("gamma", normalizedShape, seed: 1, in: 0.5...2)], ["scaled"])
        }
        if v.beta {
            last = g.node("Add", [g.random("beta", normalizedShape, seed: 2), last], ["shifted"])
        }
        g.node("Relu", [last], ["y"])
        g.output("y")
        if v.shareCentered { g.output("d") }
        return g
    }

    func domain(of outcome: OptimizerAssertions.Outcome?, _ opType: String) -> String? {
        outcome?.optimized.graph.nodes.first { $0.opType == opType }?.domain
    }

    func testOpsetVariantsFuse() throws {
        for opset in [13, 17, 18] {
            let outcome = assertFolds(
                try Self.decomposed(Variant(opset: opset)).model(), pass: pass,
                before: ["ReduceMean": 2, "Sqrt": 1], after: ["LayerNormalization": 1, "ReduceMean": 0, "Sub": 0, "Pow": 0,
                                                            "Sqrt": 0, "Div": 0, "Mul": 0, "Add": 0, "Relu": 1])
            XCTAssertEqual(domain(of: outcome, "LayerNormalization"), opset >= 17 ? "" : OnyxDomain.name, "opset \(opset)")
            if opset < 17 {
                XCTAssertEqual(outcome?.lowered.map { OptimizerAssertions.opCounts($0.graph)["ReduceMean"] }, 2)
            }
        }
    }

    func testMulSquareAndReciprocalVariants() throws {
        for opset in [13, 17] {
            assertFolds(try Self.decomposed(Variant(opset: opset, mulSquare: true, reciprocal: true)).model(), pass: pass,
                        after: ["LayerNormalization": 1, "Reciprocal": 0, "Mul": 0])
        }
    }

    func testMissingGammaOrBeta() throws {
        for opset in [13, 17] {
            assertFolds(try Self.decomposed(Variant(opset: opset, gamma: false)).model(), pass: pass,
                        after: ["LayerNormalization": 1, "Add": 0])
            assertFolds(try Self.decomposed(Variant(opset: opset, beta: false)).model(), pass: pass,
                        after: ["LayerNormalization": 1, "Mul": 0])
            assertFolds(try Self.decomposed(Variant(opset: opset, gamma: false, beta: false)).model(), pass: pass,
                        after: ["LayerNormalization": 1])
        }
    }

    func testSeveralTrailingAxesAndPositiveAxes() throws {
        assertFolds(try Self.decomposed(Variant(axes: [-2, -1])).model(), pass: pass, after: ["LayerNormalization": 1])
        assertFolds(try Self.decomposed(Variant(opset: 18, axes: [2, 1])).model(), pass: pass, after: ["LayerNormalization": 1])
        assertFolds(try Self.decomposed(Variant(opset: 13, axes: [2])).model(), pass: pass, after: ["LayerNormalization": 1])
    }

    func testUnknownShapes() throws {
        // Negative axes need no rank; ai.onyx keeps γ/β as they broadcast.
        assertFolds(try Self.decomposed(Variant(opset: 13, unknownRank: true)).model(), pass: pass, after: ["LayerNormalization": 1])
        // γ gives the normalized shape of the standard op.
        assertFolds(try Self.decomposed(Variant(opset: 17, unknownRank: true)).model(), pass: pass, after: ["LayerNormalization": 1])
        assertDoesNotFold(try Self.decomposed(Variant(opset: 17, axes: [2], unknownRank: true)).model(), pass: pass,
                          reason: "rank of the input is not known")
        assertDoesNotFold(try Self.decomposed(Variant(opset: 17, gamma: false, beta: false, unknownRank: true)).model(), pass: pass,
                          reason: "normalized shape is unknown")
    }

    func testGuardsDecline() throws {
        assertDoesNotFold(try Self.decomposed(Variant(axes: [1])).model(), pass: pass, reason: "not the trailing axes")
        assertDoesNotFold(try Self.decomposed(Variant(axes: [-2])).model(), pass: pass, reason: "not the trailing axes")
        assertDoesNotFold(try Self.decomposed(Variant(shape: [8, 8, 8], keepdims: 0)).model(), pass: pass, reason: "keepdims = 0")
        assertDoesNotFold(try Self.decomposed(Variant(shareCentered: true)).model(), pass: pass, reason: "centered value \"d\"")

        var g = Self.decomposed(Variant())
        g.node("Neg", ["var"], ["other"])
        g.output("other")
        assertDoesNotFold(try g.model(), pass: pass, reason: "variance \"var\" has other readers")

        g = Self.decomposed(Variant())
        g.initializer("two", [3], shape: [])
        assertDoesNotFold(try g.model(), pass: pass, reason: "exponent is not 2")
    }

    func testGammaAlongLeadingAxesDeclines() throws {
        var g = Self.decomposed(Variant())
        g.random("gamma", [3, 8], seed: 1)
        assertDoesNotFold(try g.model(), pass: pass, reason: "varies along non-normalized axes")
    }

    // MARK: - fuse-skip-layernorm

    /// a, b [2, 4, 8] → Add → LayerNormalization (opset 17) → y; the sum is
    /// also a graph output when `keepSum`.
    static func addLayerNorm(keepSum: Bool, bias: Bool = true) -> GraphBuilder {
        var g = GraphBuilder(opset: 17)
        g.input("a", [2, 4, 8])
        g.input("b", [2, 4, 8])
        g.node("Add", ["a", "b"], ["sum"])
        var inputs = ["sum", g.random("scale", [8], seed: 1, in: 0.5...2)]
        if bias { inputs.append(g.random("bias", [8], seed: 2)) }
        g.node("LayerNormalization", inputs, ["y"], ["epsilon": 1e-4])
        g.output("y")
        if keepSum {
            g.node("Relu", ["sum"], ["residual"])
            g.output("residual")
        }
        return g
    }

    func testSkipLayerNorm() throws {
        for keepSum in [false, true] {
            for bias in [false, true] {
                let outcome = assertFolds(
                    try Self.addLayerNorm(keepSum: keepSum, bias: bias).model(), pass: "fuse-skip-layernorm",
                    after: ["Add": 0, "LayerNormalization": 0, "SkipLayerNorm": 1])
                let fused = outcome?.optimized.graph.nodes.first { $0.opType == "SkipLayerNorm" }
                XCTAssertEqual(fused?.outputs, keepSum ? ["y", "sum"] : ["y"])
                XCTAssertEqual(fused?.domain, OnyxDomain.name)
            }
        }
    }

    func testSkipLayerNormAfterDecomposedLayerNormInThePipeline() throws {
        var g = Self.decomposed(Variant(opset: 13))
        g.input("x0", [2, 3, 8])
        g.input("x1", [2, 3, 8])
        var graph = g.currentGraph
        graph.inputs.removeAll { $0.name == "x" }
        graph.nodes.insert(Node(name: "residual", opType: "Add", inputs: ["x0", "x1"], outputs: ["x"]), at: 0)
        graph.outputs.append(ValueInfo(name: "x", type: nil))
        let model = try Model(validating: Model(opsetImports: [OpsetImport(domain: "", version: 13)], graph: graph))
        let outcome = assertFolds(model, after: ["SkipLayerNorm": 1, "LayerNormalization": 0, "ReduceMean": 0, "Relu": 1])
        XCTAssertEqual(outcome?.optimized.graph.nodes.first { $0.opType == "SkipLayerNorm" }?.outputs, ["shifted", "x"])
    }

    func testSkipLayerNormDeclinesWhenStatisticsAreUsed() throws {
        let g = Self.addLayerNorm(keepSum: false)
        var graph = g.currentGraph
        graph.nodes[1].outputs = ["y", "mean"]
        graph.outputs.append(ValueInfo(name: "mean", type: nil))
        let model = try Model(validating: Model(opsetImports: [OpsetImport(domain: "", version: 17)], graph: graph))
        assertDoesNotFold(model, pass: "fuse-skip-layernorm", reason: "Mean or InvStdDev output is used")
    }
}
