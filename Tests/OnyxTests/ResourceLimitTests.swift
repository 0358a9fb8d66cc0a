import Onyx
import OnyxTesting
import XCTest

/// Operators asked for absurd sizes fail with `resourceLimit` before
/// allocating, and `SessionOptions.memoryLimitBytes` bounds the tensor
/// bytes one run holds at once.
final class ResourceLimitTests: XCTestCase {
    /// A session over a one-node graph whose inputs are all fed at run time.
    private func session(
        _ op: String, _ inputs: [(String, Tensor)], opset: Int = 21,
        _ attributes: KeyValuePairs<String, AttributeLiteral> = [:], limit: Int = 1 << 20, outputs: Int = 1
    ) throws -> (Session, [String: Tensor]) {
        var g = GraphBuilder(opset: opset)
        for (name, tensor) in inputs where !name.isEmpty { g.input(name, tensor.shape, tensor.elementType) }
        let outputNames = (0..<outputs).map { "y\($0)" }
        g.node(op, inputs.map(\.0), outputNames, attributes)
        for name in outputNames { g.output(name) }
        var options = SessionOptions()
        options.memoryLimitBytes = limit
        options.optimize = false
        let feeds = Dictionary(inputs.filter { !$0.0.isEmpty }, uniquingKeysWith: { a, _ in a })
        return (try Session(model: try g.model(), options: options), feeds)
    }

    /// Asserts that running `op` fails with `resourceLimit` naming the node.
    private func assertRefused(
        _ op: String, _ inputs: [(String, Tensor)], opset: Int = 21,
        _ attributes: KeyValuePairs<String, AttributeLiteral> = [:], outputs: Int = 1, line: UInt = #line
    ) throws {
        let (session, feeds) = try session(op, inputs, opset: opset, attributes, outputs: outputs)
        XCTAssertThrowsError(try session.run(feeds), op, line: line) { error in
            guard let error = error as? OnyxError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(error.kind, .resourceLimit, error.description, line: line)
            XCTAssertEqual(error.node?.opType, op, error.description, line: line)
        }
    }

    private func ints(_ values: [Int64]) throws -> Tensor { try Tensor(shape: [values.count], scalars: values) }
    private func floats(_ values: [Float]) throws -> Tensor { try Tensor(shape: [values.count], scalars: values) }

    func testConstantOfShapeExpandTileRefuseAbsurdSizes() throws {
        try assertRefused("ConstantOfShape", [("shape", ints([1 << 20, 1 << 20]))])
        // Over the 1 MiB session limit, far under the process-wide one.
        try assertRefused("ConstantOfShape", [("shape", ints([1 << 19]))])
        try assertRefused("Expand", [("x", floats([1])), ("shape", ints([1 << 30, 1 << 20]))])
        try assertRefused("Tile", [("x", floats([1, 2])), ("repeats", ints([1 << 40]))])
    }

    func testRangePadOneHotRefuseAbsurdSizes() throws {
        try assertRefused("Range", [("a", Tensor(scalar: Int64(0))), ("b", Tensor(scalar: Int64.max)), ("c", Tensor(scalar: Int64(1)))])
        try assertRefused("Range", [("a", Tensor(scalar: Float(0))), ("b", Tensor(scalar: Float(1))), ("c", Tensor(scalar: Float(1e-12)))])
        try assertRefused("Pad", [("x", floats([1, 2])), ("pads", ints([0, 1 << 40]))])
        // An empty output along one axis does not excuse an absurd length along another.
        let square = try Tensor(shape: [2, 2], scalars: [Float](repeating: 1, count: 4))
        try assertRefused("CenterCropPad", [("x", square), ("shape", ints([0, Int64.max]))], opset: 18)
        try assertRefused(
            "OneHot", [("i", ints([0, 1])), ("depth", Tensor(scalar: Int64(1) << 40)), ("v", floats([0, 1]))])
    }

    func testResizeAndWindowsRefuseAbsurdSizes() throws {
        let image = try Tensor(shape: [1, 1, 2, 2], scalars: [Float](repeating: 1, count: 4))
        try assertRefused("Resize", [("x", image), ("", image), ("", image), ("sizes", ints([1, 1, 1 << 20, 1 << 20]))], opset: 13)
        try assertRefused("Resize", [("x", image), ("", image), ("scales", floats([1, 1, 1e6, 1e6]))], opset: 13)
        try assertRefused("HannWindow", [("size", Tensor(scalar: Int32.max))], opset: 17)
        try assertRefused("Upsample", [("x", image), ("scales", floats([1, 1, 1e6, 1e6]))], opset: 9)
    }

