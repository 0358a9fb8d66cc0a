import XCTest
@testable import Onyx

final class ReduceTests: XCTestCase {
    private func floats(_ shape: [Int], _ values: [Float]) throws -> Tensor { try Tensor(shape: shape, scalars: values) }
    private func axes(_ values: [Int64]) throws -> Tensor { try Tensor(shape: [values.count], scalars: values) }

    func testAxesAsAttributeAndInput() throws {
        let x = try floats([2, 3], [1, 2, 3, 4, 5, 6])
        let old = try SingleOp.run("ReduceSum", opset: 11, inputs: [("x", x)], attributes: [.ints("axes", [1])])[0]
        XCTAssertEqual(old.shape, [2, 1])
        XCTAssertEqual(try old.scalars(as: Float.self), [6, 15])
        let new = try SingleOp.run(
            "ReduceMean", opset: 18, inputs: [("x", x), ("axes", try axes([-2]))], attributes: [.int("keepdims", 0)])[0]
        XCTAssertEqual(new.shape, [3])
        XCTAssertEqual(try new.scalars(as: Float.self), [2.5, 3.5, 4.5])
        let all = try SingleOp.run("ReduceProd", opset: 18, inputs: [("x", x)], attributes: [.int("keepdims", 0)])[0]
        XCTAssertEqual(all.shape, [])
        XCTAssertEqual(try all.scalars(as: Float.self), [720])
        XCTAssertThrowsError(try SingleOp.run("ReduceSum", opset: 13, inputs: [("x", x), ("axes", try axes([1, -1]))]))
        XCTAssertThrowsError(try SingleOp.run("ReduceSum", opset: 13, inputs: [("x", x), ("axes", try axes([2]))]))
    }

    func testNoopWithEmptyAxesKeepsTheElementStep() throws {
        let x = try floats([2], [-3, 4])
        let empty = try axes([])
        let noop: [Attribute] = [.int("noop_with_empty_axes", 1)]
        XCTAssertEqual(try SingleOp.run("ReduceSum", opset: 13, inputs: [("x", x), ("a", empty)], attributes: noop)[0]
            .scalars(as: Float.self), [-3, 4])
        XCTAssertEqual(try SingleOp.run("ReduceL1", opset: 18, inputs: [("x", x), ("a", empty)], attributes: noop)[0]
            .scalars(as: Float.self), [3, 4])
        XCTAssertEqual(try SingleOp.run("ReduceSumSquare", opset: 18, inputs: [("x", x), ("a", empty)], attributes: noop)[0]
            .scalars(as: Float.self), [9, 16])
        let sum = try SingleOp.run("ReduceSum", opset: 13, inputs: [("x", x), ("a", empty)])[0]
        XCTAssertEqual(sum.shape, [1])
        XCTAssertEqual(try sum.scalars(as: Float.self), [1])
    }

    func testEmptySetsGiveIdentities() throws {
        let x = try Tensor(shape: [2, 0], scalars: [Float]())
        let axis = try axes([1])
        func run(_ op: String) throws -> [Float] {
            try SingleOp.run(op, opset: 20, inputs: [("x", x), ("a", axis)])[0].scalars(as: Float.self)
        }
        XCTAssertEqual(try run("ReduceSum"), [0, 0])
        XCTAssertEqual(try run("ReduceProd"), [1, 1])
        XCTAssertEqual(try run("ReduceMax"), [-.infinity, -.infinity])
        XCTAssertEqual(try run("ReduceMin"), [.infinity, .infinity])
        XCTAssertEqual(try run("ReduceLogSumExp"), [-.infinity, -.infinity])
        XCTAssertTrue(try run("ReduceMean").allSatisfy(\.isNaN))
        let bools = try Tensor(shape: [2, 0], scalars: [Bool]())
        XCTAssertEqual(try SingleOp.run("ReduceMin", opset: 20, inputs: [("x", bools), ("a", axis)])[0].scalars(as: Bool.self), [true, true])
        let ints = try Tensor(shape: [1, 0], scalars: [Int32]())
        XCTAssertEqual(try SingleOp.run("ReduceMax", opset: 20, inputs: [("x", ints), ("a", axis)])[0].scalars(as: Int32.self), [Int32.min])
    }

    func testIntegersWrapAndMeanTruncates() throws {
        let x = try Tensor(shape: [2, 2], scalars: [Int32.max, 1, -3, 0])
        XCTAssertEqual(try SingleOp.run("ReduceSum", opset: 13, inputs: [("x", x), ("a", try axes([1]))])[0]
            .scalars(as: Int32.self), [Int32.min, -3])
        XCTAssertEqual(try SingleOp.run("ReduceMean", opset: 18, inputs: [("x", try Tensor(shape: [2], scalars: [Int32(-3), 0]))])[0]
            .scalars(as: Int32.self), [-1])
        XCTAssertThrowsError(try SingleOp.run("ReduceLogSum", opset: 28, inputs: [("x", x)]))
    }

    func testMaxPropagatesNaNAndLogSumExpIsStable() throws {
        let x = try floats([2, 2], [1, .nan, 1000, 1000])
        let max = try SingleOp.run("ReduceMax", opset: 18, inputs: [("x", x), ("a", try axes([1]))])[0].scalars(as: Float.self)
        XCTAssertTrue(max[0].isNaN)
        XCTAssertEqual(max[1], 1000)
        let lse = try SingleOp.run("ReduceLogSumExp", opset: 18, inputs: [("x", x), ("a", try axes([1]))])[0].scalars(as: Float.self)
        XCTAssertEqual(lse[1], 1000.6931, accuracy: 1e-3)
    }

