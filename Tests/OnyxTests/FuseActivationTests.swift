import OnyxTesting
import XCTest
@testable import Onyx

/// `fuse-activation`, and the fused activations' kernels and standard-op forms.
final class FuseActivationTests: XCTestCase {
    let pass = "fuse-activation"

    /// x [2, 4, 6, 6] → Conv (pads 1) → c, then `activation` writes y.
    static func convThen(opset: Int = 17, group: Int = 1, _ activation: (inout GraphBuilder) -> Void) -> GraphBuilder {
        var g = GraphBuilder(opset: opset)
        g.input("x", [2, 4, 6, 6])
        g.node("Conv", ["x", g.random("w", [8, 4 / group, 3, 3], seed: 1), g.random("b", [8], seed: 2)], ["c"],
               ["group": .int(group), "pads": [1, 1, 1, 1]])
        activation(&g)
        g.output("y")
        return g
    }

    /// One builder per activation kind, each reading "c" and writing "y".
    static var activations: [(String, Int, (inout GraphBuilder) -> Void)] { [
        ("Relu", 17, { $0.node("Relu", ["c"], ["y"]) }),
        ("Clip inputs", 17, { g in
            g.node("Clip", ["c", g.initializer("lo", Tensor(scalar: Float(-0.5))), g.initializer("hi", Tensor(scalar: Float(0.7)))], ["y"])
        }),
        ("Clip max only", 17, { g in g.node("Clip", ["c", "", g.initializer("hi", Tensor(scalar: Float(0.3)))], ["y"]) }),
        ("Clip attributes", 10, { $0.node("Clip", ["c"], ["y"], ["min": -0.25, "max": 0.5]) }),
        ("LeakyRelu", 17, { $0.node("LeakyRelu", ["c"], ["y"], ["alpha": 0.2]) }),
        ("Sigmoid", 17, { $0.node("Sigmoid", ["c"], ["y"]) }),
        ("HardSigmoid", 17, { $0.node("HardSigmoid", ["c"], ["y"], ["alpha": 0.3, "beta": 0.4]) }),
        ("HardSwish", 17, { $0.node("HardSwish", ["c"], ["y"]) }),
        ("Tanh", 17, { $0.node("Tanh", ["c"], ["y"]) }),
        ("SiLU", 17, { g in
            g.node("Sigmoid", ["c"], ["s"])
            g.node("Mul", ["c", "s"], ["y"])
        }),
        ("SiLU commuted", 17, { g in
            g.node("Sigmoid", ["c"], ["s"])
            g.node("Mul", ["s", "c"], ["y"])
        }),
        ("GELU", 17, { g in
            g.node("Div", ["c", g.initializer("root2", Tensor(scalar: Float(2.0.squareRoot())))], ["d"])
            g.node("Erf", ["d"], ["e"])
            g.node("Add", ["e", g.initializer("one", Tensor(scalar: Float(1)))], ["a"])
            g.node("Mul", ["c", "a"], ["m"])
            g.node("Mul", ["m", g.initializer("half", Tensor(scalar: Float(0.5)))], ["y"])
        }),
        ("GELU half first, commuted", 17, { g in
            g.node("Mul", [g.initializer("inverse", Tensor(scalar: Float(0.5.squareRoot()))), "c"], ["d"])
            g.node("Erf", ["d"], ["e"])
            g.node("Add", [g.initializer("one", Tensor(scalar: Float(1))), "e"], ["a"])
            g.node("Mul", [g.initializer("half", Tensor(scalar: Float(0.5))), "c"], ["h"])
            g.node("Mul", ["a", "h"], ["y"])
        }),
        ("Gelu op", 20, { $0.node("Gelu", ["c"], ["y"]) }),
    ] }

    func testEveryActivationFusesIntoConv() throws {
        for (label, opset, activation) in Self.activations {
            let outcome = assertFolds(
                try Self.convThen(opset: opset, activation).model(), pass: pass,
                after: ["Conv": 0, "FusedConv": 1, "Relu": 0, "Clip": 0, "Sigmoid": 0, "Mul": 0, "Tanh": 0, "Erf": 0, "Gelu": 0])
            XCTAssertNotNil(outcome, label)
            XCTAssertEqual(outcome?.optimized.graph.nodes.count, 1, label)
            XCTAssertEqual(outcome?.optimized.graph.nodes.first?.outputs, ["y"], label)
            XCTAssertNotNil(outcome?.lowered, label)
        }
    }

