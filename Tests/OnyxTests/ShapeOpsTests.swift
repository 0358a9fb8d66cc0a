import XCTest
@testable import Onyx

/// Tensor shorthands for the shape and indexing op tests.
enum ST {
    static func f(_ shape: [Int], _ values: [Float]) throws -> Tensor { try Tensor(shape: shape, scalars: values) }
    static func i(_ shape: [Int], _ values: [Int64]) throws -> Tensor { try Tensor(shape: shape, scalars: values) }
    static func iota(_ shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) })
    }
}

final class ShapeOpsTests: XCTestCase {
    func testReshapeZeroCopiesUnlessAllowZeroAndInfersMinusOne() throws {
        let x = try ST.iota([2, 3, 4])
        let copy = try SingleOp.run("Reshape", inputs: [("x", x), ("s", try ST.i([3], [0, -1, 2]))])[0]
        XCTAssertEqual(copy.shape, [2, 6, 2])
        XCTAssertEqual(copy.buffer?.baseAddress, x.buffer?.baseAddress)
        let empty = try ST.iota([0, 3])
        let allowed = try SingleOp.run(
            "Reshape", inputs: [("x", empty), ("s", try ST.i([2], [3, 0]))], attributes: [.int("allowzero", 1)])[0]
        XCTAssertEqual(allowed.shape, [3, 0])
        XCTAssertThrowsError(try SingleOp.run("Reshape", inputs: [("x", x), ("s", try ST.i([2], [-1, -1]))]))
        XCTAssertThrowsError(try SingleOp.run("Reshape", inputs: [("x", x), ("s", try ST.i([2], [5, -1]))]))
        let legacy = try SingleOp.run("Reshape", opset: 4, inputs: [("x", x)], attributes: [.ints("shape", [4, -1])])[0]
        XCTAssertEqual(legacy.shape, [4, 6])
    }

    func testFlattenSqueezeUnsqueeze() throws {
        let x = try ST.iota([2, 3, 4])
        XCTAssertEqual(try SingleOp.run("Flatten", inputs: [("x", x)], attributes: [.int("axis", -1)])[0].shape, [6, 4])
        XCTAssertEqual(try SingleOp.run("Flatten", inputs: [("x", x)], attributes: [.int("axis", 3)])[0].shape, [24, 1])
        XCTAssertEqual(try SingleOp.run("Flatten", inputs: [("x", x)], attributes: [.int("axis", 0)])[0].shape, [1, 24])
        let ones = try ST.iota([1, 3, 1])
        XCTAssertEqual(try SingleOp.run("Squeeze", inputs: [("x", ones)])[0].shape, [3])
        XCTAssertEqual(try SingleOp.run("Squeeze", inputs: [("x", ones), ("a", try ST.i([1], [-1]))])[0].shape, [1, 3])
        XCTAssertEqual(try SingleOp.run("Squeeze", opset: 11, inputs: [("x", ones)], attributes: [.ints("axes", [0])])[0].shape, [3, 1])
        XCTAssertThrowsError(try SingleOp.run("Squeeze", inputs: [("x", ones), ("a", try ST.i([1], [1]))]))
        let unsqueezed = try SingleOp.run("Unsqueeze", inputs: [("x", x), ("a", try ST.i([2], [-1, 0]))])[0]
        XCTAssertEqual(unsqueezed.shape, [1, 2, 3, 4, 1])
        XCTAssertEqual(try SingleOp.run("Unsqueeze", opset: 11, inputs: [("x", x)], attributes: [.ints("axes", [1])])[0].shape, [2, 1, 3, 4])
        XCTAssertThrowsError(try SingleOp.run("Unsqueeze", inputs: [("x", x), ("a", try ST.i([2], [1, 1]))]))
    }

    func testTransposeStringsAndPackedInt4() throws {
        let words = try Tensor(shape: [2, 3], strings: ["a", "b", "c", "d", "e", "f"])
        let t = try SingleOp.run("Transpose", inputs: [("x", words)])[0]
        XCTAssertEqual(t.shape, [3, 2])
        XCTAssertEqual(try t.strings(), ["a", "d", "b", "e", "c", "f"])
        let nibbles = try Tensor.fromInt64s([1, -2, 3, -4, 5, -6], shape: [2, 3], as: .int4)
        let p = try SingleOp.run("Transpose", inputs: [("x", nibbles)], attributes: [.ints("perm", [1, 0])])[0]
        XCTAssertEqual(p.elementType, .int4)
        XCTAssertEqual(try p.int64Values(), [1, -4, -2, 5, 3, -6])
        XCTAssertThrowsError(try SingleOp.run("Transpose", inputs: [("x", words)], attributes: [.ints("perm", [0, 0])]))
    }

