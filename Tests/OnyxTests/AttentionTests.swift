import Foundation
import XCTest
@testable import Onyx

final class AttentionTests: XCTestCase {
    private func f(_ values: [Float], _ shape: [Int]) throws -> Tensor { try Tensor(shape: shape, scalars: values) }

    private func values(_ tensor: Tensor) throws -> [Float] { try tensor.floatValues() }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "\(label): count", file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= 1e-5 * max(1, abs(e))) {
            XCTFail("\(label)[\(i)]: got \(a), expected \(e)", file: file, line: line)
            return
        }
    }

    private func attention(
        opset: Int = 24, _ inputs: [(String, Tensor)], _ attributes: [Attribute] = [], outputs: Int = 1
    ) throws -> [Tensor] {
        try SingleOp.run("Attention", opset: opset, inputs: inputs, attributes: attributes, outputs: outputs)
    }

    /// Head size 1 (scale 1): scores [0, ln 3] give probabilities [1/4, 3/4].
    func testWorkedExample() throws {
        let y = try attention([("Q", try f([1], [1, 1, 1, 1])), ("K", try f([0, log(3)], [1, 1, 2, 1])), ("V", try f([4, 8], [1, 1, 2, 1]))])
        assertClose(try values(y[0]), [7], "Y")
    }

    /// A fully masked row (all-false boolean mask) gives zeros in Y and in mode-3 probabilities.
    func testFullyMaskedRowIsZero() throws {
        let mask = try Tensor(shape: [2, 2], scalars: [true, false, false, false])
        let out = try attention(
            [("Q", try f([1, 2], [1, 1, 2, 1])), ("K", try f([1, 1], [1, 1, 2, 1])), ("V", try f([3, 5], [1, 1, 2, 1])),
             ("mask", mask)],
            [.int("qk_matmul_output_mode", 3)], outputs: 4)
        assertClose(try values(out[0]), [3, 0], "Y")
        assertClose(try values(out[3]), [1, 0, 0, 0], "probabilities")
    }

    /// Causal with a past of 1: query i sees keys 0...i+1 (bottom-right alignment).
    func testCausalWithPastIsBottomRightAligned() throws {
        let out = try attention(
            [("Q", try f([0, 0], [1, 1, 2, 1])), ("K", try f([0, 0], [1, 1, 2, 1])), ("V", try f([2, 4], [1, 1, 2, 1])),
             ("", try f([], [0])), ("past_key", try f([0], [1, 1, 1, 1])), ("past_value", try f([1], [1, 1, 1, 1]))],
            [.int("is_causal", 1)], outputs: 3)
        assertClose(try values(out[0]), [1.5, 7.0 / 3], "Y")
        XCTAssertEqual(out[1].shape, [1, 1, 3, 1])
        assertClose(try values(out[2]), [1, 2, 4], "present_value")
    }

    /// nonpad_kv_seqlen 1 with 2 queries: offset −1 masks query 0 completely.
    func testNegativeCausalOffsetMasksLeadingRows() throws {
        let out = try attention(
            [("Q", try f([0, 0], [1, 1, 2, 1])), ("K", try f([0, 0, 0], [1, 1, 3, 1])), ("V", try f([2, 4, 8], [1, 1, 3, 1])),
             ("", try f([], [0])), ("", try f([], [0])), ("", try f([], [0])),
             ("nonpad", try Tensor(shape: [1], scalars: [Int64(1)]))],
            [.int("is_causal", 1)])
        assertClose(try values(out[0]), [0, 2], "Y")
    }

    /// 3-D inputs with two query heads sharing one key/value head.
    func testThreeDimensionalGroupedQuery() throws {
        let out = try attention(
            [("Q", try f([0, 0], [1, 1, 2])), ("K", try f([0, 0], [1, 2, 1])), ("V", try f([1, 3], [1, 2, 1]))],
            [.int("q_num_heads", 2), .int("kv_num_heads", 1)])
        XCTAssertEqual(out[0].shape, [1, 1, 2])
        assertClose(try values(out[0]), [2, 2], "Y")
    }

    /// Mode 0 is the raw product even with softcap; mode 1 is after softcap.
    func testSoftcapAndQKModes() throws {
        let inputs = [("Q", try f([2], [1, 1, 1, 1])), ("K", try f([0, 3], [1, 1, 2, 1])), ("V", try f([0, 1], [1, 1, 2, 1]))]
        let raw = try attention(inputs, [.float("softcap", 2), .int("qk_matmul_output_mode", 0)], outputs: 4)
        assertClose(try values(raw[3]), [0, 6], "mode 0")
        let capped = try attention(inputs, [.float("softcap", 2), .int("qk_matmul_output_mode", 1)], outputs: 4)
        let c = 2 * Float(tanh(3.0))
        assertClose(try values(capped[3]), [0, c], "mode 1")
        assertClose(try values(capped[0]), [exp(c) / (1 + exp(c))], "Y")
    }

    /// Opset 25 window: left 1, right 0 over 3 keys, query 2 sees keys 1 and 2.
    func testSlidingWindow() throws {
        let out = try attention(
            opset: 25,
            [("Q", try f([0, 0, 0], [1, 1, 3, 1])), ("K", try f([0, 0, 0], [1, 1, 3, 1])), ("V", try f([1, 2, 4], [1, 1, 3, 1]))],
            [.int("left_window_size", 1), .int("right_window_size", 0)])
        assertClose(try values(out[0]), [1, 1.5, 3], "Y")
    }

    /// A float mask shorter than the keys is padded with −∞; a float mask adds.
    func testShortFloatMaskIsPadded() throws {
        let out = try attention(
            [("Q", try f([1], [1, 1, 1, 1])), ("K", try f([0, 0, 0], [1, 1, 3, 1])), ("V", try f([1, 2, 4], [1, 1, 3, 1])),
             ("mask", try f([0, log(3)], [1, 2]))])
        assertClose(try values(out[0]), [(1 + 6) / 4], "Y")
    }

    func testInvalidModelsAreRejected() throws {
        let q = try f([0, 0], [1, 1, 2])
        XCTAssertThrowsError(try attention([("Q", q), ("K", q), ("V", q)]), "3-D without head counts")
        let q4 = try f([0], [1, 1, 1, 1])
        XCTAssertThrowsError(try attention([("Q", q4), ("K", q4), ("V", q4), ("mask", try f([0, 0], [1, 2]))]), "mask longer than keys")
        XCTAssertThrowsError(try attention([("Q", q4), ("K", q4), ("V", q4)], [.int("qk_matmul_output_mode", 4)]))
        XCTAssertThrowsError(try attention(opset: 24, [("Q", q4), ("K", q4), ("V", q4)], [.int("left_window_size", 1)]))
    }

    /// Empty head sizes with huge other dimensions neither hang nor allocate without bound.
    func testDegenerateShapesFailOrFinishQuickly() throws {
        let empty = try f([], [1, 1 << 20, 1 << 20, 0])
        let out = try? attention([("Q", empty), ("K", empty), ("V", empty)])
        XCTAssertEqual(out?.first?.count ?? 0, 0)
        let wide = try f([], [1 << 40, 1, 1, 0])
        XCTAssertThrowsError(try attention([("Q", wide), ("K", wide), ("V", wide)]))
    }

    /// FlexAttention without modifiers equals plain softmax attention.
    func testFlexAttention() throws {
        let out = try SingleOp.run(
            "FlexAttention", domain: "ai.onnx.preview",
            inputs: [("Q", try f([1], [1, 1, 1, 1])), ("K", try f([0, log(3)], [1, 1, 2, 1])), ("V", try f([4, 8], [1, 1, 2, 1]))])
        assertClose(try values(out[0]), [7], "Y")
    }
}
