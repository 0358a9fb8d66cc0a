import XCTest
@testable import Onyx

final class ScanTests: XCTestCase {
    typealias K = ControlFlowKit

    /// Body s_out = s_in + e, scan = s_out + 0.
    private func sumBody() -> Graph {
        K.graph(
            [K.node("Add", ["s_in", "e"], ["s_out"]), K.node("Add", ["s_out", "zero"], ["scan"])],
            inputs: ["s_in", "e"], outputs: ["s_out", "scan"], constants: ["zero": Tensor(scalar: Float(0))])
    }

    /// x = [[1,2,3],[4,5,6]] scanned along axis 1 backwards: elements [3,6],
    /// [2,5], [1,4]; sums [3,6], [5,11], [6,15]; prepended and stacked on
    /// axis -1 (= 1): [[6,5,3],[15,11,6]].
    func testScan9AxesAndDirections() throws {
        let main = K.graph(
            [K.node("Scan", ["s", "x"], ["final", "stacked"], [
                K.body("body", sumBody()), .int("num_scan_inputs", 1), .ints("scan_input_axes", [1]),
                .ints("scan_input_directions", [1]), .ints("scan_output_axes", [-1]), .ints("scan_output_directions", [1]),
            ])],
            inputs: ["s", "x"], outputs: ["final", "stacked"])
        let out = try K.run(main, opset: 16, [
            "s": try K.vector([Float(0), 0]), "x": try K.vector([Float(1), 2, 3, 4, 5, 6], [2, 3]),
        ])
        XCTAssertEqual(out[0], try K.vector([Float(6), 15]))
        XCTAssertEqual(out[1], try K.vector([Float(6), 5, 3, 15, 11, 6], [2, 3]))
    }

    /// Opset 8: batch axis 0, sequence_lens [3, 2], reversed input. Batch 0
    /// sees 3,2,1 (sums 3,5,6); batch 1 sees 20,10 (sums 20,30) then padding.
    func testScan8BatchesWithSequenceLengths() throws {
        let main = K.graph(
            [K.node("Scan", ["lens", "s", "x"], ["final", "stacked"], [
                K.body("body", sumBody()), .int("num_scan_inputs", 1), .ints("directions", [1]),
            ])],
            inputs: ["lens", "s", "x"], outputs: ["final", "stacked"])
        let out = try K.run(main, opset: 8, [
            "lens": try K.vector([Int64(3), 2]), "s": try K.vector([Float(0), 0], [2, 1]),
            "x": try K.vector([Float(1), 2, 3, 10, 20, 30], [2, 3, 1]),
        ])
        XCTAssertEqual(out[0], try K.vector([Float(6), 30], [2, 1]))
        XCTAssertEqual(out[1], try K.vector([Float(3), 5, 6, 20, 30, 0], [2, 3, 1]))
        XCTAssertThrowsError(try K.run(main, opset: 8, [
            "lens": try K.vector([Int64(4), 2]), "s": try K.vector([Float(0), 0], [2, 1]),
            "x": try K.vector([Float(1), 2, 3, 10, 20, 30], [2, 3, 1]),
        ]))
    }

    /// Zero-length scan: states pass through, scan output shaped by a trial run.
    func testScanWithoutIterations() throws {
        let main = K.graph(
            [K.node("Scan", ["s", "x"], ["final", "stacked"], [K.body("body", sumBody()), .int("num_scan_inputs", 1)])],
            inputs: ["s", "x"], outputs: ["final", "stacked"])
        let out = try K.run(main, opset: 11, [
            "s": try K.vector([Float(7), 8]), "x": .tensor(try Tensor(shape: [0, 2], scalars: [Float]())),
        ])
        XCTAssertEqual(out[0], try K.vector([Float(7), 8]))
        XCTAssertEqual(try out[1].asTensor().shape, [0, 2])
    }

    func testScanRejectsMismatchedLengthsAndBadAttributes() throws {
        let twoInputs = K.graph(
            [K.node("Add", ["a", "b"], ["scan"])], inputs: ["a", "b"], outputs: ["scan"])
        let main = K.graph(
            [K.node("Scan", ["x", "y"], ["stacked"], [K.body("body", twoInputs), .int("num_scan_inputs", 2)])],
            inputs: ["x", "y"], outputs: ["stacked"])
        XCTAssertEqual(
            try K.run(main, opset: 9, ["x": try K.vector([Float(1), 2]), "y": try K.vector([Float(10), 20])]),
            [try K.vector([Float(11), 22])])
        XCTAssertThrowsError(
            try K.run(main, opset: 9, ["x": try K.vector([Float(1), 2]), "y": try K.vector([Float(10), 20, 30])]))
        let bad = K.graph(
            [K.node("Scan", ["x", "y"], ["stacked"], [
                K.body("body", twoInputs), .int("num_scan_inputs", 2), .ints("scan_input_directions", [2, 0]),
            ])],
            inputs: ["x", "y"], outputs: ["stacked"])
        XCTAssertThrowsError(try K.run(bad, opset: 9, [:]))
    }

    /// Sub-byte and string tensors move through the stacking helper intact.
    func testAxisStackingHandlesPackedAndStringTypes() throws {
        let packed = try Tensor.fromInt64s([1, -2, 3, -4, 5, -6], shape: [2, 3], as: .int4)
        let columns = try AxisStacking.split(packed, axis: 1, lengths: [1, 2])
        XCTAssertEqual(try columns[0].int64Values(), [1, -4])
        XCTAssertEqual(try columns[1].int64Values(), [-2, 3, 5, -6])
        let joined = try AxisStacking.concatenate([columns[1], columns[0]], axis: 1)
        XCTAssertEqual(try joined.int64Values(), [-2, 3, 1, 5, -6, -4])
        let words = try Tensor(shape: [2, 2], strings: ["a", "b", "c", "d"])
        let rows = try AxisStacking.unstack(words, axis: 1)
        XCTAssertEqual(try rows.map { try $0.strings() }, [["a", "c"], ["b", "d"]])
        XCTAssertEqual(try AxisStacking.stack(rows, axis: 0).strings(), ["a", "c", "b", "d"])
    }
}
