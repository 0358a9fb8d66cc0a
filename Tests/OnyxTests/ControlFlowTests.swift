import XCTest
@testable import Onyx

/// Builds small graphs with subgraphs and runs them with sequence and
/// optional values (the conformance data lacks those).
enum ControlFlowKit {
    static func node(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Attribute] = []) -> Node {
        Node(opType: op, inputs: inputs, outputs: outputs, attributes: attributes)
    }

    static func tensorInfo(_ name: String, _ type: ElementType? = nil, _ shape: [Int]? = nil) -> ValueInfo {
        ValueInfo(name: name, type: .tensor(elementType: type, shape: shape?.map { .known($0) }))
    }

    static func graph(
        _ nodes: [Node], inputs: [String], outputs: [String], constants: [String: Tensor] = [:],
        outputInfo: [ValueInfo]? = nil
    ) -> Graph {
        var graph = Graph(
            name: "g", nodes: nodes, inputs: inputs.map { ValueInfo(name: $0, type: nil) },
            outputs: outputInfo ?? outputs.map { ValueInfo(name: $0, type: nil) })
        for (name, tensor) in constants.sorted(by: { $0.key < $1.key }) { graph.constants[name] = tensor }
        return graph
    }

    static func body(_ name: String, _ graph: Graph) -> Attribute { Attribute(name: name, value: .graph(graph)) }

    /// Runs `graph` at `opset` on `feeds`; returns the outputs in order.
    static func run(
        _ graph: Graph, opset: Int, _ feeds: [String: Value], options: SessionOptions = .init()
    ) throws -> [Value] {
        let session = try Session(model: Model(opsetImports: [OpsetImport(domain: "", version: opset)], graph: graph), options: options)
        return try session.runValues(feeds)
    }

    static func scalar<T: TensorScalar>(_ value: T) -> Value { .tensor(Tensor(scalar: value)) }
    static func vector<T: TensorScalar>(_ values: [T], _ shape: [Int]? = nil) throws -> Value {
        .tensor(try Tensor(shape: shape ?? [values.count], scalars: values))
    }
}

final class ControlFlowTests: XCTestCase {
    typealias K = ControlFlowKit

    func testIfPicksBranchAndReadsOuterScope() throws {
        let ten = Tensor(scalar: Float(10))
        let thenGraph = K.graph([K.node("Add", ["x", "c"], ["t"])], inputs: [], outputs: ["t"], constants: ["c": ten])
        let elseGraph = K.graph([K.node("SequenceConstruct", ["x", "x"], ["s"])], inputs: [], outputs: ["s"])
        let main = K.graph(
            [K.node("If", ["cond"], ["y"], [K.body("then_branch", thenGraph), K.body("else_branch", elseGraph)])],
            inputs: ["cond", "x"], outputs: ["y"])
        let x = try K.vector([Float(1), 2])
        XCTAssertEqual(try K.run(main, opset: 13, ["cond": K.scalar(true), "x": x]), [try K.vector([Float(11), 12])])
        let seq = try K.run(main, opset: 13, ["cond": K.scalar(false), "x": x])[0]
        XCTAssertEqual(try seq.asSequence().count, 2)
        XCTAssertThrowsError(try K.run(main, opset: 13, ["cond": try K.vector([true, false]), "x": x]))
        let passThrough = K.graph(
            [K.node("If", ["cond"], ["y"], [
                K.body("then_branch", K.graph([], inputs: [], outputs: ["x"])), K.body("else_branch", elseGraph),
            ])],
            inputs: ["cond", "x"], outputs: ["y"])
        XCTAssertEqual(try K.run(passThrough, opset: 11, ["cond": K.scalar(true), "x": x]), [x])
    }

    /// Body: y_out = y_in + i; scan = y_out * 2, for M = 3: y 0→0→1→3, scan [0, 2, 6].
    func testLoopWithTripCountCarriesAndStacks() throws {
        let two = Tensor(scalar: Int64(2))
        let body = K.graph(
            [K.node("Add", ["y_in", "i"], ["y_out"]), K.node("Mul", ["y_out", "two"], ["scan"])],
            inputs: ["i", "cond_in", "y_in"], outputs: ["cond_in", "y_out", "scan"], constants: ["two": two])
        let main = K.graph(
            [K.node("Loop", ["M", "", "y"], ["y_final", "scans"], [K.body("body", body)])],
            inputs: ["M", "y"], outputs: ["y_final", "scans"])
        let out = try K.run(main, opset: 11, ["M": K.scalar(Int64(3)), "y": K.scalar(Int64(0))])
        XCTAssertEqual(out[0], K.scalar(Int64(3)))
        XCTAssertEqual(out[1], try K.vector([Int64(0), 2, 6]))
    }

