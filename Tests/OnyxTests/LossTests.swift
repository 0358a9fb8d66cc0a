import XCTest
@testable import Onyx

final class LossTests: XCTestCase {
    /// The spec's examples: N=2, C=3, d1=2.
    private let input: [Float] = [1, 2, 2, 2, 3, 2, 0, 1, 2, 2, 1, 2]
    private let target: [Int64] = [2, 1, 0, 2]
    private let weight: [Float] = [0.2, 0.3, 0.1]

    private func nll(_ reduction: String, weight: Bool = false, ignore: Int? = nil, target: [Int64]? = nil) throws -> [Float] {
        var inputs = [("x", try Tensor(shape: [2, 3, 2], scalars: input)),
                      ("t", try Tensor(shape: [2, 2], scalars: target ?? self.target))]
        if weight { inputs.append(("w", try Tensor(shape: [3], scalars: self.weight))) }
        var attributes = [Attribute.string("reduction", reduction)]
        if let ignore { attributes.append(.int("ignore_index", ignore)) }
        return try SingleOp.run("NegativeLogLikelihoodLoss", opset: 22, inputs: inputs, attributes: attributes)[0]
            .scalars(as: Float.self)
    }

    func testNegativeLogLikelihoodSpecExamples() throws {
        XCTAssertEqual(try nll("none"), [-3, -2, -0, -2])
        XCTAssertEqual(try nll("sum", weight: true)[0], -1.1, accuracy: 1e-6)
        XCTAssertEqual(try nll("mean", weight: true)[0], -1.1 / 0.7, accuracy: 1e-6)
        XCTAssertEqual(try nll("mean")[0], -7.0 / 4, accuracy: 1e-6)
    }

    func testIgnoredSamplesLeaveTheMeanDenominator() throws {
        let loss = try nll("mean", ignore: 1)
        XCTAssertEqual(loss[0], (-3 - 0 - 2) / 3, accuracy: 1e-6)
        let weighted = try nll("mean", weight: true, ignore: 2)
        XCTAssertEqual(weighted[0], (-2 * 0.3 - 0 * 0.2) / (0.3 + 0.2), accuracy: 1e-6)
        let allIgnored = try nll("mean", ignore: 7, target: [7, 7, 7, 7])
        XCTAssertTrue(allIgnored[0].isNaN)
    }

    func testOutOfRangeTargetIsAnError() throws {
        XCTAssertThrowsError(try nll("sum", target: [3, 0, 0, 0]))
        XCTAssertThrowsError(try nll("sum", ignore: -1, target: [-2, 0, 0, 0]))
        XCTAssertEqual(try nll("sum", ignore: -1, target: [-1, 1, 0, 2])[0], -2 - 0 - 2)
    }

    func testSoftmaxCrossEntropyWithLogProb() throws {
        let x = try Tensor(shape: [1, 2], scalars: [Double(0), Double(log(3.0))])
        let out = try SingleOp.run(
            "SoftmaxCrossEntropyLoss", opset: 13,
            inputs: [("x", x), ("t", try Tensor(shape: [1], scalars: [Int64(1)]))],
            attributes: [.string("reduction", "none")], outputs: 2)
        XCTAssertEqual(try out[0].scalars(as: Double.self)[0], -log(0.75), accuracy: 1e-12)
        let logProb = try out[1].scalars(as: Double.self)
        XCTAssertEqual(logProb[0], log(0.25), accuracy: 1e-12)
        XCTAssertEqual(logProb[1], log(0.75), accuracy: 1e-12)
        XCTAssertEqual(out[1].shape, [1, 2])
    }
}
