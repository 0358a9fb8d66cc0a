import CKernels
import OnyxTesting
import XCTest

@testable import Onyx

/// `fuse-conv-add` and the residual in the convolution's epilogue: the GEMM
/// adds it after the bias and before the activation, bitwise as the unfused
/// Conv, Add and activation, on every kernel and every conv path.
final class FuseConvAddTests: XCTestCase {
    let pass = "fuse-conv-add"

    /// x [n, c, h, w] → Conv → conv, `residual` adds to it, then `tail` writes y.
    private static func block(
        x: [Int], weight: [Int], attributes: KeyValuePairs<String, AttributeLiteral> = [:], bias: Bool = true,
        residualShape: [Int]? = nil, convFirst: Bool = true, tail: String? = "Relu"
    ) -> GraphBuilder {
        var g = GraphBuilder(opset: 17)
        g.input("x", x)
        let inputs = ["x", g.random("w", weight, seed: 1)] + (bias ? [g.random("b", [weight[0]], seed: 2)] : [])
        g.node("Conv", inputs, ["conv"], attributes)
        let residual = residualShape.map { g.input("z", $0) } ?? "x"
        g.node("Add", convFirst ? ["conv", residual] : [residual, "conv"], [tail == nil ? "y" : "sum"])
        if let tail { g.node(tail, ["sum"], ["y"]) }
        g.output("y")
        return g
    }

    func testResidualAndReluFuseIntoOneNodeWithTheUnfusedBits() throws {
        for convFirst in [true, false] {
            let outcome = assertFolds(
                try Self.block(x: [1, 8, 6, 6], weight: [8, 8, 3, 3], attributes: ["pads": [1, 1, 1, 1]], convFirst: convFirst)
                    .model(),
                after: ["Conv": 0, "Add": 0, "Relu": 0, "FusedConv": 1], tolerance: 0)
            let node = try XCTUnwrap(outcome?.optimized.graph.nodes.first)
            XCTAssertEqual(node.inputs, ["x", "w", "b", "x"])
            XCTAssertEqual(node.attribute("activation")?.value, .string(Array("Relu".utf8)))
            XCTAssertEqual(GraphDOT.displayName(node), "Conv+Add+Relu")
            XCTAssertNotNil(outcome?.lowered, "written back as Conv, Add and Relu")
        }
    }

    func testEveryConvPathAddsTheResidualBitwise() throws {
        // (input, weight, attributes): pointwise GEMM, im2col, Winograd-sized 3×3, depthwise,
        // grouped, a strided 7×7 (banded im2col) and no bias.
        let cases: [([Int], [Int], KeyValuePairs<String, AttributeLiteral>, Bool)] = [
            ([1, 16, 10, 10], [24, 16, 1, 1], [:], true),
            ([2, 6, 9, 11], [10, 6, 3, 3], ["pads": [1, 1, 1, 1]], true),
            ([1, 16, 28, 28], [16, 16, 3, 3], ["pads": [1, 1, 1, 1]], true),
            ([1, 16, 12, 12], [16, 1, 3, 3], ["pads": [1, 1, 1, 1], "group": 16], true),
            ([1, 8, 7, 7], [8, 2, 3, 3], ["pads": [1, 1, 1, 1], "group": 4], true),
            ([1, 3, 64, 64], [16, 3, 7, 7], ["pads": [3, 3, 3, 3], "strides": [2, 2]], true),
            ([1, 4, 5, 5], [6, 4, 1, 1], [:], false),
        ]
        for (x, weight, attributes, bias) in cases {
            var output = x
            output[1] = weight[0]
            if let stride = attributes.first(where: { $0.key == "strides" }) {
                _ = stride
                output[2] = (x[2] + 1) / 2
                output[3] = (x[3] + 1) / 2
            }
            for tail in [nil, "Relu", "Sigmoid"] {
                let label = "\(x) \(weight) \(tail ?? "no activation")"
                let outcome = assertFolds(
                    try Self.block(x: x, weight: weight, attributes: attributes, bias: bias, residualShape: output, tail: tail)
                        .model(),
                    after: ["Conv": 0, "Add": 0, "FusedConv": 1], tolerance: 0)
                XCTAssertNotNil(outcome, label)
            }
        }
    }

    func testResidualThatBroadcastsOrGrowsTheOutputGivesTheAddResult() throws {
        // A per-channel residual, and one with a batch of 3 that grows the conv's output of batch 1.
        for shape in [[1, 8, 1, 1], [3, 8, 6, 6], [6]] {
            let outcome = assertFolds(
                try Self.block(x: [1, 4, 6, 6], weight: [8, 4, 3, 3], attributes: ["pads": [1, 1, 1, 1]], residualShape: shape)
                    .model(),
                after: ["Add": 0, "FusedConv": 1], tolerance: 0)
            XCTAssertNotNil(outcome, "\(shape)")
        }
    }

