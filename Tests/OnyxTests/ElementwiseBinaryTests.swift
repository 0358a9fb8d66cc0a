import XCTest
@testable import Onyx

final class ElementwiseBinaryTests: XCTestCase {
    func testBroadcastingAdd() throws {
        let a = try Tensor(shape: [2, 3], scalars: [Float(1), 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [3], scalars: [Float(10), 20, 30])
        let out = try SingleOp.run("Add", inputs: [("a", a), ("b", b)])[0]
        XCTAssertEqual(out.shape, [2, 3])
        XCTAssertEqual(try out.scalars(as: Float.self), [11, 22, 33, 14, 25, 36])
        let column = try Tensor(shape: [2, 1], scalars: [Float(100), 200])
        let out2 = try SingleOp.run("Sub", inputs: [("a", a), ("b", column)])[0]
        XCTAssertEqual(try out2.scalars(as: Float.self), [-99, -98, -97, -196, -195, -194])
        XCTAssertThrowsError(try SingleOp.run("Add", inputs: [("a", a), ("b", try Tensor(shape: [2], scalars: [Float(1), 2]))]))
    }

    func testIntegerArithmeticWrapsAndDivisionByZeroIsAnError() throws {
        let a = try Tensor(shape: [3], scalars: [Int32.max, Int32.min, 7])
        let b = try Tensor(shape: [3], scalars: [Int32(1), Int32(-1), 2])
        XCTAssertEqual(try SingleOp.run("Add", inputs: [("a", a), ("b", b)])[0].scalars(as: Int32.self), [Int32.min, Int32.max, 9])
        XCTAssertEqual(try SingleOp.run("Div", inputs: [("a", a), ("b", b)])[0].scalars(as: Int32.self), [Int32.max, Int32.min, 3])
        let zero = try Tensor(shape: [3], scalars: [Int32(1), 0, 1])
        XCTAssertThrowsError(try SingleOp.run("Div", inputs: [("a", a), ("b", zero)])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("division by zero") && text.contains("Div"), text)
        }
    }

    func testLegacyBroadcastAttribute() throws {
        let a = try Tensor(shape: [2, 3, 4], scalars: (0..<24).map { Float($0) })
        let b = try Tensor(shape: [3], scalars: [Float(100), 200, 300])
        let out = try SingleOp.run(
            "Add", opset: 6, inputs: [("a", a), ("b", b)], attributes: [.int("broadcast", 1), .int("axis", 1)])[0]
        XCTAssertEqual(try out.scalars(as: Float.self)[0..<8], [100, 101, 102, 103, 204, 205, 206, 207])
        XCTAssertThrowsError(try SingleOp.run("Add", opset: 6, inputs: [("a", a), ("b", b)]))
    }

    func testComparisonsGiveBool() throws {
        let a = try Tensor(shape: [3], scalars: [Float(1), .nan, 3])
        let b = try Tensor(shape: [], scalars: [Float(2)])
        XCTAssertEqual(try SingleOp.run("Less", inputs: [("a", a), ("b", b)])[0].scalars(as: Bool.self), [true, false, false])
        XCTAssertEqual(try SingleOp.run("GreaterOrEqual", inputs: [("a", a), ("b", b)])[0].scalars(as: Bool.self), [false, false, true])
    }
}