    func testDepthToSpaceInvertsSpaceToDepth() throws {
        let x = try ST.iota([1, 8, 2, 3])
        for mode in ["DCR", "CRD"] {
            let depth = try SingleOp.run(
                "DepthToSpace", inputs: [("x", x)], attributes: [.int("blocksize", 2), .string("mode", mode)])[0]
            XCTAssertEqual(depth.shape, [1, 2, 4, 6])
            let back = try SingleOp.run(
                "SpaceToDepth", opset: 28, inputs: [("x", depth)], attributes: [.int("blocksize", 2), .string("mode", mode)])[0]
            XCTAssertEqual(back, x)
        }
        let dcr = try SingleOp.run("DepthToSpace", inputs: [("x", x)], attributes: [.int("blocksize", 2)])[0]
        XCTAssertEqual(try dcr.scalars(as: Float.self)[0..<4], [0, 12, 1, 13])
        XCTAssertThrowsError(try SingleOp.run("DepthToSpace", inputs: [("x", x)], attributes: [.int("blocksize", 3)]))
    }

    func testConcatWithEmptyInputAndSplitVariants() throws {
        let a = try ST.f([2, 1], [1, 2])
        let empty = try ST.f([2, 0], [])
        let b = try ST.f([2, 2], [3, 4, 5, 6])
        let c = try SingleOp.run("Concat", inputs: [("a", a), ("e", empty), ("b", b)], attributes: [.int("axis", -1)])[0]
        XCTAssertEqual(c.shape, [2, 3])
        XCTAssertEqual(try c.scalars(as: Float.self), [1, 3, 4, 2, 5, 6])
        XCTAssertThrowsError(try SingleOp.run("Concat", inputs: [("a", a), ("b", try ST.f([3, 1], [0, 0, 0]))], attributes: [.int("axis", 1)]))

        let x = try ST.iota([7])
        let parts = try SingleOp.run("Split", opset: 18, inputs: [("x", x)], attributes: [.int("num_outputs", 3)], outputs: 3)
        XCTAssertEqual(parts.map(\.shape), [[3], [3], [1]])
        XCTAssertEqual(try parts[2].scalars(as: Float.self), [6])
        let sized = try SingleOp.run("Split", inputs: [("x", x), ("s", try ST.i([3], [2, 0, 5]))], outputs: 3)
        XCTAssertEqual(sized.map(\.shape), [[2], [0], [5]])
        let attribute = try SingleOp.run("Split", opset: 11, inputs: [("x", x)], attributes: [.ints("split", [4, 3])], outputs: 2)
        XCTAssertEqual(try attribute[1].scalars(as: Float.self), [4, 5, 6])
        XCTAssertThrowsError(try SingleOp.run("Split", inputs: [("x", x), ("s", try ST.i([2], [2, 2]))], outputs: 2))
    }

