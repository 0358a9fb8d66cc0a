import XCTest
@testable import Onyx

final class IndexingOpsTests: XCTestCase {
    func testGatherWrapsNegativeIndicesAndRejectsOutOfRange() throws {
        let data = try ST.iota([3, 2])
        let out = try SingleOp.run("Gather", inputs: [("d", data), ("i", try ST.i([2, 2], [0, -1, 1, 0]))])[0]
        XCTAssertEqual(out.shape, [2, 2, 2])
        XCTAssertEqual(try out.scalars(as: Float.self), [0, 1, 4, 5, 2, 3, 0, 1])
        let column = try SingleOp.run("Gather", inputs: [("d", data), ("i", Tensor(scalar: Int32(-1)))],
                                      attributes: [.int("axis", 1)])[0]
        XCTAssertEqual(column.shape, [3])
        XCTAssertEqual(try column.scalars(as: Float.self), [1, 3, 5])
        XCTAssertThrowsError(try SingleOp.run("Gather", inputs: [("d", data), ("i", try ST.i([1], [3]))])) { error in
            XCTAssertTrue("\(error)".contains("out of range"), "\(error)")
        }
        XCTAssertThrowsError(try SingleOp.run("Gather", inputs: [("d", data), ("i", try ST.i([1], [-4]))]))
        XCTAssertEqual(try SingleOp.run("Gather", inputs: [("d", data), ("i", try ST.i([0], []))])[0].shape, [0, 2])
        let words = try Tensor(shape: [3], strings: ["a", "b", "c"])
        XCTAssertEqual(try SingleOp.run("Gather", inputs: [("d", words), ("i", try ST.i([2], [2, -3]))])[0].strings(), ["c", "a"])
    }

    func testGatherElementsAndGatherNDWithBatchDims() throws {
        let data = try ST.f([2, 2], [1, 2, 3, 4])
        let elements = try SingleOp.run("GatherElements", inputs: [("d", data), ("i", try ST.i([2, 2], [0, 0, -1, 0]))],
                                        attributes: [.int("axis", 1)])[0]
        XCTAssertEqual(try elements.scalars(as: Float.self), [1, 1, 4, 3])
        XCTAssertThrowsError(try SingleOp.run("GatherElements", inputs: [("d", data), ("i", try ST.i([1, 1], [2]))]))
        let cube = try ST.iota([2, 2, 2])
        let nd = try SingleOp.run("GatherND", inputs: [("d", cube), ("i", try ST.i([2, 1], [1, 0]))],
                                  attributes: [.int("batch_dims", 1)])[0]
        XCTAssertEqual(nd.shape, [2, 2])
        XCTAssertEqual(try nd.scalars(as: Float.self), [2, 3, 4, 5])
        let points = try SingleOp.run("GatherND", inputs: [("d", cube), ("i", try ST.i([2, 3], [1, 1, 1, 0, -1, 0]))])[0]
        XCTAssertEqual(try points.scalars(as: Float.self), [7, 2])
        XCTAssertThrowsError(try SingleOp.run("GatherND", inputs: [("d", cube), ("i", try ST.i([1, 4], [0, 0, 0, 0]))]))
    }

    func testScatterElementsReductionsAndDuplicates() throws {
        let data = try ST.f([1, 5], [0, 0, 0, 0, 0])
        let indices = try ST.i([1, 3], [1, 3, 1])
        let updates = try ST.f([1, 3], [1, 2, 3])
        func scatter(_ reduction: String, opset: Int = 18, _ d: Tensor? = nil) throws -> [Float] {
            try SingleOp.run("ScatterElements", opset: opset, inputs: [("d", d ?? data), ("i", indices), ("u", updates)],
                             attributes: [.int("axis", 1), .string("reduction", reduction)])[0].scalars(as: Float.self)
        }
        XCTAssertEqual(try scatter("none"), [0, 3, 0, 2, 0])
        XCTAssertEqual(try scatter("add"), [0, 4, 0, 2, 0])
        XCTAssertEqual(try scatter("mul", try ST.f([1, 5], [2, 2, 2, 2, 2])), [2, 6, 2, 4, 2])
        XCTAssertEqual(try scatter("max", try ST.f([1, 5], [2, 2, 2, 2, 2])), [2, 3, 2, 2, 2])
        XCTAssertEqual(try scatter("min", try ST.f([1, 5], [2, 2, 2, 2, 2])), [2, 1, 2, 2, 2])
        XCTAssertThrowsError(try scatter("max", opset: 16))
        XCTAssertThrowsError(try scatter("add", opset: 13))
        let negative = try SingleOp.run("Scatter", opset: 10, inputs: [("d", data), ("i", try ST.i([1, 1], [-1])),
                                                                      ("u", try ST.f([1, 1], [7]))], attributes: [.int("axis", 1)])[0]
        XCTAssertEqual(try negative.scalars(as: Float.self), [0, 0, 0, 0, 7])
        XCTAssertThrowsError(try SingleOp.run("ScatterElements", inputs: [("d", data), ("i", try ST.i([1, 1], [5])),
                                                                          ("u", try ST.f([1, 1], [7]))], attributes: [.int("axis", 1)]))
        let ints = try Tensor(shape: [2], scalars: [Int32.max, 3])
        let wrapped = try SingleOp.run("ScatterElements", inputs: [("d", ints), ("i", try ST.i([1], [0])),
                                                                   ("u", try Tensor(shape: [1], scalars: [Int32(2)]))],
                                       attributes: [.string("reduction", "add")])[0]
        XCTAssertEqual(try wrapped.scalars(as: Int32.self), [Int32.min + 1, 3])
        let flags = try Tensor(shape: [2], scalars: [false, true])
        let ored = try SingleOp.run("ScatterElements", inputs: [("d", flags), ("i", try ST.i([2], [0, 1])),
                                                                ("u", try Tensor(shape: [2], scalars: [true, false]))],
                                    attributes: [.string("reduction", "add")])[0]
        XCTAssertEqual(try ored.scalars(as: Bool.self), [true, true])
        let brain = try Tensor.fromFloats([1, 2, 3], shape: [3], as: .bfloat16)
        let maxed = try SingleOp.run("ScatterElements", inputs: [("d", brain), ("i", try ST.i([2], [0, 2])),
                                                                 ("u", try Tensor.fromFloats([5, -5], shape: [2], as: .bfloat16))],
                                     attributes: [.string("reduction", "max")])[0]
        XCTAssertEqual(try maxed.floatValues(), [5, 2, 3])
    }

