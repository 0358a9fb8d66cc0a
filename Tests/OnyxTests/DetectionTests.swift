import XCTest
@testable import Onyx

final class DetectionTests: XCTestCase {
    private func nms(_ boxes: [Float], _ scores: [Float], maxPerClass: Int64, iou: Float, score: Float? = nil,
                     center: Int = 0) throws -> [Int64] {
        let n = scores.count
        var inputs = [("b", try Tensor(shape: [1, n, 4], scalars: boxes)), ("s", try Tensor(shape: [1, 1, n], scalars: scores)),
                      ("m", try Tensor(shape: [1], scalars: [maxPerClass])), ("i", try Tensor(shape: [1], scalars: [iou]))]
        if let score { inputs.append(("t", try Tensor(shape: [1], scalars: [score]))) }
        let out = try SingleOp.run("NonMaxSuppression", opset: 11, inputs: inputs, attributes: [.int("center_point_box", center)])[0]
        return try out.scalars(as: Int64.self)
    }

    func testNonMaxSuppressionOrderAndThresholds() throws {
        let boxes: [Float] = [0, 0, 2, 2, 0, 1, 2, 3, 10, 10, 11, 11]
        // IoU(0, 1) = 2 / 6 = 1/3: kept at threshold 1/3 (strict), suppressed below.
        XCTAssertEqual(try nms(boxes, [0.9, 0.8, 0.7], maxPerClass: 3, iou: 1.0 / 3), [0, 0, 0, 0, 0, 1, 0, 0, 2])
        XCTAssertEqual(try nms(boxes, [0.9, 0.8, 0.7], maxPerClass: 3, iou: 0.3), [0, 0, 0, 0, 0, 2])
        // Equal scores: lower index first; the limit cuts the list.
        XCTAssertEqual(try nms(boxes, [0.5, 0.5, 0.5], maxPerClass: 2, iou: 0.9), [0, 0, 0, 0, 0, 1])
        // score_threshold is strict.
        XCTAssertEqual(try nms(boxes, [0.9, 0.8, 0.7], maxPerClass: 3, iou: 0.5, score: 0.8), [0, 0, 0])
        XCTAssertEqual(try nms(boxes, [0.9, 0.8, 0.7], maxPerClass: 0, iou: 0.5), [])
        // Center format: the same first two boxes.
        let centered: [Float] = [1, 1, 2, 2, 1, 2, 2, 2, 10.5, 10.5, 1, 1]
        XCTAssertEqual(try nms(centered, [0.9, 0.8, 0.7], maxPerClass: 3, iou: 0.3, center: 1), [0, 0, 0, 0, 0, 2])
    }

    func testMaxUnpoolPlacesInferredResultAtOrigin() throws {
        let x = try Tensor(shape: [1, 1, 1, 2], scalars: [Float(5), 6])
        let i = try Tensor(shape: [1, 1, 1, 2], scalars: [Int64(1), 3])
        let attributes: [Attribute] = [.ints("kernel_shape", [1, 2]), .ints("strides", [1, 2])]
        let plain = try SingleOp.run("MaxUnpool", opset: 11, inputs: [("x", x), ("i", i)], attributes: attributes)[0]
        XCTAssertEqual(plain.shape, [1, 1, 1, 4])
        XCTAssertEqual(try plain.scalars(as: Float.self), [0, 5, 0, 6])
        let shape = try Tensor(shape: [4], scalars: [Int64(1), 1, 2, 5])
        let padded = try SingleOp.run("MaxUnpool", opset: 11, inputs: [("x", x), ("i", i), ("s", shape)], attributes: attributes)[0]
        XCTAssertEqual(try padded.scalars(as: Float.self), [0, 5, 0, 6, 0, 0, 0, 0, 0, 0])
        let bad = try Tensor(shape: [1, 1, 1, 2], scalars: [Int64(1), 4])
        XCTAssertThrowsError(try SingleOp.run("MaxUnpool", opset: 11, inputs: [("x", x), ("i", bad)], attributes: attributes))
    }

    func testRoiAlignAverageOfBilinearSamples() throws {
        // 2×2 map [[0, 1], [2, 3]]; the whole-map RoI (output_half_pixel) with one bin and a 2×2 grid samples
        // (0.5, 0.5), (0.5, 1.5), (1.5, 0.5), (1.5, 1.5); points beyond the last pixel clamp to it.
        let x = try Tensor(shape: [1, 1, 2, 2], scalars: [Float(0), 1, 2, 3])
        let rois = try Tensor(shape: [1, 4], scalars: [Float(0), 0, 2, 2])
        let batch = try Tensor(shape: [1], scalars: [Int64(0)])
        let out = try SingleOp.run("RoiAlign", opset: 16, inputs: [("x", x), ("r", rois), ("b", batch)],
                                   attributes: [.string("coordinate_transformation_mode", "output_half_pixel"),
                                                .int("sampling_ratio", 2)])[0]
        // Samples: 1.5, 2.0 (x clamped), 2.5 (y clamped), 3.0 → mean 2.25.
        XCTAssertEqual(try out.scalars(as: Float.self)[0], 2.25, accuracy: 1e-6)
    }

    func testMaxRoiPoolRoundsAndClips() throws {
        let x = try Tensor(shape: [1, 1, 3, 3], scalars: (0..<9).map { Float($0) })
        let rois = try Tensor(shape: [1, 5], scalars: [Float(0), 0.6, 0, 2, 1.4])
        let out = try SingleOp.run("MaxRoiPool", opset: 22, inputs: [("x", x), ("r", rois)],
                                   attributes: [.ints("pooled_shape", [1, 2])])[0]
        // x 1…2, y 0…1: columns {1}, {2} after splitting width 2 → maxima 4 and 5.
        XCTAssertEqual(try out.scalars(as: Float.self), [4, 5])
    }

    func testDeformConvWithZeroOffsetsIsConv() throws {
        let x = try Tensor(shape: [1, 1, 3, 3], scalars: (0..<9).map { Float($0) })
        let w = try Tensor(shape: [1, 1, 2, 2], scalars: [Float(1), 2, 3, 4])
        let offset = try Tensor(shape: [1, 8, 2, 2], scalars: [Float](repeating: 0, count: 32))
        let out = try SingleOp.run("DeformConv", opset: 19, inputs: [("x", x), ("w", w), ("o", offset)])[0]
        XCTAssertEqual(try out.scalars(as: Float.self), [27, 37, 57, 67])
        // A half-pixel shift along x for every tap averages neighbours; taps past the edge read 0.
        let shifted = try Tensor(shape: [1, 8, 2, 2], scalars: (0..<32).map { ($0 / 4) % 2 == 1 ? Float(0.5) : 0 })
        let moved = try SingleOp.run("DeformConv", opset: 19, inputs: [("x", x), ("w", w), ("o", shifted)])[0]
        XCTAssertEqual(try moved.scalars(as: Float.self)[0], 1 * 0.5 + 2 * 1.5 + 3 * 3.5 + 4 * 4.5, accuracy: 1e-5)
        XCTAssertEqual(try moved.scalars(as: Float.self)[1], 1 * 1.5 + 2 * 1.0 + 3 * 4.5 + 4 * 2.5, accuracy: 1e-5)
    }
}
