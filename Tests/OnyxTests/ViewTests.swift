import XCTest
@testable import Onyx

/// Reshape, Flatten, Squeeze, Unsqueeze and Identity return views: the
/// output shares the input's storage.
final class ViewTests: XCTestCase {
    func testShapeOnlyOpsShareStorage() throws {
        let x = try Tensor(shape: [2, 1, 3], scalars: (0..<6).map { Float($0) })
        let shape = try Tensor(shape: [2], scalars: [Int64(3), -1])
        let axes = try Tensor(shape: [1], scalars: [Int64(1)])
        let cases: [(String, [(String, Tensor)], [Attribute], [Int])] = [
            ("Reshape", [("x", x), ("shape", shape)], [], [3, 2]),
            ("Flatten", [("x", x)], [.int("axis", 2)], [2, 3]),
            ("Squeeze", [("x", x), ("axes", axes)], [], [2, 3]),
            ("Unsqueeze", [("x", x), ("axes", axes)], [], [2, 1, 1, 3]),
            ("Identity", [("x", x)], [], [2, 1, 3]),
        ]
        for (op, inputs, attributes, expected) in cases {
            let out = try SingleOp.run(op, opset: 21, inputs: inputs, attributes: attributes)[0]
            XCTAssertEqual(out.shape, expected, op)
            XCTAssertTrue(out.buffer === x.buffer, "\(op) copied its input")
            XCTAssertEqual(try out.scalars(as: Float.self), try x.scalars(as: Float.self), op)
        }
    }
}