    func testArgMaxTiesNaNAndSelectLastIndex() throws {
        let x = try floats([2, 4], [1, 3, 3, 0, 2, .nan, 5, .nan])
        let first = try SingleOp.run("ArgMax", opset: 13, inputs: [("x", x)], attributes: [.int("axis", 1)])[0]
        XCTAssertEqual(first.shape, [2, 1])
        XCTAssertEqual(try first.scalars(as: Int64.self), [1, 1])
        let last = try SingleOp.run(
            "ArgMax", opset: 13, inputs: [("x", x)],
            attributes: [.int("axis", -1), .int("keepdims", 0), .int("select_last_index", 1)])[0]
        XCTAssertEqual(last.shape, [2])
        XCTAssertEqual(try last.scalars(as: Int64.self), [2, 3])
        let min = try SingleOp.run("ArgMin", opset: 13, inputs: [("x", x)], attributes: [.int("axis", 1)])[0]
        XCTAssertEqual(try min.scalars(as: Int64.self), [3, 1])
        XCTAssertThrowsError(try SingleOp.run("ArgMax", inputs: [("x", try Tensor(shape: [0, 2], scalars: [Float]()))]))
    }

    func testCumSumExclusiveReverseAndCumProd() throws {
        let x = try Tensor(shape: [2, 3], scalars: [Int32(1), 2, 3, 4, 5, 6])
        let axis = Tensor(scalar: Int32(1))
        let sum = try SingleOp.run(
            "CumSum", opset: 14, inputs: [("x", x), ("axis", axis)], attributes: [.int("exclusive", 1), .int("reverse", 1)])[0]
        XCTAssertEqual(try sum.scalars(as: Int32.self), [5, 3, 0, 11, 6, 0])
        let product = try SingleOp.run("CumProd", opset: 26, inputs: [("x", x), ("axis", Tensor(scalar: Int64(-2)))])[0]
        XCTAssertEqual(try product.scalars(as: Int32.self), [1, 2, 3, 4, 10, 18])
        let f = try SingleOp.run("CumSum", opset: 14, inputs: [("x", try floats([3], [0.5, 1, 2])), ("axis", try Tensor(shape: [1], scalars: [Int64(0)]))])
        XCTAssertEqual(try f[0].scalars(as: Float.self), [0.5, 1.5, 3.5])
    }

    func testTopKOrderTiesAndNaN() throws {
        let x = try floats([1, 6], [3, 1, .nan, 1, 5, 3])
        let k = try Tensor(shape: [1], scalars: [Int64(4)])
        let largest = try SingleOp.run("TopK", opset: 11, inputs: [("x", x), ("k", k)], outputs: 2)
        XCTAssertEqual(try largest[1].scalars(as: Int64.self), [2, 4, 0, 5])
        let smallest = try SingleOp.run(
            "TopK", opset: 11, inputs: [("x", x), ("k", k)], attributes: [.int("largest", 0)], outputs: 2)
        XCTAssertEqual(try smallest[0].scalars(as: Float.self), [1, 1, 3, 3])
        XCTAssertEqual(try smallest[1].scalars(as: Int64.self), [1, 3, 0, 5])
        let old = try SingleOp.run("TopK", opset: 1, inputs: [("x", x)], attributes: [.int("k", 1)], outputs: 2)
        XCTAssertEqual(old[0].shape, [1, 1])
        XCTAssertThrowsError(try SingleOp.run("TopK", opset: 11, inputs: [("x", x), ("k", try Tensor(shape: [1], scalars: [Int64(7)]))], outputs: 2))
    }

    func testUniqueSortedUnsortedAndAxis() throws {
        let x = try Tensor(shape: [6], scalars: [Int32(5), 3, 5, 1, 3, 3])
        let sorted = try SingleOp.run("Unique", opset: 11, inputs: [("x", x)], outputs: 4)
        XCTAssertEqual(try sorted[0].scalars(as: Int32.self), [1, 3, 5])
        XCTAssertEqual(try sorted[1].scalars(as: Int64.self), [3, 1, 0])
        XCTAssertEqual(try sorted[2].scalars(as: Int64.self), [2, 1, 2, 0, 1, 1])
        XCTAssertEqual(try sorted[3].scalars(as: Int64.self), [1, 3, 2])
        let unsorted = try SingleOp.run("Unique", opset: 11, inputs: [("x", x)], attributes: [.int("sorted", 0)], outputs: 4)
        XCTAssertEqual(try unsorted[0].scalars(as: Int32.self), [5, 3, 1])
        XCTAssertEqual(try unsorted[1].scalars(as: Int64.self), [0, 1, 3])
        XCTAssertEqual(try unsorted[2].scalars(as: Int64.self), [0, 1, 0, 2, 1, 1])
        XCTAssertEqual(try unsorted[3].scalars(as: Int64.self), [2, 3, 1])
        let rows = try floats([3, 2], [2, 0, 1, 9, 2, 0])
        let byRow = try SingleOp.run("Unique", opset: 11, inputs: [("x", rows)], attributes: [.int("axis", 0)], outputs: 3)
        XCTAssertEqual(byRow[0].shape, [2, 2])
        XCTAssertEqual(try byRow[0].scalars(as: Float.self), [1, 9, 2, 0])
        XCTAssertEqual(try byRow[2].scalars(as: Int64.self), [1, 0, 1])
        let strings = try SingleOp.run("Unique", opset: 11, inputs: [("x", try Tensor(shape: [3], strings: ["b", "a", "b"]))])
        XCTAssertEqual(try strings[0].strings(), ["a", "b"])
    }
}