    func testActivationsFuseIntoDepthwiseConvAndGemm() throws {
        assertFolds(try Self.convThen(group: 4) { $0.node("HardSwish", ["c"], ["y"]) }.model(), pass: pass,
                    after: ["FusedConv": 1, "HardSwish": 0])
        for (label, opset, activation) in Self.activations where !label.contains("attributes") {
            var g = GraphBuilder(opset: max(opset, 17))
            g.input("x", [5, 7])
            g.node("Gemm", ["x", g.random("B", [9, 7], seed: 1), g.random("C", [9], seed: 2)], ["c"],
                   ["transB": 1, "alpha": 0.5, "beta": 2])
            activation(&g)
            g.output("y")
            XCTAssertNotNil(assertFolds(try g.model(), pass: pass, after: ["Gemm": 0, "FusedGemm": 1]), label)
        }
    }

    func testPipelineFusesMatMulBiasAndActivation() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [2, 3, 8])
        g.node("MatMul", ["x", g.random("W", [8, 20], seed: 1)], ["m"])
        g.node("Add", [g.random("bias", [20], seed: 2), "m"], ["c"])
        g.node("Sigmoid", ["c"], ["s"])
        g.node("Mul", ["s", "c"], ["y"])
        g.output("y")
        let outcome = assertFolds(try g.model(), after: ["MatMul": 0, "Add": 0, "Mul": 0, "FusedMatMul": 1])
        XCTAssertEqual(outcome?.optimized.graph.nodes.first?.attribute("activation")?.value, .string(Array("SiLU".utf8)))
    }

    func testSharedProducerOutputDeclines() throws {
        let model = try Self.convThen { g in
            g.node("Relu", ["c"], ["r"])
            g.node("Add", ["r", "c"], ["y"])
        }.model()
        assertDoesNotFold(model, pass: pass, reason: "has 2 readers")
    }

    func testGraphOutputProducerDeclines() throws {
        var g = Self.convThen { $0.node("Relu", ["c"], ["y"]) }
        g.output("c")
        assertDoesNotFold(try g.model(), pass: pass, reason: "is a graph output")
    }

    func testSiLUWithSharedSigmoidOrInputDeclines() throws {
        assertDoesNotFold(try Self.convThen { g in
            g.node("Sigmoid", ["c"], ["s"])
            g.node("Mul", ["c", "s"], ["m"])
            g.node("Add", ["m", "s"], ["y"])
        }.model(), pass: pass, reason: "other readers than the Mul")
        assertDoesNotFold(try Self.convThen { g in
            g.node("Sigmoid", ["c"], ["s"])
            g.node("Mul", ["c", "s"], ["m"])
            g.node("Add", ["m", "c"], ["y"])
        }.model(), pass: pass, reason: "not only the Sigmoid and Mul")
    }

    /// GELU written out: a wrong constant is not GELU, and an intermediate
    /// or x read elsewhere keeps the pattern (it declines, or matches nothing).
    func testGELUPatternGuards() throws {
        func gelu(root: Float = Float(2.0.squareRoot()), extra: (inout GraphBuilder) -> Void = { _ in }) -> GraphBuilder {
            Self.convThen { g in
                g.node("Div", ["c", g.initializer("root", Tensor(scalar: root))], ["d"])
                g.node("Erf", ["d"], ["e"])
                g.node("Add", ["e", g.initializer("one", Tensor(scalar: Float(1)))], ["a"])
                g.node("Mul", ["c", "a"], ["m"])
                g.node("Mul", ["m", g.initializer("half", Tensor(scalar: Float(0.5)))], ["g"])
                extra(&g)
            }
        }
        var wrong = gelu(root: 1.5) { $0.node("Identity", ["g"], ["y"]) }
        wrong.output("y")
        assertDoesNotFold(try wrong.model(), pass: pass)
        var sharedErf = gelu { $0.node("Add", ["g", "e"], ["y"]) }
        sharedErf.output("y")
        assertDoesNotFold(try sharedErf.model(), pass: pass)
        var sharedInput = gelu { $0.node("Add", ["g", "c"], ["y"]) }
        sharedInput.output("y")
        assertDoesNotFold(try sharedInput.model(), pass: pass, reason: "not only the scale and Mul of the GELU")
    }

    func testClipWithRuntimeBoundDeclines() throws {
        var g = Self.convThen { $0.node("Clip", ["c", "lo"], ["y"]) }
        g.input("lo", [], .float)
        assertDoesNotFold(try g.model(), pass: pass, reason: "not a constant float scalar")
    }

    func testDoubleConvDeclines() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [1, 2, 4, 4], .double)
        g.node("Conv", ["x", g.random("w", [3, 2, 1, 1], seed: 1, as: .double)], ["c"])
        g.node("Relu", ["c"], ["y"])
        g.output("y")
        assertDoesNotFold(try g.model(), pass: pass, reason: "not known to be float")
    }

    func testSecondActivationDeclinesOnFusedNode() throws {
        let outcome = assertFolds(try Self.convThen { g in
            g.node("Relu", ["c"], ["r"])
            g.node("Tanh", ["r"], ["y"])
        }.model(), pass: pass, after: ["FusedConv": 1, "Relu": 0, "Tanh": 1])
        XCTAssertTrue(outcome?.report.pass(pass)?.declines.contains { $0.reason.contains("already has an activation") } ?? false)
    }

    /// HardSwish before opset 14 and Clip before opset 11 are written as
    /// other standard ops; a hand-built FusedConv checks those forms.
    func testLoweringRespectsOpset() throws {
        for (opset, activation, expected) in [
            (13, try FusedActivation(.hardSwish), ["Conv", "HardSigmoid", "Mul"]),
            (14, try FusedActivation(.hardSwish), ["Conv", "HardSwish"]),
            (10, try FusedActivation(.clip, [-0.5, 0.5]), ["Conv", "Clip"]),
            (13, try FusedActivation(.clip, [-0.5, 0.5]), ["Conv", "Clip"]),
            (13, try FusedActivation(.silu), ["Conv", "Sigmoid", "Mul"]),
            (17, try FusedActivation(.gelu), ["Conv", "Div", "Erf", "Add", "Mul", "Mul"]),
            (20, try FusedActivation(.gelu), ["Conv", "Gelu"]),
        ] {
            var g = GraphBuilder(opset: opset)
            g.extraImports = [OpsetImport(domain: OnyxDomain.name, version: OnyxDomain.version)]
            g.input("x", [1, 2, 5, 5])
            g.random("w", [3, 2, 3, 3], seed: 1)
            g.node("FusedConv", ["x", "w"], ["y"], domain: OnyxDomain.name)
            g.output("y")
            var model = try g.model()
            model.graph.nodes[0].attributes = activation.attributes
            let lowered = try Optimizer(passes: [], allowCustomOps: false).optimize(model).model
            XCTAssertFalse(OptimizerAssertions.hasCustomOps(lowered.graph))
            XCTAssertEqual(lowered.graph.nodes.map(\.opType), expected, "opset \(opset) \(activation.kind)")
            if activation.kind == .clip { XCTAssertEqual(lowered.graph.nodes.last?.inputs.count, opset >= 11 ? 3 : 1) }
            let feeds = try OptimizerAssertions.randomFeeds(for: model)
            let error = try OptimizerAssertions.compare(
                OptimizerAssertions.run(lowered, feeds: feeds), OptimizerAssertions.run(model, feeds: feeds))
            XCTAssertLessThanOrEqual(error, 1e-5, "opset \(opset) \(activation.kind)")
        }
    }

    /// The vector kernel against the scalar definitions, over a range with
    /// saturating ends, NaN and a tail shorter than a vector.
    func testKernelMatchesDefinitions() throws {
        var values: [Float] = stride(from: -95, through: 95, by: 0.37).map { Float($0) } + [0, -0, 1e-6, -1e-6, .nan]
        values += [2.5, -3.25, 6.5]
        let cases: [(FusedActivation, (Double) -> Double)] = [
            (try FusedActivation(.relu), { max($0, 0) }),
            (try FusedActivation(.clip, [-1.5, 2]), { min(max($0, -1.5), 2) }),
            (try FusedActivation(.leakyRelu, [0.1]), { $0 >= 0 ? $0 : 0.1 * $0 }),
            (try FusedActivation(.sigmoid), { 1 / (1 + Foundation.exp(-$0)) }),
            (try FusedActivation(.hardSigmoid, [0.2, 0.5]), { max(0, min(1, 0.2 * $0 + 0.5)) }),
            (try FusedActivation(.hardSwish), { $0 * max(0, min(1, $0 / 6 + 0.5)) }),
            (try FusedActivation(.silu), { $0 / (1 + Foundation.exp(-$0)) }),
            (try FusedActivation(.tanh), { Foundation.tanh($0) }),
            (try FusedActivation(.gelu), { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
        ]
        for (activation, reference) in cases {
            var output = values
            output.withUnsafeMutableBufferPointer { activation.apply($0) }
            for (x, y) in zip(values, output) {
                let expected = reference(Double(x))
                if x.isNaN {
                    XCTAssertTrue(y.isNaN, "\(activation.kind)(NaN)")
                    continue
                }
                let error = abs(Double(y) - expected) / max(abs(expected), 1e-6)
                // GELU's 1 + erf cancels for x < -3 (as in the written-out graph): an absolute bound holds there.
                if activation.kind == .gelu, abs(Double(y) - expected) <= 1e-6 * max(1, abs(Double(x))) { continue }
                XCTAssertLessThanOrEqual(error, 1e-6, "\(activation.kind)(\(x)) = \(y), expected \(expected)")
            }
        }
    }
}