    func testTheSecondOfTwoConvOutputsMayBeTheResidual() throws {
        // Add(main, shortcut), both convs; the Add's first operand's conv runs first in file order.
        var g = GraphBuilder(opset: 17)
        g.input("x", [1, 8, 6, 6])
        g.node("Conv", ["x", g.random("w1", [8, 8, 1, 1], seed: 1)], ["main"])
        g.node("Conv", ["x", g.random("w2", [8, 8, 1, 1], seed: 2)], ["shortcut"])
        g.node("Add", ["main", "shortcut"], ["sum"])
        g.node("Relu", ["sum"], ["y"])
        g.output("y")
        let outcome = assertFolds(try g.model(), after: ["Conv": 1, "Add": 0, "FusedConv": 1, "Relu": 0], tolerance: 0)
        let fused = try XCTUnwrap(outcome?.optimized.graph.nodes.first { $0.opType == "FusedConv" })
        XCTAssertEqual(fused.inputs, ["x", "w1", "", "shortcut"], "the first Conv absorbs the Add, with no bias")
        XCTAssertEqual(outcome?.optimized.graph.nodes.last?.opType, "FusedConv", "placed where the Add was")
    }

    func testDeclines() throws {
        var shared = Self.block(x: [1, 4, 5, 5], weight: [4, 4, 1, 1], tail: nil)
        shared.output("conv")
        assertDoesNotFold(try shared.model(), pass: pass, reason: "is a graph output")
        var doubled = GraphBuilder(opset: 17)
        doubled.input("x", [1, 4, 5, 5])
        doubled.node("Conv", ["x", doubled.random("w", [4, 4, 1, 1], seed: 1)], ["conv"])
        doubled.node("Add", ["conv", "conv"], ["y"])
        doubled.output("y")
        assertDoesNotFold(try doubled.model(), pass: pass, reason: "adds the Conv output to itself")
        var activated = GraphBuilder(opset: 17)
        activated.input("x", [1, 4, 5, 5])
        activated.node("Conv", ["x", activated.random("w", [4, 4, 1, 1], seed: 1)], ["conv"])
        activated.node("Relu", ["conv"], ["r"])
        activated.node("Add", ["r", "x"], ["y"])
        activated.output("y")
        // The whole pipeline: the Relu fuses into the Conv first, and the Add must then stay.
        let outcome = assertFolds(try activated.model(), after: ["Add": 1, "FusedConv": 1, "Relu": 0], tolerance: 0)
        XCTAssertEqual(outcome?.optimized.graph.nodes.first?.inputs.count, 2)
        XCTAssertTrue(outcome?.report.pass(pass)?.declines.contains { $0.reason.contains("already has an activation") } ?? false)
    }

    /// Gemm.multiply with a residual against the product without one, then
    /// `+ R` and the activation: bitwise, on every kernel, edge tiles,
    /// several k blocks, and one and two threads.
    func testGemmResidualEpilogueGivesTheUnfusedBits() throws {
        var values = GemmTests.Values(state: 17)
        for (m, n, k) in [(6, 16, 8), (13, 37, 5), (24, 64, 700), (50, 3, 7), (30, 100, 40)] {
            let a = values.floats(m * k), b = values.floats(k * n), bias = values.floats(m), residual = values.floats(m * n)
            for kernel in [Gemm.KernelChoice.automatic, .portable, .noWide] {
                for threads in [1, 2] {
                    for activation in [Gemm.Activation.none, .relu, .clip(min: -0.2, max: 0.3), .silu] {
                        var fused = [Float](repeating: .nan, count: m * n)
                        var plain = [Float](repeating: .nan, count: m * n)
                        try a.withUnsafeBufferPointer { a in
                            try b.withUnsafeBufferPointer { b in
                                try bias.withUnsafeBufferPointer { bias in
                                    try residual.withUnsafeBufferPointer { residual in
                                        let left = Gemm.Operand.matrix(.rowMajor(a.baseAddress, columns: k))
                                        let right = Gemm.Operand.matrix(.rowMajor(b.baseAddress, columns: n))
                                        let rowBias = Gemm.Bias.row(try XCTUnwrap(bias.baseAddress))
                                        try fused.withUnsafeMutableBufferPointer { c in
                                            try Gemm.multiply(
                                                m: m, n: n, k: k, a: left, b: right, c: try XCTUnwrap(c.baseAddress), ldc: n,
                                                bias: rowBias, residual: residual.baseAddress, activation: activation,
                                                threads: threads, kernel: kernel)
                                        }
                                        try plain.withUnsafeMutableBufferPointer { c in
                                            try Gemm.multiply(
                                                m: m, n: n, k: k, a: left, b: right, c: try XCTUnwrap(c.baseAddress), ldc: n,
                                                bias: rowBias, threads: threads, kernel: kernel)
                                        }
                                    }
                                }
                            }
                        }
                        let summed = zip(plain, residual).map { $0 + $1 }
                        let expected = try summed.withUnsafeBufferPointer { sums in
                            try Tensor(shape: [m * n], scalars: Array(sums))
                        }
                        FusedActivation(gemmEpilogue: activation)?.apply(toFresh: expected, threads: 1)
                        let want = try expected.scalars(as: Float.self)
                        let label = "\(m)×\(n)×\(k) \(kernel) threads \(threads) \(activation)"
                        if kernel == .portable, activation == .silu {
                            // The portable kernel's SiLU is built without FMA, unlike the elementwise
                            // loop this CPU runs (as in GemmTests.testSiLUEpilogueGivesTheUnfusedBits).
                            for (index, value) in fused.enumerated() {
                                XCTAssertEqual(value, want[index], accuracy: 1e-6 * max(1, abs(want[index])), label)
                            }
                        } else {
                            XCTAssertEqual(fused.map(\.bitPattern), want.map(\.bitPattern), label)
                        }
                    }
                }
            }
        }
    }
}
