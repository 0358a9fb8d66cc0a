import XCTest
@testable import Onyx

final class ConstantOpsTests: XCTestCase {
    private let noContext = RunContext(lookup: { _ in nil }, options: RunOptions())

    func testConstantAttributeKinds() throws {
        let ints = try SingleOp.run("Constant", opset: 12, inputs: [], attributes: [.ints("value_ints", [3, -1])])[0]
        XCTAssertEqual(ints.shape, [2])
        XCTAssertEqual(try ints.scalars(as: Int64.self), [3, -1])
        let scalar = try SingleOp.run("Constant", opset: 12, inputs: [], attributes: [.float("value_float", 2.5)])[0]
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(try scalar.scalars(as: Float.self), [2.5])
        let text = try SingleOp.run("Constant", opset: 12, inputs: [], attributes: [.string("value_string", "hi")])[0]
        XCTAssertEqual(try text.strings(), ["hi"])
        XCTAssertThrowsError(try SingleOp.run(
            "Constant", opset: 12, inputs: [], attributes: [.float("value_float", 1), .int("value_int", 1)]))
        XCTAssertThrowsError(try SingleOp.run("Constant", opset: 12, inputs: []))
    }

    func testSparseConstantIsDensified() throws {
        let sparse = SparseTensor(
            shape: [2, 3], values: try Tensor(shape: [2], scalars: [Float(5), 7]),
            indices: try Tensor(shape: [2, 2], scalars: [Int64(0), 2, 1, 0]))
        let dense = try SingleOp.run(
            "Constant", opset: 11, inputs: [], attributes: [Attribute(name: "sparse_value", value: .sparseTensor(sparse))])[0]
        XCTAssertEqual(try dense.scalars(as: Float.self), [0, 0, 5, 7, 0, 0])
        let outOfRange = SparseTensor(
            shape: [2], values: try Tensor(shape: [1], scalars: [Float(1)]),
            indices: try Tensor(shape: [1], scalars: [Int64(2)]))
        XCTAssertThrowsError(try SingleOp.run(
            "Constant", opset: 11, inputs: [], attributes: [Attribute(name: "sparse_value", value: .sparseTensor(outOfRange))]))
    }

    func testIdentityPassesEveryKindOfValueThrough() throws {
        let kernel = ConstantOps.identity()
        let sequence = Value.sequence([Tensor(scalar: Float(1))], elementType: .float)
        XCTAssertEqual(try kernel.run([sequence], noContext), [sequence])
        XCTAssertEqual(try kernel.run([Value.none], noContext), [Value.none])
        let x = try Tensor(shape: [2], scalars: [Int8(1), 2])
        let y = try SingleOp.run("Identity", inputs: [("x", x)])[0]
        XCTAssertTrue(x.buffer === y.buffer)
    }

    func testConstantOfShape() throws {
        let shape = try Tensor(shape: [2], scalars: [Int64(2), 3])
        let zeros = try SingleOp.run("ConstantOfShape", opset: 9, inputs: [("s", shape)])[0]
        XCTAssertEqual(zeros.elementType, .float)
        XCTAssertEqual(try zeros.scalars(as: Float.self), [0, 0, 0, 0, 0, 0])
        let value = Attribute(name: "value", value: .tensor(try Tensor.fromInt64s([-3], shape: [1], as: .int4)))
        let nibbles = try SingleOp.run("ConstantOfShape", opset: 21, inputs: [("s", shape)], attributes: [value])[0]
        XCTAssertEqual(try nibbles.int64Values(), [-3, -3, -3, -3, -3, -3])
        let odd = try SingleOp.run(
            "ConstantOfShape", opset: 21, inputs: [("s", try Tensor(shape: [1], scalars: [Int64(3)]))], attributes: [value])[0]
        XCTAssertEqual(odd.withUnsafeBytes { Array($0) }, [0xDD, 0x0D])
        let scalar = try SingleOp.run("ConstantOfShape", inputs: [("s", try Tensor(shape: [0], scalars: [Int64]()))])[0]
        XCTAssertEqual(scalar.shape, [])
        XCTAssertThrowsError(try SingleOp.run("ConstantOfShape", inputs: [("s", try Tensor(shape: [1], scalars: [Int64(-1)]))]))
        XCTAssertThrowsError(try SingleOp.run("ConstantOfShape", inputs: [("s", try Tensor(shape: [2], scalars: [Int64.max, 4]))]))
    }

    func testShapeSlicingAndSize() throws {
        let x = try Tensor.zeros(.float, [2, 3, 4, 5])
        func shape(_ opset: Int, _ attributes: [Attribute]) throws -> [Int64] {
            try SingleOp.run("Shape", opset: opset, inputs: [("x", x)], attributes: attributes)[0].scalars(as: Int64.self)
        }
        XCTAssertEqual(try shape(15, [.int("start", -3), .int("end", -1)]), [3, 4])
        XCTAssertEqual(try shape(15, [.int("start", -100), .int("end", 100)]), [2, 3, 4, 5])
        XCTAssertEqual(try shape(15, [.int("start", 3), .int("end", 1)]), [])
        XCTAssertEqual(try shape(13, [.int("start", 2)]), [2, 3, 4, 5])
        let size = try SingleOp.run("Size", inputs: [("x", x)])[0]
        XCTAssertEqual(size.shape, [])
        XCTAssertEqual(try size.scalars(as: Int64.self), [120])
    }

