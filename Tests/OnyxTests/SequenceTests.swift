import XCTest
@testable import Onyx

final class SequenceTests: XCTestCase {
    typealias K = ControlFlowKit

    private func runOne(
        _ op: String, _ inputs: [String], _ feeds: [String: Value], _ attributes: [Attribute] = [], opset: Int = 24
    ) throws -> Value {
        let graph = K.graph([K.node(op, inputs, ["out"], attributes)], inputs: feeds.keys.sorted(), outputs: ["out"])
        return try K.run(graph, opset: opset, feeds)[0]
    }

    private func sequence(_ values: [[Float]]) throws -> Value {
        .sequence(try values.map { try Tensor(shape: [$0.count], scalars: $0) }, elementType: .float)
    }

    func testSplitToSequence() throws {
        let x = try K.vector([Float(0), 1, 2, 3, 4])
        let chunks = try runOne("SplitToSequence", ["x", "split"], ["x": x, "split": K.scalar(Int64(2))])
        XCTAssertEqual(chunks, try sequence([[0, 1], [2, 3], [4]]))
        let listed = try runOne("SplitToSequence", ["x", "split"], ["x": x, "split": try K.vector([Int32(1), 4])])
        XCTAssertEqual(listed, try sequence([[0], [1, 2, 3, 4]]))
        XCTAssertThrowsError(try runOne("SplitToSequence", ["x", "split"], ["x": x, "split": try K.vector([Int64(1), 2])]))
        XCTAssertThrowsError(try runOne("SplitToSequence", ["x", "split"], ["x": x, "split": K.scalar(Int64(0))]))
        let matrix = try K.vector([Float(1), 2, 3, 4, 5, 6], [2, 3])
        let columns = try runOne("SplitToSequence", ["x"], ["x": matrix], [.int("axis", -1), .int("keepdims", 0)])
        XCTAssertEqual(columns, try sequence([[1, 4], [2, 5], [3, 6]]))
        let kept = try runOne("SplitToSequence", ["x"], ["x": matrix], [.int("axis", 0)])
        XCTAssertEqual(try kept.asSequence().map(\.shape), [[1, 3], [1, 3]])
    }

    func testConcatFromSequence() throws {
        let parts = Value.sequence(
            [try Tensor(shape: [2, 1], scalars: [Float(1), 2]), try Tensor(shape: [2, 1], scalars: [Float(3), 4])],
            elementType: .float)
        let joined = try runOne("ConcatFromSequence", ["s"], ["s": parts], [.int("axis", -1)])
        XCTAssertEqual(joined, try K.vector([Float(1), 3, 2, 4], [2, 2]))
        let stacked = try runOne("ConcatFromSequence", ["s"], ["s": parts], [.int("axis", -1), .int("new_axis", 1)])
        XCTAssertEqual(stacked, try K.vector([Float(1), 3, 2, 4], [2, 1, 2]))
        let first = try runOne("ConcatFromSequence", ["s"], ["s": parts], [.int("axis", 0), .int("new_axis", 1)])
        XCTAssertEqual(first, try K.vector([Float(1), 2, 3, 4], [2, 2, 1]))
        XCTAssertThrowsError(try runOne("ConcatFromSequence", ["s"], ["s": parts], [.int("axis", 2)]))
        XCTAssertThrowsError(try runOne("ConcatFromSequence", ["s"], ["s": .sequence([], elementType: .float)], [.int("axis", 0)]))
    }