    func testSliceClampsNegativeStepsAndExtremes() throws {
        let x = try ST.iota([10])
        func slice(_ s: Int64, _ e: Int64, _ step: Int64) throws -> [Float] {
            try SingleOp.run("Slice", inputs: [("x", x), ("s", try ST.i([1], [s])), ("e", try ST.i([1], [e])),
                                               ("a", try ST.i([1], [0])), ("t", try ST.i([1], [step]))])[0].scalars(as: Float.self)
        }
        XCTAssertEqual(try slice(-1, Int64.min, -1), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
        XCTAssertEqual(try slice(20, 5, -2), [9, 7])
        XCTAssertEqual(try slice(1, Int64.max, 3), [1, 4, 7])
        XCTAssertEqual(try slice(-100, 2, 1), [0, 1])
        XCTAssertEqual(try slice(5, 5, 1), [])
        XCTAssertEqual(try slice(0, -1, Int64.max), [0])
        XCTAssertEqual(try slice(9, -100, Int64.min), [9])
        XCTAssertThrowsError(try slice(0, 5, 0))
        let grid = try ST.iota([3, 4])
        let legacy = try SingleOp.run("Slice", opset: 1, inputs: [("x", grid)],
                                      attributes: [.ints("starts", [1]), .ints("ends", [1000]), .ints("axes", [1])])[0]
        XCTAssertEqual(legacy.shape, [3, 3])
        XCTAssertEqual(try legacy.scalars(as: Float.self)[0..<3], [1, 2, 3])
    }

    func testPadModes() throws {
        let x = try ST.f([3], [1, 2, 3])
        func pad(_ mode: String, _ pads: [Int64], opset: Int = 21) throws -> [Float] {
            try SingleOp.run("Pad", opset: opset, inputs: [("x", x), ("p", try ST.i([2], pads))],
                             attributes: [.string("mode", mode)])[0].scalars(as: Float.self)
        }
        XCTAssertEqual(try pad("reflect", [5, 5]), [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2])
        XCTAssertEqual(try pad("wrap", [4, 2]), [3, 1, 2, 3, 1, 2, 3, 1, 2])
        XCTAssertEqual(try pad("edge", [2, 1]), [1, 1, 1, 2, 3, 3])
        XCTAssertEqual(try pad("constant", [-1, 2]), [2, 3, 0, 0])
        XCTAssertThrowsError(try pad("wrap", [1, 1], opset: 18))
        XCTAssertThrowsError(try pad("constant", [-2, -2]))
        let words = try Tensor(shape: [1, 2], strings: ["x", "y"])
        let padded = try SingleOp.run("Pad", inputs: [("x", words), ("p", try ST.i([2], [1, 0])),
                                                     ("v", try Tensor(shape: [], strings: ["_"])), ("a", try ST.i([1], [-1]))])[0]
        XCTAssertEqual(try padded.strings(), ["_", "x", "y"])
        let legacy = try SingleOp.run("Pad", opset: 2, inputs: [("x", x)],
                                      attributes: [.ints("pads", [1, 0]), .float("value", 9)])[0]
        XCTAssertEqual(try legacy.scalars(as: Float.self), [9, 1, 2, 3])
        let emptyAxis = try ST.f([0, 2], [])
        let grown = try SingleOp.run("Pad", inputs: [("x", emptyAxis), ("p", try ST.i([4], [1, 0, 0, 1]))])[0]
        XCTAssertEqual(grown.shape, [1, 3])
        XCTAssertThrowsError(try SingleOp.run("Pad", inputs: [("x", emptyAxis), ("p", try ST.i([4], [1, 0, 0, 0]))],
                                              attributes: [.string("mode", "edge")]))
    }

    func testExpandAndTile() throws {
        let x = try ST.f([2, 1], [1, 2])
        let e = try SingleOp.run("Expand", inputs: [("x", x), ("s", try ST.i([3], [2, 1, 3]))])[0]
        XCTAssertEqual(e.shape, [2, 2, 3])
        XCTAssertEqual(try e.scalars(as: Float.self)[0..<6], [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(try SingleOp.run("Expand", inputs: [("x", x), ("s", try ST.i([2], [2, 0]))])[0].shape, [2, 0])
        let t = try SingleOp.run("Tile", inputs: [("x", try ST.f([2, 2], [1, 2, 3, 4])), ("r", try ST.i([2], [2, 2]))])[0]
        XCTAssertEqual(t.shape, [4, 4])
        XCTAssertEqual(try t.scalars(as: Float.self), [1, 2, 1, 2, 3, 4, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4])
        let none = try SingleOp.run("Tile", inputs: [("x", x), ("r", try ST.i([2], [0, Int64(1) << 60]))])[0]
        XCTAssertEqual(none.shape, [0, 1 << 60])
        XCTAssertThrowsError(try SingleOp.run("Tile", inputs: [("x", x), ("r", try ST.i([2], [1 << 40, 1 << 40]))]))
        XCTAssertThrowsError(try SingleOp.run("Tile", inputs: [("x", x), ("r", try ST.i([2], [-1, 1]))]))
    }

    func testLayoutCopiesEveryElementWidth() throws {
        let shape = [2, 3, 4]
        let perm = [2, 0, 1]
        for type in [ElementType.uint8, .int16, .float16, .int32, .double, .uint64, .uint4, .int2, .bool, .float8e4m3fn] {
            let modulus: Int64 = type.bitWidth == 2 ? 2 : type.bitWidth == 4 ? 8 : type == .bool ? 2 : 100
            let values = (0..<24).map { Int64($0) % modulus }
            let x = try Tensor.fromInt64s(values, shape: shape, as: type)
            let t = try SingleOp.run("Transpose", inputs: [("x", x)], attributes: [.ints("perm", perm)])[0]
            XCTAssertEqual(t.shape, [4, 2, 3])
            var expected: [Double] = []
            let decoded = try x.doubleValues()
            for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { expected.append(decoded[i * 12 + j * 4 + k]) } } }
            XCTAssertEqual(try t.doubleValues(), expected, "\(type)")
            let both = try SingleOp.run("Concat", inputs: [("a", x), ("b", x)], attributes: [.int("axis", 1)])[0]
            XCTAssertEqual(try both.doubleValues()[12..<24], decoded[0..<12], "\(type)")
        }
    }

    func testConstantPadAroundSmallRows() throws {
        let x = try ST.f([2, 3], [1, 2, 3, 4, 5, 6])
        let out = try SingleOp.run("Pad", inputs: [("x", x), ("p", try ST.i([4], [1, 1, 1, 1])), ("v", try ST.f([], [7]))])[0]
        XCTAssertEqual(out.shape, [4, 5])
        XCTAssertEqual(try out.scalars(as: Float.self),
                       [7, 7, 7, 7, 7, 7, 1, 2, 3, 7, 7, 4, 5, 6, 7, 7, 7, 7, 7, 7])
    }
}
