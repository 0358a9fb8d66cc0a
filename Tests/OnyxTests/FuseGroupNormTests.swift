import OnyxTesting
import XCTest
@testable import Onyx

/// `fuse-groupnorm`: GroupNorm exported as Reshape + InstanceNormalization.
final class FuseGroupNormTests: XCTestCase {
    let pass = "fuse-groupnorm"

    struct Variant {
        var opset = 13
        var batchDim: Int64 = 0
        var shapeFromConstant = false
        var instanceScale = 1.0
        var affine = true
        var shareInstanceNorm = false
    }

    /// x [2, 6, 4, 5] → Reshape [*, 3, -1] → InstanceNormalization → Reshape
    /// back → Mul γ[6,1,1] → Add β[6,1,1] → y, as PyTorch exports nn.GroupNorm.
    static func exported(_ v: Variant) -> GraphBuilder {
        var g = GraphBuilder(opset: v.opset)
        g.input("x", [2, 6, 4, 5])
        g.initializer("group_shape", [Double(v.batchDim), 3, -1], as: .int64)
        g.node("Reshape", ["x", "group_shape"], ["grouped"])
        g.initializer("in_scale", [Double](repeating: v.instanceScale, count: 3))
        g.initializer("in_bias", [0, 0, 0])
        g.node("InstanceNormalization", ["grouped", "in_scale", "in_bias"], ["normalized"], ["epsilon": 1e-4])
        if v.shapeFromConstant {
            g.initializer("x_shape", [2, 6, 4, 5], as: .int64)
        } else {
            g.node("Shape", ["x"], ["x_shape"])
        }
        g.node("Reshape", ["normalized", "x_shape"], ["restored"])
        var last = "restored"
        if v.affine {
            last = g.node("Mul", ["restored", g.random("gamma", [6, 1, 1], seed: 1, in: 0.5...2)], ["scaled"])
            last = g.node("Add", ["scaled", g.random("beta", [6, 1, 1], seed: 2)], ["shifted"])
        }
        g.node("Sigmoid", [last], ["y"])
        g.output("y")
        if v.shareInstanceNorm {
            g.output("normalized")
        }
        return g
    }

    func testExportedPatternFuses() throws {
        for opset in [13, 18, 21] {
            let outcome = assertFolds(
                try Self.exported(Variant(opset: opset)).model(), pass: pass,
                before: ["InstanceNormalization": 1, "Reshape": 2],
                after: ["GroupNorm": 1, "InstanceNormalization": 0, "Reshape": 0, "Shape": 0, "Mul": 0, "Add": 0, "Sigmoid": 1])
            let fused = outcome?.optimized.graph.nodes.first { $0.opType == "GroupNorm" }
            XCTAssertEqual(fused?.domain, OnyxDomain.name)
            XCTAssertEqual(fused?.intAttribute("num_groups", default: 0), 3)
            let lowered = outcome?.lowered.map { OptimizerAssertions.opCounts($0.graph) }
            XCTAssertEqual(lowered?["GroupNormalization"] ?? 0, opset >= 21 ? 1 : 0, "opset \(opset)")
            XCTAssertEqual(lowered?["InstanceNormalization"] ?? 0, opset >= 21 ? 0 : 1, "opset \(opset)")
        }
    }

    func testVariants() throws {
        assertFolds(try Self.exported(Variant(batchDim: 2)).model(), pass: pass, after: ["GroupNorm": 1])
        assertFolds(try Self.exported(Variant(shapeFromConstant: true)).model(), pass: pass, after: ["GroupNorm": 1, "Reshape": 0])
        assertFolds(try Self.exported(Variant(affine: false)).model(), pass: pass, after: ["GroupNorm": 1, "Reshape": 0])
    }

    func testGuardsDecline() throws {
        assertDoesNotFold(try Self.exported(Variant(instanceScale: 2)).model(), pass: pass, reason: "not all ones")
        assertDoesNotFold(try Self.exported(Variant(shareInstanceNorm: true)).model(), pass: pass,
                          reason: "instance-normalized value \"normalized\" is a graph output")
        assertDoesNotFold(try Self.exported(Variant(batchDim: 1)).model(), pass: pass, reason: "declared batch size")

        var g = Self.exported(Variant())
        g.random("gamma", [1, 6, 4, 1], seed: 1)
        assertDoesNotFold(try g.model(), pass: pass, reason: "not per channel")

        g = Self.exported(Variant(shapeFromConstant: true, affine: false))
        g.initializer("x_shape", [2, 6, 20], as: .int64)
        assertDoesNotFold(try g.model(), pass: pass, reason: "does not restore X's shape")
    }
}