    func testRange() throws {
        func range<T: TensorScalar>(_ values: [T], opset: Int = 11) throws -> Tensor {
            try SingleOp.run("Range", opset: opset, inputs: [
                ("s", Tensor(scalar: values[0])), ("l", Tensor(scalar: values[1])), ("d", Tensor(scalar: values[2])),
            ])[0]
        }
        XCTAssertEqual(try range([Int32(10), 4, -2]).scalars(as: Int32.self), [10, 8, 6])
        XCTAssertEqual(try range([Int64(3), 9, 3]).scalars(as: Int64.self), [3, 6])
        XCTAssertEqual(try range([Int16(0), 5, -1]).count, 0)
        XCTAssertEqual(try range([Int64.min, Int64.max, Int64.max]).scalars(as: Int64.self), [.min, -1, .max - 1])
        XCTAssertEqual(try range([Float(0), 1, 0.25]).scalars(as: Float.self), [0, 0.25, 0.5, 0.75])
        XCTAssertEqual(try range([Double(1), 1.1, 0.5]).scalars(as: Double.self), [1])
        XCTAssertThrowsError(try range([Int32(0), 5, 0]))
        XCTAssertThrowsError(try range([Float(0), .infinity, 1]))
        XCTAssertThrowsError(try range([Int64(0), Int64.max, 1]))
        let half = try SingleOp.run("Range", opset: 27, inputs: [
            ("s", try Tensor.fromFloats([1], shape: [], as: .bfloat16)), ("l", try Tensor.fromFloats([5], shape: [], as: .bfloat16)),
            ("d", try Tensor.fromFloats([1.5], shape: [], as: .bfloat16)),
        ])[0]
        XCTAssertEqual(half.elementType, .bfloat16)
        XCTAssertEqual(try half.floatValues(), [1, 2.5, 4])
    }

    func testEyeLike() throws {
        let x = try Tensor.zeros(.int32, [3, 4])
        let shifted = try SingleOp.run("EyeLike", opset: 22, inputs: [("x", x)], attributes: [.int("k", 1)])[0]
        XCTAssertEqual(try shifted.scalars(as: Int32.self), [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])
        let below = try SingleOp.run(
            "EyeLike", opset: 22, inputs: [("x", x)], attributes: [.int("k", -2), .int("dtype", 9)])[0]
        XCTAssertEqual(try below.scalars(as: Bool.self), [false, false, false, false, false, false, false, false, true, false, false, false])
        let far = try SingleOp.run("EyeLike", opset: 22, inputs: [("x", x)], attributes: [.int("k", Int(Int64.max))])[0]
        XCTAssertEqual(try far.scalars(as: Int32.self), Array(repeating: 0, count: 12))
        XCTAssertThrowsError(try SingleOp.run("EyeLike", inputs: [("x", try Tensor.zeros(.float, [2, 2, 2]))]))
    }

    func testOneHot() throws {
        let indices = try Tensor(shape: [4], scalars: [Int64(0), -1, 3, 7])
        let depth = Tensor(scalar: Float(4))
        let values = try Tensor(shape: [2], scalars: [Int32(-1), 5])
        let y = try SingleOp.run("OneHot", opset: 11, inputs: [("i", indices), ("d", depth), ("v", values)])[0]
        XCTAssertEqual(y.shape, [4, 4])
        XCTAssertEqual(try y.scalars(as: Int32.self),
                       [5, -1, -1, -1, -1, -1, -1, 5, -1, -1, -1, 5, -1, -1, -1, -1])
        let old = try SingleOp.run("OneHot", opset: 9, inputs: [("i", indices), ("d", depth), ("v", values)])[0]
        XCTAssertEqual(try old.scalars(as: Int32.self)[4..<8], [-1, -1, -1, -1])
        let words = try Tensor(shape: [2], strings: ["no", "yes"])
        let axis0 = try SingleOp.run(
            "OneHot", opset: 11, inputs: [("i", try Tensor(shape: [2], scalars: [Float(1.7), 0])), ("d", Tensor(scalar: Int64(2))), ("v", words)],
            attributes: [.int("axis", 0)])[0]
        XCTAssertEqual(axis0.shape, [2, 2])
        XCTAssertEqual(try axis0.strings(), ["no", "yes", "yes", "no"])
        XCTAssertThrowsError(try SingleOp.run(
            "OneHot", opset: 11, inputs: [("i", indices), ("d", Tensor(scalar: Int64(-1))), ("v", values)]))
        XCTAssertThrowsError(try SingleOp.run(
            "OneHot", opset: 11, inputs: [("i", indices), ("d", Tensor(scalar: Int64(1) << 61)), ("v", values)]))
    }

    func testTrilu() throws {
        let x = try Tensor(shape: [2, 2, 3], scalars: (1...12).map { Int64($0) })
        let upper = try SingleOp.run("Trilu", opset: 14, inputs: [("x", x)])[0]
        XCTAssertEqual(try upper.scalars(as: Int64.self), [1, 2, 3, 0, 5, 6, 7, 8, 9, 0, 11, 12])
        let lower = try SingleOp.run(
            "Trilu", opset: 14, inputs: [("x", x), ("k", Tensor(scalar: Int64(-1)))], attributes: [.int("upper", 0)])[0]
        XCTAssertEqual(try lower.scalars(as: Int64.self), [0, 0, 0, 4, 0, 0, 0, 0, 0, 10, 0, 0])
        let all = try SingleOp.run("Trilu", opset: 14, inputs: [("x", x), ("k", Tensor(scalar: Int64.min))])[0]
        XCTAssertEqual(try all.scalars(as: Int64.self), Array(1...12))
        let words = try Tensor(shape: [2, 2], strings: ["a", "b", "c", "d"])
        let strings = try SingleOp.run("Trilu", opset: 14, inputs: [("x", words)], attributes: [.int("upper", 0)])[0]
        XCTAssertEqual(try strings.strings(), ["a", "", "c", "d"])
        XCTAssertThrowsError(try SingleOp.run("Trilu", opset: 14, inputs: [("x", try Tensor(shape: [2], scalars: [Float(1), 2]))]))
    }
}
