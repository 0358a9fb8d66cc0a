import Foundation
import XCTest
@testable import Onyx

final class NormalizationTests: XCTestCase {
    // MARK: - Helpers

    private func assertClose(
        _ actual: [Double], _ expected: [Double], tolerance: Double, _ label: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(actual.count, expected.count, "\(label): element count", file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= tolerance) {
            XCTFail("\(label)[\(i)]: got \(a), expected \(e) (tolerance \(tolerance))", file: file, line: line)
            return
        }
    }

    private func tensor(_ values: [Double], _ shape: [Int], as type: ElementType = .double) throws -> Tensor {
        try Tensor.fromDoubles(values, shape: shape, as: type)
    }

    /// The worked-example fixture: the committed copy, or the shared original.
    private func workedExample() throws -> [String: Any] {
        let candidates = [
            TestPaths.fixture("normalization-worked-example.json"),
            TestPaths.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures/normalization-worked-example.json"),
        ]
        guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw XCTSkip("normalization-worked-example.json not found")
        }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let dictionary = object as? [String: Any] else { throw OnyxError.invalidModel("fixture is not an object") }
        return dictionary
    }

    /// Nested JSON arrays of numbers, flattened in row-major order.
    private func flatten(_ value: Any?) -> [Double] {
        if let number = value as? NSNumber { return [number.doubleValue] }
        if let list = value as? [Any] { return list.flatMap { flatten($0) } }
        return []
    }

    // MARK: - Worked example (BN / LN / IN / GN against float64 expectations)

    func testWorkedExample() throws {
        let example = try workedExample()
        let shape = (example["shape"] as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? []
        XCTAssertEqual(shape, [3, 4, 1, 2])
        let input = flatten(example["input"])
        let epsilon = Float(truncating: (example["epsilon"] as? NSNumber) ?? 1e-5)
        let channels = shape[1]
        for type in [ElementType.double, .float] {
            let x = try tensor(input, shape, as: type)
            let ones = try tensor(Array(repeating: 1, count: channels), [channels], as: type)
            let zeros = try tensor(Array(repeating: 0, count: channels), [channels], as: type)
            let eps = Attribute.float("epsilon", epsilon)

            let bn = try SingleOp.run(
                "BatchNormalization", opset: 15,
                inputs: [("x", x), ("s", ones), ("b", zeros), ("m", zeros), ("v", ones)],
                attributes: [eps, .int("training_mode", 1)], outputs: 3)
            assertClose(try bn[0].doubleValues(), flatten(example["batch_norm_training_stats_axes_N_H_W"]), tolerance: 1e-6, "BN \(type)")
            XCTAssertEqual(try bn[1].doubleValues()[0], 0.1 * 1.5, accuracy: 1e-6)

            let lnScale = try tensor(Array(repeating: 1, count: 8), [4, 1, 2], as: type)
            let lnBias = try tensor(Array(repeating: 0, count: 8), [4, 1, 2], as: type)
            let ln = try SingleOp.run(
                "LayerNormalization", opset: 17, inputs: [("x", x), ("s", lnScale), ("b", lnBias)],
                attributes: [eps, .int("axis", 1)], outputs: 3)
            assertClose(try ln[0].doubleValues(), flatten(example["layer_norm_axes_C_H_W"]), tolerance: 1e-6, "LN \(type)")
            XCTAssertEqual(ln[1].shape, [3, 1, 1, 1])
            XCTAssertEqual(ln[1].elementType, .float)
            XCTAssertEqual(try ln[1].doubleValues()[0], 9.625, accuracy: 1e-6)
            XCTAssertEqual(try ln[2].doubleValues()[0], 1 / (35.734 + 1e-5).squareRoot(), accuracy: 1e-5)

            let instance = try SingleOp.run(
                "InstanceNormalization", opset: 22, inputs: [("x", x), ("s", ones), ("b", zeros)], attributes: [eps])
            assertClose(try instance[0].doubleValues(), flatten(example["instance_norm_axes_H_W"]), tolerance: 1e-6, "IN \(type)")

            let groupExpected = flatten(example["group_norm_G2_axes_group_H_W"])
            let gn21 = try SingleOp.run(
                "GroupNormalization", opset: 21, inputs: [("x", x), ("s", ones), ("b", zeros)],
                attributes: [eps, .int("num_groups", 2)])
            assertClose(try gn21[0].doubleValues(), groupExpected, tolerance: 1e-6, "GN21 \(type)")
            let groupOnes = try tensor([1, 1], [2], as: type)
            let groupZeros = try tensor([0, 0], [2], as: type)
            let gn18 = try SingleOp.run(
                "GroupNormalization", opset: 18, inputs: [("x", x), ("s", groupOnes), ("b", groupZeros)],
                attributes: [eps, .int("num_groups", 2)])
            assertClose(try gn18[0].doubleValues(), groupExpected, tolerance: 1e-6, "GN18 \(type)")
        }
    }

    // MARK: - Precision

    /// 768 float32 values 3000 ± 0.5: E[x²] − E[x]² in float32 loses every
    /// significant digit here; the two-pass Double statistics must not.
    func testLayerNormPrecisionWithLargeMean() throws {
        let count = 768
        let values = (0..<count).map { Float(3000 + 0.5 * sin(Double($0) * 0.37)) }
        let x = try Tensor(shape: [1, count], scalars: values)
        let scale = try Tensor(shape: [count], scalars: [Float](repeating: 1, count: count))
        let y = try SingleOp.run("LayerNormalization", opset: 17, inputs: [("x", x), ("s", scale)])[0]
        XCTAssertEqual(y.elementType, .float)
        let exact = values.map(Double.init)
        let mean = exact.reduce(0, +) / Double(count)
        let variance = exact.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count)
        let expected = exact.map { ($0 - mean) / (variance + 1e-5).squareRoot() }
        assertClose(try y.doubleValues(), expected, tolerance: 1e-5, "LN precision")
    }

    // MARK: - GroupNormalization opset 18 vs 21

    func testGroupNormScaleIsPerGroupInOpset18AndPerChannelInOpset21() throws {
        // Group 0 = channels 0, 1 = [1, 3, 1, 3]; group 1 = channels 2, 3 = [0, 4, 0, 4]:
        // both normalize to [-1, 1, -1, 1] with epsilon 0.
        let x = try Tensor(shape: [1, 4, 1, 2], scalars: [Float(1), 3, 1, 3, 0, 4, 0, 4])
        let attributes: [Attribute] = [.int("num_groups", 2), .float("epsilon", 0)]
        let perGroupScale = try Tensor(shape: [2], scalars: [Float(2), 3])
        let perGroupBias = try Tensor(shape: [2], scalars: [Float(10), 20])
        let y18 = try SingleOp.run(
            "GroupNormalization", opset: 18, inputs: [("x", x), ("s", perGroupScale), ("b", perGroupBias)],
            attributes: attributes)[0]
        XCTAssertEqual(try y18.scalars(as: Float.self), [8, 12, 8, 12, 17, 23, 17, 23])

        let perChannelScale = try Tensor(shape: [4], scalars: [Float(1), 2, 3, 4])
        let perChannelBias = try Tensor(shape: [4], scalars: [Float(0), 1, 2, 3])
        let y21 = try SingleOp.run(
            "GroupNormalization", opset: 21, inputs: [("x", x), ("s", perChannelScale), ("b", perChannelBias)],
            attributes: attributes)[0]
        XCTAssertEqual(try y21.scalars(as: Float.self), [-1, 1, -1, 3, -1, 5, -1, 7])

        XCTAssertThrowsError(try SingleOp.run(
            "GroupNormalization", opset: 18, inputs: [("x", x), ("s", perChannelScale), ("b", perChannelBias)],
            attributes: attributes))
        XCTAssertThrowsError(try SingleOp.run(
            "GroupNormalization", opset: 21, inputs: [("x", x), ("s", perGroupScale), ("b", perGroupBias)],
            attributes: attributes))
        XCTAssertThrowsError(try SingleOp.run(
            "GroupNormalization", opset: 21, inputs: [("x", x), ("s", perChannelScale), ("b", perChannelBias)],
            attributes: [.int("num_groups", 3)]))
    }

    // MARK: - Other semantics

    func testLayerNormNegativeAxisStatisticsAndOptionalBias() throws {
        let x = try Tensor(shape: [2, 3], scalars: [1.0, 2, 3, 2, 4, 6])
        let scale = try Tensor(shape: [3], scalars: [1.0, 2, 3])
        let out = try SingleOp.run(
            "LayerNormalization", opset: 17, inputs: [("x", x), ("s", scale)],
            attributes: [.int("axis", -1), .float("epsilon", 0)], outputs: 3)
        XCTAssertEqual(out[0].elementType, .double)
        let r = (1.5).squareRoot()
        assertClose(try out[0].doubleValues(), [-r, 0, 3 * r, -r, 0, 3 * r], tolerance: 1e-12, "Y")
        XCTAssertEqual(out[1].shape, [2, 1])
        XCTAssertEqual(out[1].elementType, .float)
        XCTAssertEqual(try out[1].scalars(as: Float.self), [2, 4])
        assertClose(try out[2].doubleValues(), [r, r / 2], tolerance: 1e-6, "InvStdDev")
        XCTAssertThrowsError(try SingleOp.run(
            "LayerNormalization", opset: 17, inputs: [("x", x), ("s", try Tensor(shape: [2], scalars: [1.0, 1]))]))

        // A [6] scale is not broadcastable to [2, 3] but matches the normalized block (axis 0): read flat.
        let flat = try Tensor(shape: [6], scalars: [1.0, 1, 1, 1, 1, 2])
        let whole = try SingleOp.run(
            "LayerNormalization", opset: 17, inputs: [("x", x), ("s", flat)],
            attributes: [.int("axis", 0), .float("epsilon", 0)], outputs: 2)
        XCTAssertEqual(whole[1].shape, [1, 1])
        XCTAssertEqual(try whole[1].scalars(as: Float.self), [3])
        let sd = (16.0 / 6).squareRoot()
        assertClose(try whole[0].doubleValues(), [-2 / sd, -1 / sd, 0, -1 / sd, 1 / sd, 6 / sd], tolerance: 1e-12, "flat scale")
    }

    func testRMSNormalization() throws {
        let x = try Tensor(shape: [2, 2], scalars: [Float(3), 4, 1, -1])
        let scale = try Tensor(shape: [2], scalars: [Float(1), 2])
        let y = try SingleOp.run(
            "RMSNormalization", opset: 23, inputs: [("x", x), ("s", scale)], attributes: [.float("epsilon", 0)])[0]
        let rms = (12.5).squareRoot()
        assertClose(try y.doubleValues(), [3 / rms, 8 / rms, 1, -2], tolerance: 1e-6, "RMS")
        let wide = try SingleOp.run(
            "RMSNormalization", opset: 23, inputs: [("x", x), ("s", try Tensor(shape: [2, 2], scalars: [Float(1), 1, 1, 1]))],
            attributes: [.int("axis", 0), .float("epsilon", 0)])[0]
        let all = (27.0 / 4).squareRoot()
        assertClose(try wide.doubleValues(), [3 / all, 4 / all, 1 / all, -1 / all], tolerance: 1e-6, "RMS axis 0")
    }

    func testReducedPrecisionTypes() throws {
        for type in [ElementType.float16, .bfloat16] {
            let x = try tensor([1, 2, 3, 4], [1, 4], as: type)
            let scale = try tensor([1, 1, 1, 1], [4], as: type)
            let y = try SingleOp.run("LayerNormalization", opset: 17, inputs: [("x", x), ("s", scale)])[0]
            XCTAssertEqual(y.elementType, type)
            let s = (1.25).squareRoot()
            assertClose(try y.doubleValues(), [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], tolerance: 2e-2, "LN \(type)")
        }
        XCTAssertThrowsError(try SingleOp.run(
            "LayerNormalization", opset: 17,
            inputs: [("x", try Tensor(shape: [2], scalars: [Int32(1), 2])), ("s", try Tensor(shape: [2], scalars: [Int32(1), 1]))]))
    }

    func testInstanceNormalizationPerChannelAffine() throws {
        let x = try Tensor(shape: [1, 2, 2], scalars: [1.0, 3, 2, 2])
        let scale = try Tensor(shape: [2], scalars: [2.0, 1])
        let bias = try Tensor(shape: [2], scalars: [0.0, 5])
        let y = try SingleOp.run("InstanceNormalization", opset: 6, inputs: [("x", x), ("s", scale), ("b", bias)])[0]
        let d = 2 / (1 + 1e-5).squareRoot()
        assertClose(try y.doubleValues(), [-d, d, 5, 5], tolerance: 1e-9, "IN")
    }

    func testLpNormalization() throws {
        let x = try Tensor(shape: [2, 2], scalars: [Float(3), 4, 0, 0])
        let l2 = try SingleOp.run("LpNormalization", opset: 22, inputs: [("x", x)])[0]
        XCTAssertEqual(try l2.scalars(as: Float.self), [0.6, 0.8, 0, 0])
        let l1 = try SingleOp.run("LpNormalization", opset: 1, inputs: [("x", x)], attributes: [.int("p", 1)])[0]
        assertClose(try l1.doubleValues(), [3.0 / 7, 4.0 / 7, 0, 0], tolerance: 1e-7, "L1")
        let negative = try Tensor(shape: [2, 2], scalars: [Float(-3), 1, 1, -1])
        let axis0 = try SingleOp.run(
            "LpNormalization", opset: 22, inputs: [("x", negative)], attributes: [.int("p", 1), .int("axis", 0)])[0]
        assertClose(try axis0.doubleValues(), [-0.75, 0.5, 0.25, -0.5], tolerance: 1e-7, "L1 axis 0")
        XCTAssertThrowsError(try SingleOp.run("LpNormalization", opset: 22, inputs: [("x", x)], attributes: [.int("p", 3)]))
    }

    func testMeanVarianceNormalization() throws {
        let x = try Tensor(shape: [1, 2, 1, 2], scalars: [1.0, 3, 5, 5])
        let y = try SingleOp.run("MeanVarianceNormalization", opset: 13, inputs: [("x", x)])[0]
        let e = 1 + Double(Float(1e-9))
        assertClose(try y.doubleValues(), [-1 / e, 1 / e, 0, 0], tolerance: 1e-15, "MVN default axes")
        let all = try SingleOp.run(
            "MeanVarianceNormalization", opset: 9, inputs: [("x", x)], attributes: [.ints("axes", [-1, 1])])[0]
        let std = (2.75).squareRoot()
        assertClose(try all.doubleValues(), [-2.5 / std, -0.5 / std, 1.5 / std, 1.5 / std], tolerance: 1e-8, "MVN axes")
    }

    func testLRNWindowIsAsymmetricForEvenSize() throws {
        // size 2: the window is [c, c + 1]; alpha / size = 1, beta 1, bias 0 → x / Σx².
        let x = try Tensor(shape: [1, 3, 1, 1], scalars: [1.0, 2, 3])
        let y = try SingleOp.run(
            "LRN", opset: 13, inputs: [("x", x)],
            attributes: [.int("size", 2), .float("alpha", 2), .float("beta", 1), .float("bias", 0)])[0]
        assertClose(try y.doubleValues(), [1.0 / 5, 2.0 / 13, 3.0 / 9], tolerance: 1e-12, "LRN size 2")
        let y3 = try SingleOp.run(
            "LRN", opset: 1, inputs: [("x", x)],
            attributes: [.int("size", 3), .float("alpha", 3), .float("beta", 1), .float("bias", 0)])[0]
        assertClose(try y3.doubleValues(), [1.0 / 5, 2.0 / 14, 3.0 / 13], tolerance: 1e-12, "LRN size 3")
        XCTAssertThrowsError(try SingleOp.run("LRN", opset: 13, inputs: [("x", x)]))
    }
}
