import Foundation
import OnyxTesting
import XCTest

@testable import Onyx

/// `GraphDOT`, `ShapeProbe`, `Graphviz` and `onyx graph`.
final class GraphDOTTests: XCTestCase {
    /// Conv → BatchNormalization → Relu, with a Constant node feeding a Clip.
    private func convBatchNormModel() throws -> Model {
        var g = GraphBuilder(opset: 15, name: "conv \"bn\"")
        g.input("x", dims: [.symbolic("batch"), .known(3), .known(8), .known(8)])
        g.node("Conv", ["x", g.random("w", [4, 3, 3, 3], seed: 1)], ["c"], ["pads": [1, 1, 1, 1], "strides": [2, 2]])
        let stats = [g.random("s", [4], seed: 2), g.random("b", [4], seed: 3),
                     g.random("m", [4], seed: 4), g.random("v", [4], seed: 5, in: 0.5...2)]
        g.node("BatchNormalization", ["c"] + stats, ["n"])
        g.node("Relu", ["n"], ["r"])
        g.initializer("lo", [0], shape: [])
        g.initializer("hi", [6], shape: [])
        g.node("Clip", ["r", "lo", "hi"], ["y"])
        g.output("y")
        return try g.model()
    }

    func testLabelsShapesAndConstants() throws {
        let model = try convBatchNormModel()
        let dot = GraphDOT.render(model, title: "before")
        XCTAssertTrue(dot.hasPrefix("digraph \"conv \\\"bn\\\"\" {"), dot)
        XCTAssertTrue(dot.contains("rankdir=TB"))
        XCTAssertTrue(dot.contains("label=\"before\""))
        XCTAssertTrue(dot.contains("label=\"Conv 3×3/2\\n4×3×3×3\""), dot)
        XCTAssertTrue(dot.contains("label=\"BatchNormalization\\n4 (×4)\""), dot)
        XCTAssertTrue(dot.contains("label=\"Clip\\n0, 6\""), dot)
        // The declared input keeps its symbolic dim; the probe finds the rest with batch = 1.
        XCTAssertTrue(dot.contains("in0 -> n0 [label=\" batch×3×8×8\"]"), dot)
        XCTAssertTrue(dot.contains("n0 -> n1 [label=\" 1×4×4×4\"]"), dot)
        XCTAssertTrue(dot.contains("n3 -> out0"), dot)
        // Constants are summarised in labels, never drawn as nodes or edges.
        XCTAssertFalse(dot.contains("\"w\""))
        XCTAssertEqual(dot.components(separatedBy: "->").count - 1, 5)

        let plain = GraphDOT.render(model, inferShapes: false)
        XCTAssertTrue(plain.contains("in0 -> n0 [label=\" batch×3×8×8\"]"))
        XCTAssertTrue(plain.contains("  n0 -> n1;"), plain)
    }

    func testOptimizedDrawingShowsTheFold() throws {
        let model = try convBatchNormModel()
        let (optimized, _) = try Optimizer().optimize(model)
        let before = GraphDOT.render(model)
        let after = GraphDOT.render(optimized)
        XCTAssertTrue(before.contains("BatchNormalization"))
        XCTAssertFalse(after.contains("BatchNormalization"), after)
        // The Conv gained the folded bias, and took in the Relu after the BatchNormalization.
        XCTAssertTrue(after.contains("label=\"Conv+Relu 3×3/2\\n4×3×3×3, 4\""), after)
        let standard = GraphDOT.render(try Optimizer(allowCustomOps: false).optimize(model).model)
        XCTAssertTrue(standard.contains("label=\"Conv 3×3/2\\n4×3×3×3, 4\""), standard)
    }

    func testConstantNodesFoldIntoTheirReaders() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [2])
        let six = try Tensor(shape: [], scalars: [Float(6)])
        g.node("Constant", [], ["six"], ["value": .tensor(six)])
        g.node("Min", ["x", "six"], ["y"])
        g.output("y")
        let dot = GraphDOT.render(try g.model())
        XCTAssertFalse(dot.contains("Constant"), dot)
        XCTAssertTrue(dot.contains("label=\"Min\\n6\""), dot)
    }

    /// DenseNet-like wiring: every Sum reads every earlier feature map.
    func testDenselyConnectedGraphsGetTheCompactLayout() throws {
        var g = GraphBuilder(opset: 17)
        g.input("x", [1, 2])
        var features = ["x"]
        for layer in 0..<30 {
            g.node("Sum", features, ["cat\(layer)"])
            g.node("Relu", ["cat\(layer)"], ["f\(layer)"])
            features.append("f\(layer)")
        }
        g.output("f29")
        let dot = GraphDOT.render(try g.model())
        XCTAssertTrue(dot.contains("splines=false"), dot)
        XCTAssertTrue(dot.contains("label=\"Relu\\n→ 1×2\""), dot)
        XCTAssertFalse(dot.contains("->") && dot.contains("] [label="))
        XCTAssertFalse(GraphDOT.render(try convBatchNormModel()).contains("splines=false"))
    }

    func testDotAcceptsTheDrawing() throws {
        guard Graphviz.dotExecutable != nil else {
            throw XCTSkip("Graphviz's dot is not installed (tools/bootstrap installs it)")
        }
        let svg = String(decoding: try Graphviz.render(GraphDOT.render(try convBatchNormModel()), format: "svg"), as: UTF8.self)
        XCTAssertTrue(svg.contains("<svg"))
        XCTAssertTrue(svg.contains("BatchNormalization"))
        XCTAssertThrowsError(try Graphviz.render("digraph { a -> }", format: "svg")) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .io)
        }
    }

    func testCommandLineDrawsTheDigitsModel() throws {
        let model = TestPaths.root.appendingPathComponent("models/digits/digits-cnn.onnx").path
        let plain = try TestPaths.runOnyx(["graph", model])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.hasPrefix("digraph"))
        XCTAssertTrue(plain.stdout.contains("Conv"))
        let optimized = try TestPaths.runOnyx(["graph", model, "--optimized", "--no-shapes"])
        XCTAssertEqual(optimized.status, 0, optimized.stderr)
        XCTAssertTrue(optimized.stdout.contains("optimized:"), optimized.stdout)
        guard Graphviz.dotExecutable != nil else { return }
        let directory = try TestPaths.temporaryDirectory()
        let png = directory.appendingPathComponent("digits.png")
        let drawn = try TestPaths.runOnyx(["graph", model, "--optimized", "-o", png.path])
        XCTAssertEqual(drawn.status, 0, drawn.stderr)
        XCTAssertEqual(try Data(contentsOf: png).prefix(4), Data([0x89, 0x50, 0x4E, 0x47]))
    }
}
