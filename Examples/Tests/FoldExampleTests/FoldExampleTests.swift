import OnyxTesting
import XCTest

// The README's OnyxTesting snippet, verbatim.
final class MyFoldTests: XCTestCase {
    func testConvBatchNormFolds() throws {
        var g = GraphBuilder(opset: 15)
        g.input("x", [1, 3, 8, 8])
        g.node("Conv", ["x", g.random("w", [4, 3, 3, 3], seed: 1)], ["c"], ["pads": [1, 1, 1, 1]])
        let stats = [g.random("s", [4], seed: 2), g.random("b", [4], seed: 3),
                     g.random("m", [4], seed: 4), g.random("v", [4], seed: 5, in: 0.5...2)]
        g.node("BatchNormalization", ["c"] + stats, ["y"])
        g.output("y")
        // Runs one pass (or the pipeline with pass: nil), checks op counts, that
        // output names survive and that outputs agree within 1e-5 on seeded inputs.
        assertFolds(try g.model(), pass: "fold-batchnorm", after: ["BatchNormalization": 0, "Conv": 1])
        g.output("c")   // now the Conv output is a graph output: must not fold
        assertDoesNotFold(try g.model(), pass: "fold-batchnorm", reason: "is a graph output")
    }
}
