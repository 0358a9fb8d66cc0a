import XCTest
@testable import Onyx

final class RandomOpsTests: XCTestCase {
    func testUniformShapeTypeRangeAndSeed() throws {
        let attributes: [Attribute] = [.ints("shape", [3, 1000]), .float("low", -2), .float("high", 3), .float("seed", 5)]
        let a = try SingleOp.run("RandomUniform", inputs: [], attributes: attributes)[0]
        let b = try SingleOp.run("RandomUniform", inputs: [], attributes: attributes)[0]
        XCTAssertEqual(a.elementType, .float)
        XCTAssertEqual(a.shape, [3, 1000])
        XCTAssertEqual(a, b)
        let values = try a.scalars(as: Float.self)
        XCTAssertTrue(values.allSatisfy { $0 >= -2 && $0 < 3 })
        XCTAssertEqual(values.reduce(0, +) / Float(values.count), 0.5, accuracy: 0.15)
        let other = try SingleOp.run(
            "RandomUniform", inputs: [], attributes: [.ints("shape", [3, 1000]), .float("low", -2), .float("high", 3)])[0]
        XCTAssertNotEqual(a, other)
    }

    func testNormalLikeTakesShapeAndTypeFromInput() throws {
        let x = try Tensor.zeros(.double, [4, 500])
        let y = try SingleOp.run(
            "RandomNormalLike", inputs: [("x", x)], attributes: [.float("mean", 10), .float("scale", 2), .float("seed", 1)])[0]
        XCTAssertEqual(y.elementType, .double)
        XCTAssertEqual(y.shape, [4, 500])
        let values = try y.scalars(as: Double.self)
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)
        XCTAssertEqual(mean, 10, accuracy: 0.2)
        XCTAssertEqual(variance.squareRoot(), 2, accuracy: 0.2)
        let half = try SingleOp.run("RandomUniformLike", opset: 22, inputs: [("x", x)], attributes: [.int("dtype", 16)])[0]
        XCTAssertEqual(half.elementType, .bfloat16)
        XCTAssertThrowsError(try SingleOp.run("RandomUniformLike", inputs: [("x", try Tensor.zeros(.int32, [2]))]))
        XCTAssertThrowsError(try SingleOp.run("RandomNormal", inputs: [], attributes: [.ints("shape", [2]), .int("dtype", 6)]))
        XCTAssertThrowsError(try SingleOp.run("RandomNormal", inputs: []))
    }

    func testBernoulliExtremesAndDtype() throws {
        let p = try Tensor(shape: [6], scalars: [Float(0), 1, 0, 1, 0, 1])
        let y = try SingleOp.run("Bernoulli", opset: 15, inputs: [("p", p)])[0]
        XCTAssertEqual(y.elementType, .float)
        XCTAssertEqual(try y.scalars(as: Float.self), [0, 1, 0, 1, 0, 1])
        let flags = try SingleOp.run("Bernoulli", opset: 15, inputs: [("p", p)], attributes: [.int("dtype", 9)])[0]
        XCTAssertEqual(try flags.scalars(as: Bool.self), [false, true, false, true, false, true])
        let half = try Tensor(shape: [2000], scalars: [Double](repeating: 0.5, count: 2000))
        let seeded = [Attribute.float("seed", 3)]
        let a = try SingleOp.run("Bernoulli", opset: 15, inputs: [("p", half)], attributes: seeded)[0]
        XCTAssertEqual(a, try SingleOp.run("Bernoulli", opset: 15, inputs: [("p", half)], attributes: seeded)[0])
        XCTAssertEqual(try a.scalars(as: Double.self).reduce(0, +), 1000, accuracy: 120)
    }

    func testMultinomial() throws {
        let logits = try Tensor(shape: [2, 3], scalars: [Float(0), 50, 0, -.infinity, -.infinity, 1])
        let y = try SingleOp.run("Multinomial", inputs: [("x", logits)], attributes: [.int("sample_size", 5)])[0]
        XCTAssertEqual(y.elementType, .int32)
        XCTAssertEqual(y.shape, [2, 5])
        XCTAssertEqual(try y.scalars(as: Int32.self), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2])
        let even = try Tensor(shape: [1, 2], scalars: [Float(0), 0])
        let draws = try SingleOp.run(
            "Multinomial", inputs: [("x", even)], attributes: [.int("sample_size", 4000), .int("dtype", 7), .float("seed", 9)])[0]
        XCTAssertEqual(draws.elementType, .int64)
        XCTAssertEqual(Double(try draws.scalars(as: Int64.self).reduce(0, +)), 2000, accuracy: 200)
        XCTAssertThrowsError(try SingleOp.run("Multinomial", inputs: [("x", try Tensor(shape: [1, 2], scalars: [Float.nan, 0]))]))
    }
}
