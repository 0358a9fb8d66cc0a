import XCTest
@testable import Onyx

final class LinearAlgebraTests: XCTestCase {
    private func floats(_ shape: [Int], _ values: [Float]) throws -> Tensor { try Tensor(shape: shape, scalars: values) }
    private func iota(_ shape: [Int]) throws -> Tensor {
        try Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) })
    }

    func testMatMulVectorPromotionAndBatchBroadcast() throws {
        let v = try floats([2], [1, 2])
        let m = try iota([2, 3])
        let vm = try SingleOp.run("MatMul", inputs: [("a", v), ("b", m)])[0]
        XCTAssertEqual(vm.shape, [3])
        XCTAssertEqual(try vm.scalars(as: Float.self), [6, 9, 12])
        let mv = try SingleOp.run("MatMul", inputs: [("a", try iota([3, 2])), ("b", v)])[0]
        XCTAssertEqual(mv.shape, [3])
        XCTAssertEqual(try mv.scalars(as: Float.self), [2, 8, 14])
        let dot = try SingleOp.run("MatMul", inputs: [("a", v), ("b", v)])[0]
        XCTAssertEqual(dot.shape, [])
        XCTAssertEqual(try dot.scalars(as: Float.self), [5])
        let batched = try SingleOp.run("MatMul", inputs: [("a", try iota([2, 1, 1, 2])), ("b", try iota([3, 2, 1]))])[0]
        XCTAssertEqual(batched.shape, [2, 3, 1, 1])
        XCTAssertEqual(try batched.scalars(as: Float.self), [1, 3, 5, 3, 13, 23])
        XCTAssertThrowsError(try SingleOp.run("MatMul", inputs: [("a", m), ("b", m)]))
        let wrap = try SingleOp.run("MatMul", inputs: [
            ("a", try Tensor(shape: [1, 2], scalars: [Int32.max, 1])), ("b", try Tensor(shape: [2, 1], scalars: [Int32(1), 1])),
        ])[0]
        XCTAssertEqual(try wrap.scalars(as: Int32.self), [Int32.min])
    }

    func testMatMulIntegerZeroPoints() throws {
        let a = try Tensor(shape: [2, 2], scalars: [UInt8(10), 20, 30, 40])
        let b = try Tensor(shape: [2, 2], scalars: [UInt8(1), 2, 3, 4])
        let aZero = try Tensor(shape: [2], scalars: [UInt8(10), 30])
        let bZero = Tensor(scalar: UInt8(1))
        let out = try SingleOp.run("MatMulInteger", opset: 10, inputs: [("a", a), ("b", b), ("za", aZero), ("zb", bZero)])[0]
        XCTAssertEqual(out.elementType, .int32)
        XCTAssertEqual(try out.scalars(as: Int32.self), [20, 30, 20, 30])
        let none = try SingleOp.run("MatMulInteger", opset: 10, inputs: [("a", a), ("b", b)])[0]
        XCTAssertEqual(try none.scalars(as: Int32.self), [70, 100, 150, 220])
    }

    func testGemmAttributesAndBias() throws {
        let a = try iota([3, 2])
        let b = try iota([2, 3])
        let c = try floats([1, 2], [100, 200])
        let out = try SingleOp.run(
            "Gemm", opset: 13, inputs: [("a", a), ("b", b), ("c", c)],
            attributes: [.int("transA", 1), .int("transB", 1), .float("alpha", 0.5), .float("beta", 2)])[0]
        XCTAssertEqual(out.shape, [2, 2])
        XCTAssertEqual(try out.scalars(as: Float.self), [205, 414, 206.5, 420])
        let noBias = try SingleOp.run("Gemm", opset: 13, inputs: [("a", a), ("b", b)])[0]
        XCTAssertEqual(noBias.shape, [3, 3])
        let legacy = try floats([2], [1, 1])
        XCTAssertThrowsError(try SingleOp.run(
            "Gemm", opset: 6, inputs: [("a", a), ("b", b), ("c", legacy)], attributes: [.int("transA", 1), .int("transB", 1)]))
        XCTAssertNoThrow(try SingleOp.run(
            "Gemm", opset: 6, inputs: [("a", a), ("b", b), ("c", legacy)],
            attributes: [.int("transA", 1), .int("transB", 1), .int("broadcast", 1)]))
        let nan = try floats([1], [.nan])
        let zeroBeta = try SingleOp.run("Gemm", inputs: [("a", a), ("b", b), ("c", nan)], attributes: [.float("beta", 0)])[0]
        XCTAssertFalse(try zeroBeta.scalars(as: Float.self).contains { $0.isNaN })
    }

    func testEinsumModes() throws {
        let m = try iota([3, 3])
        let trace = try SingleOp.run("Einsum", opset: 12, inputs: [("m", m)], attributes: [.string("equation", "ii")])[0]
        XCTAssertEqual(trace.shape, [])
        XCTAssertEqual(try trace.scalars(as: Float.self), [12])
        let diagonal = try SingleOp.run("Einsum", opset: 12, inputs: [("m", m)], attributes: [.string("equation", "ii->i")])[0]
        XCTAssertEqual(try diagonal.scalars(as: Float.self), [0, 4, 8])
        let implicit = try SingleOp.run(
            "Einsum", opset: 12, inputs: [("a", try iota([2, 3])), ("b", try iota([3, 4]))], attributes: [.string("equation", "Bj,jA")])[0]
        XCTAssertEqual(implicit.shape, [4, 2])
        let batched = try SingleOp.run(
            "Einsum", opset: 12, inputs: [("a", try iota([2, 1, 3])), ("b", try iota([4, 3]))],
            attributes: [.string("equation", "...j, ...j -> ...")])[0]
        XCTAssertEqual(batched.shape, [2, 4])
        XCTAssertEqual(try batched.scalars(as: Float.self)[0..<2], [5, 14])
        let chain = try SingleOp.run(
            "Einsum", opset: 12, inputs: [("a", try iota([2])), ("b", try iota([2, 2])), ("c", try iota([2]))],
            attributes: [.string("equation", "i,ij,j->")])[0]
        XCTAssertEqual(try chain.scalars(as: Float.self), [3])
        XCTAssertThrowsError(try SingleOp.run("Einsum", opset: 12, inputs: [("m", m)], attributes: [.string("equation", "i.j")]))
        XCTAssertThrowsError(try SingleOp.run("Einsum", opset: 12, inputs: [("m", m)], attributes: [.string("equation", "ijk->i")]))
    }

    func testDeterminantWithPivoting() throws {
        let x = try floats([2, 3, 3], [0, 1, 2, 1, 0, 3, 4, -3, 8, 1, 2, 3, 2, 4, 6, 0, 0, 1])
        let det = try SingleOp.run("Det", opset: 11, inputs: [("x", x)])[0]
        XCTAssertEqual(det.shape, [2])
        let values = try det.scalars(as: Float.self)
        XCTAssertEqual(values[0], -2, accuracy: 1e-5)
        XCTAssertEqual(values[1], 0, accuracy: 1e-5)
        XCTAssertThrowsError(try SingleOp.run("Det", opset: 11, inputs: [("x", try iota([2, 3]))]))
    }
}