    /// While loop: y += 2 while y < 5; the body's cond decides, scans [2, 4, 6].
    func testLoopWithConditionStopsWhenBodySaysSo() throws {
        let body = K.graph(
            [K.node("Add", ["y_in", "two"], ["y_out"]), K.node("Less", ["y_out", "five"], ["cond_out"]),
             K.node("Mul", ["y_out", "one"], ["scan"])],
            inputs: ["i", "cond_in", "y_in"], outputs: ["cond_out", "y_out", "scan"],
            constants: ["two": Tensor(scalar: Float(2)), "five": Tensor(scalar: Float(5)), "one": Tensor(scalar: Float(1))])
        let main = K.graph(
            [K.node("Loop", ["", "cond", "y"], ["y_final", "scans"], [K.body("body", body)])],
            inputs: ["cond", "y"], outputs: ["y_final", "scans"])
        let out = try K.run(main, opset: 13, ["cond": K.scalar(true), "y": K.scalar(Float(0))])
        XCTAssertEqual(out, [K.scalar(Float(6)), try K.vector([Float(2), 4, 6])])
        let none = try K.run(main, opset: 13, ["cond": K.scalar(false), "y": K.scalar(Float(0))])
        XCTAssertEqual(none[0], K.scalar(Float(0)))
        XCTAssertEqual(try none[1].asTensor().shape, [0])
    }

    /// Without a `cond` input the body's cond_out is ignored (spec table);
    /// without M either, only the iteration limit ends the loop.
    func testLoopIgnoresBodyConditionWithoutCondInputAndHonoursLimit() throws {
        let body = K.graph(
            [K.node("Less", ["i", "zero"], ["stop"]), K.node("Add", ["y_in", "i"], ["y_out"])],
            inputs: ["i", "cond_in", "y_in"], outputs: ["stop", "y_out"], constants: ["zero": Tensor(scalar: Int64(0))])
        let counted = K.graph(
            [K.node("Loop", ["M", "", "y"], ["y_final"], [K.body("body", body)])], inputs: ["M", "y"], outputs: ["y_final"])
        XCTAssertEqual(try K.run(counted, opset: 16, ["M": K.scalar(Int64(4)), "y": K.scalar(Int64(0))]), [K.scalar(Int64(6))])
        let endless = K.graph(
            [K.node("Loop", ["", "", "y"], ["y_final"], [K.body("body", body)])], inputs: ["y"], outputs: ["y_final"])
        var options = SessionOptions()
        options.maxLoopIterations = 10
        XCTAssertThrowsError(try K.run(endless, opset: 16, ["y": K.scalar(Int64(0))], options: options)) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .resourceLimit, "\(error)")
        }
    }

    /// Zero iterations: the scan output is empty with the declared element
    /// shape, or with the shape of a trial body run when nothing is declared.
    func testLoopWithoutIterationsShapesScanOutputs() throws {
        let nodes = [K.node("Add", ["x", "y_in"], ["y_out"]), K.node("Add", ["y_out", "x"], ["scan"])]
        let declared = K.graph(
            nodes, inputs: ["i", "c", "y_in"], outputs: [],
            outputInfo: [K.tensorInfo("c"), K.tensorInfo("y_out"), K.tensorInfo("scan", .double, [2, 3])])
        let untyped = K.graph(nodes, inputs: ["i", "c", "y_in"], outputs: ["c", "y_out", "scan"])
        for (body, shape, type) in [(declared, [0, 2, 3], ElementType.double), (untyped, [0, 3], .float)] {
            let main = K.graph(
                [K.node("Loop", ["M", "", "y"], ["y_final", "scans"], [K.body("body", body)])],
                inputs: ["M", "y", "x"], outputs: ["y_final", "scans"])
            let out = try K.run(main, opset: 13, [
                "M": K.scalar(Int64(0)), "y": try K.vector([Float(1), 2, 3]), "x": try K.vector([Float(1), 1, 1]),
            ])
            XCTAssertEqual(out[0], try K.vector([Float(1), 2, 3]))
            XCTAssertEqual(try out[1].asTensor().shape, shape)
            XCTAssertEqual(try out[1].asTensor().elementType, type)
        }
    }

    /// A sequence as the loop-carried value (opset 13): one insert per iteration.
    func testLoopCarriesSequences() throws {
        let body = K.graph(
            [K.node("SequenceInsert", ["s_in", "i"], ["s_out"])],
            inputs: ["i", "c", "s_in"], outputs: ["c", "s_out"])
        let main = K.graph(
            [K.node("SequenceEmpty", [], ["empty"], [.int("dtype", Int(ElementType.int64.rawValue))]),
             K.node("Loop", ["M", "", "empty"], ["s"], [K.body("body", body)]),
             K.node("ConcatFromSequence", ["s"], ["joined"], [.int("axis", 0), .int("new_axis", 1)])],
            inputs: ["M"], outputs: ["s", "joined"])
        let out = try K.run(main, opset: 13, ["M": K.scalar(Int64(3))])
        XCTAssertEqual(try out[0].asSequence().count, 3)
        XCTAssertEqual(out[1], try K.vector([Int64(0), 1, 2]))
    }
}