    func testScatterND() throws {
        let data = try ST.f([4], [0, 1, 2, 3])
        let indices = try ST.i([3, 1], [1, 3, -3])
        let updates = try ST.f([3], [10, 20, 30])
        let added = try SingleOp.run("ScatterND", inputs: [("d", data), ("i", indices), ("u", updates)],
                                     attributes: [.string("reduction", "add")])[0]
        XCTAssertEqual(try added.scalars(as: Float.self), [0, 41, 2, 23])
        let replaced = try SingleOp.run("ScatterND", inputs: [("d", data), ("i", indices), ("u", updates)])[0]
        XCTAssertEqual(try replaced.scalars(as: Float.self), [0, 30, 2, 20])
        let grid = try ST.iota([2, 2])
        let rows = try SingleOp.run("ScatterND", inputs: [("d", grid), ("i", try ST.i([1, 1], [1])), ("u", try ST.f([1, 2], [8, 9]))])[0]
        XCTAssertEqual(try rows.scalars(as: Float.self), [0, 1, 8, 9])
        XCTAssertThrowsError(try SingleOp.run("ScatterND", inputs: [("d", grid), ("i", try ST.i([1, 1], [1])), ("u", try ST.f([1], [8]))]))
    }

    func testCompressNonZeroReverseSequence() throws {
        let data = try ST.iota([3, 2])
        let rows = try SingleOp.run("Compress", inputs: [("d", data), ("c", try Tensor(shape: [3], scalars: [false, true, true]))],
                                    attributes: [.int("axis", -2)])[0]
        XCTAssertEqual(rows.shape, [2, 2])
        XCTAssertEqual(try rows.scalars(as: Float.self), [2, 3, 4, 5])
        let flat = try SingleOp.run("Compress", inputs: [("d", data), ("c", try Tensor(shape: [3], scalars: [true, false, true]))])[0]
        XCTAssertEqual(try flat.scalars(as: Float.self), [0, 2])
        XCTAssertThrowsError(try SingleOp.run("Compress", inputs: [("d", data), ("c", try Tensor(shape: [4], scalars: [false, false, false, true]))],
                                              attributes: [.int("axis", 0)]))

        let x = try ST.f([2, 2], [1, 0, .nan, -0.0])
        let nz = try SingleOp.run("NonZero", inputs: [("x", x)])[0]
        XCTAssertEqual(nz.shape, [2, 2])
        XCTAssertEqual(try nz.scalars(as: Int64.self), [0, 1, 0, 0])
        let words = try Tensor(shape: [3], strings: ["", "a", ""])
        XCTAssertEqual(try SingleOp.run("NonZero", inputs: [("x", words)])[0].scalars(as: Int64.self), [1])
        XCTAssertEqual(try SingleOp.run("NonZero", inputs: [("x", try ST.f([0, 3], []))])[0].shape, [2, 0])

        let grid = try ST.iota([4, 4])
        let reversed = try SingleOp.run("ReverseSequence", inputs: [("x", grid), ("l", try ST.i([4], [1, 2, 3, 4]))],
                                        attributes: [.int("batch_axis", 0), .int("time_axis", 1)])[0]
        XCTAssertEqual(try reversed.scalars(as: Float.self), [0, 1, 2, 3, 5, 4, 6, 7, 10, 9, 8, 11, 15, 14, 13, 12])
        XCTAssertThrowsError(try SingleOp.run("ReverseSequence", inputs: [("x", grid), ("l", try ST.i([4], [1, 2, 3, 5]))]))
    }
}