    /// A Loop with an absurd trip count stops at `maxLoopIterations`.
    func testLoopTripCountIsCapped() throws {
        var body = GraphBuilder(opset: 16, name: "body")
        body.input("i", [], .int64)
        body.input("c", [], .bool)
        body.input("acc", [], .int64)
        body.node("Add", ["acc", "i"], ["acc_out"])
        body.node("Identity", ["c"], ["c_out"])
        body.output("c_out", "acc_out")
        var g = GraphBuilder(opset: 16)
        g.input("M", [], .int64)
        g.input("acc", [], .int64)
        g.node("Loop", ["M", "", "acc"], ["total"], ["body": AttributeLiteral(.graph(body.currentGraph))])
        g.output("total")
        var options = SessionOptions()
        options.maxLoopIterations = 100
        let session = try Session(model: try g.model(), options: options)
        XCTAssertEqual(
            try session.run(["M": Tensor(scalar: Int64(100)), "acc": Tensor(scalar: Int64(0))])["total"],
            Tensor(scalar: Int64(4950)))
        XCTAssertThrowsError(try session.run(["M": Tensor(scalar: Int64.max), "acc": Tensor(scalar: Int64(0))])) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .resourceLimit, "\(error)")
            XCTAssertEqual((error as? OnyxError)?.node?.opType, "Loop", "\(error)")
        }
    }

    /// The limit counts what the run holds at once: three 0.5 MiB tensors
    /// alive together exceed 1.25 MiB (an Add of two values that stay live:
    /// graph outputs, so the sum cannot overwrite either), two at a time
    /// (a unary op and its input) do not, and
    /// the bytes are returned when a value dies or a run ends.
    func testSessionLimitCountsTheBytesARunHolds() throws {
        let count = 1 << 17  // 0.5 MiB of float
        let x = try Tensor(shape: [count], scalars: [Float](repeating: 1, count: count))
        func model(keepingBoth: Bool) throws -> Model {
            var g = GraphBuilder()
            g.input("x", [count])
            g.node("Neg", ["x"], ["a"])
            g.node("Neg", ["a"], ["b"])
            if keepingBoth {
                g.node("Add", ["a", "b"], ["c"])
                g.output("a")
                g.output("b")
            } else {
                g.node("Identity", ["b"], ["c"])
            }
            g.output("c")
            return try g.model()
        }
        var options = SessionOptions()
        options.optimize = false
        options.memoryLimitBytes = 5 << 18  // 1.25 MiB
        let sequential = try Session(model: try model(keepingBoth: false), options: options)
        for _ in 0..<3 { XCTAssertEqual(try sequential.run(["x": x])["c"]?.count, count) }
        let overlapping = try Session(model: try model(keepingBoth: true), options: options)
        XCTAssertThrowsError(try overlapping.run(["x": x])) { error in
            guard let error = error as? OnyxError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .resourceLimit, error.description)
            XCTAssertTrue(error.description.contains("memoryLimitBytes"), error.description)
        }
        options.memoryLimitBytes = 7 << 18
        XCTAssertEqual(try Session(model: try model(keepingBoth: true), options: options).run(["x": x])["c"]?.count, count)
    }

    /// Scan runs its body once per scanned position; more than
    /// `maxLoopIterations` positions is refused before the first run.
    func testScanLengthIsCapped() throws {
        var body = GraphBuilder(opset: 16, name: "body")
        body.input("sum", [], .float)
        body.input("x", [], .float)
        body.node("Add", ["sum", "x"], ["sum_out"])
        body.output("sum_out")
        var g = GraphBuilder(opset: 16)
        g.input("init", [], .float)
        g.input("xs", [200], .float)
        g.node("Scan", ["init", "xs"], ["total"], ["body": AttributeLiteral(.graph(body.currentGraph)), "num_scan_inputs": 1])
        g.output("total")
        let feeds = ["init": Tensor(scalar: Float(0)), "xs": try Tensor(shape: [200], scalars: [Float](repeating: 1, count: 200))]
        var options = SessionOptions()
        options.maxLoopIterations = 200
        XCTAssertEqual(try Session(model: try g.model(), options: options).run(feeds)["total"], Tensor(scalar: Float(200)))
        options.maxLoopIterations = 199
        XCTAssertThrowsError(try Session(model: try g.model(), options: options).run(feeds)) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .resourceLimit, "\(error)")
            XCTAssertEqual((error as? OnyxError)?.node?.opType, "Scan", "\(error)")
        }
    }
}