    func testPositionsInsertAtEraseLength() throws {
        let s = try sequence([[1], [2], [3]])
        let t = try K.vector([Float(9)])
        XCTAssertEqual(try runOne("SequenceInsert", ["s", "t"], ["s": s, "t": t]), try sequence([[1], [2], [3], [9]]))
        XCTAssertEqual(
            try runOne("SequenceInsert", ["s", "t", "p"], ["s": s, "t": t, "p": K.scalar(Int64(-3))]),
            try sequence([[9], [1], [2], [3]]))
        XCTAssertEqual(
            try runOne("SequenceInsert", ["s", "t", "p"], ["s": s, "t": t, "p": K.scalar(Int32(3))]),
            try sequence([[1], [2], [3], [9]]))
        XCTAssertThrowsError(try runOne("SequenceInsert", ["s", "t", "p"], ["s": s, "t": t, "p": K.scalar(Int64(4))]))
        XCTAssertThrowsError(try runOne("SequenceInsert", ["s", "t"], ["s": s, "t": K.scalar(Int64(1))]))
        XCTAssertEqual(try runOne("SequenceAt", ["s", "p"], ["s": s, "p": K.scalar(Int64(-1))]), try K.vector([Float(3)]))
        XCTAssertThrowsError(try runOne("SequenceAt", ["s", "p"], ["s": s, "p": K.scalar(Int64(3))]))
        XCTAssertEqual(try runOne("SequenceErase", ["s"], ["s": s]), try sequence([[1], [2]]))
        XCTAssertEqual(try runOne("SequenceErase", ["s", "p"], ["s": s, "p": K.scalar(Int64(-3))]), try sequence([[2], [3]]))
        XCTAssertThrowsError(try runOne("SequenceErase", ["s"], ["s": .sequence([], elementType: .float)]))
        XCTAssertEqual(try runOne("SequenceLength", ["s"], ["s": s]), K.scalar(Int64(3)))
        let empty = try runOne("SequenceEmpty", [], [:], [.int("dtype", Int(ElementType.int32.rawValue))])
        XCTAssertEqual(empty, .sequence([], elementType: .int32))
        XCTAssertEqual(try runOne("SequenceEmpty", [], [:]), .sequence([], elementType: .float))
        XCTAssertThrowsError(try runOne("SequenceConstruct", ["a", "b"], ["a": t, "b": K.scalar(Int64(1))]))
    }

    /// Body out = a + b: with a tensor b it is added to every element; with a
    /// sequence b elements pair up.
    func testSequenceMap() throws {
        let body = K.graph([K.node("Add", ["a", "b"], ["sum"])], inputs: ["a", "b"], outputs: ["sum"])
        let s = try sequence([[1, 2], [3]])
        let withTensor = try runOne("SequenceMap", ["s", "b"], ["s": s, "b": K.scalar(Float(10))], [K.body("body", body)], opset: 17)
        XCTAssertEqual(withTensor, try sequence([[11, 12], [13]]))
        let paired = try runOne("SequenceMap", ["s", "b"], ["s": s, "b": try sequence([[1, 1], [5]])], [K.body("body", body)], opset: 17)
        XCTAssertEqual(paired, try sequence([[2, 3], [8]]))
        XCTAssertThrowsError(
            try runOne("SequenceMap", ["s", "b"], ["s": s, "b": try sequence([[1]])], [K.body("body", body)], opset: 17))
    }

    func testOptionals() throws {
        let typed = Attribute(name: "type", value: .type(.tensor(elementType: .float, shape: nil)))
        let graph = K.graph(
            [K.node("Optional", [], ["empty"], [typed]), K.node("OptionalHasElement", ["empty"], ["has_empty"]),
             K.node("Optional", ["x"], ["full"]), K.node("OptionalHasElement", ["full"], ["has_full"]),
             K.node("OptionalGetElement", ["full"], ["back"]), K.node("OptionalHasElement", [""], ["has_nothing"])],
            inputs: ["x"], outputs: ["empty", "has_empty", "has_full", "back", "has_nothing"])
        let x = try K.vector([Float(1)])
        XCTAssertEqual(try K.run(graph, opset: 18, ["x": x]), [.none, K.scalar(false), K.scalar(true), x, K.scalar(false)])
        let getEmpty = K.graph(
            [K.node("Optional", [], ["e"], [typed]), K.node("OptionalGetElement", ["e"], ["y"])], inputs: [], outputs: ["y"])
        XCTAssertThrowsError(try K.run(getEmpty, opset: 18, [:]))
        let untyped = K.graph([K.node("Optional", [], ["e"])], inputs: [], outputs: ["e"])
        XCTAssertThrowsError(try K.run(untyped, opset: 18, [:]))
        let mismatch = K.graph([K.node("Optional", ["x"], ["e"], [typed])], inputs: ["x"], outputs: ["e"])
        XCTAssertThrowsError(try K.run(mismatch, opset: 18, ["x": K.scalar(Int64(1))]))
    }
}
