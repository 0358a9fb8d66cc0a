import Foundation
import XCTest
@testable import Onyx

/// RotaryEmbedding, LinearAttention, CausalConvWithState, Swish, SwiGLU, TensorScatter.
final class AttentionFamilyTests: XCTestCase {
    private func f(_ values: [Float], _ shape: [Int]) throws -> Tensor { try Tensor(shape: shape, scalars: values) }

    private func assertClose(_ actual: [Float], _ expected: [Float], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "\(label): count", file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() where !(abs(a - e) <= 1e-5 * max(1, abs(e))) {
            XCTFail("\(label)[\(i)]: got \(a), expected \(e)", file: file, line: line)
            return
        }
    }

    /// cos 0 / sin 1 rotates each pair (x1, x2) to (−x2, x1); the tail beyond rotary_embedding_dim is kept.
    func testRotaryEmbeddingHalvesAndInterleaved() throws {
        let x = try f([1, 2, 3, 4, 5, 6], [1, 1, 1, 6])
        let cos = try f([0, 0], [1, 2])
        let sin = try f([1, 1], [1, 2])
        let ids = try Tensor(shape: [1, 1], scalars: [Int64(0)])
        let halves = try SingleOp.run(
            "RotaryEmbedding", opset: 23, inputs: [("x", x), ("c", cos), ("s", sin), ("p", ids)], attributes: [.int("rotary_embedding_dim", 4)])
        assertClose(try halves[0].floatValues(), [-3, -4, 1, 2, 5, 6], "halves")
        let pairs = try SingleOp.run(
            "RotaryEmbedding", opset: 23, inputs: [("x", x), ("c", cos), ("s", sin), ("p", ids)],
            attributes: [.int("rotary_embedding_dim", 4), .int("interleaved", 1)])
        assertClose(try pairs[0].floatValues(), [-2, 1, -4, 3, 5, 6], "interleaved")
        let outOfRange = try Tensor(shape: [1, 1], scalars: [Int64(1)])
        XCTAssertThrowsError(try SingleOp.run(
            "RotaryEmbedding", opset: 23, inputs: [("x", x), ("c", cos), ("s", sin), ("p", outOfRange)],
            attributes: [.int("rotary_embedding_dim", 4)]))
    }

    /// 3-D input with num_heads 2 and per-batch caches (no position_ids).
    func testRotaryEmbeddingThreeDimensional() throws {
        let out = try SingleOp.run(
            "RotaryEmbedding", opset: 23,
            inputs: [("x", try f([1, 2, 3, 4], [1, 1, 4])), ("c", try f([0], [1, 1, 1])), ("s", try f([1], [1, 1, 1]))],
            attributes: [.int("num_heads", 2)])
        assertClose(try out[0].floatValues(), [-2, 1, -4, 3], "Y")
    }

    /// "linear" rule, one head, dk = dv = 1: S accumulates k·v, o = scale·q·S.
    func testLinearAttentionLinearRule() throws {
        let out = try SingleOp.run(
            "LinearAttention", opset: 27,
            inputs: [("q", try f([1, 2], [1, 2, 1])), ("k", try f([3, 4], [1, 2, 1])), ("v", try f([5, 6], [1, 2, 1]))],
            attributes: [.int("q_num_heads", 1), .int("kv_num_heads", 1), .string("update_rule", "linear")], outputs: 2)
        assertClose(try out[0].floatValues(), [15, 2 * (15 + 24)], "output")
        assertClose(try out[1].floatValues(), [39], "present_state")
    }

    /// "gated_delta": S = e^g·S; S += k·β(v − S·k).
    func testLinearAttentionGatedDelta() throws {
        let out = try SingleOp.run(
            "LinearAttention", opset: 27,
            inputs: [("q", try f([1], [1, 1, 1])), ("k", try f([1], [1, 1, 1])), ("v", try f([3], [1, 1, 1])),
                     ("past", try f([2], [1, 1, 1, 1])), ("g", try f([log(0.5)], [1, 1, 1])), ("b", try f([0.5], [1, 1, 1]))],
            attributes: [.int("q_num_heads", 1), .int("kv_num_heads", 1), .float("scale", 1)], outputs: 2)
        assertClose(try out[1].floatValues(), [2], "present_state")
        assertClose(try out[0].floatValues(), [2], "output")
    }

    /// k = 2 with a past state; present_state keeps the last position.
    func testCausalConvWithState() throws {
        let out = try SingleOp.run(
            "CausalConvWithState", opset: 27,
            inputs: [("x", try f([1, 2, 3], [1, 1, 3])), ("w", try f([10, 1], [1, 1, 2])), ("b", try f([0.5], [1])),
                     ("past", try f([4], [1, 1, 1]))],
            outputs: 2)
        assertClose(try out[0].floatValues(), [41.5, 12.5, 23.5], "output")
        assertClose(try out[1].floatValues(), [3], "present_state")
        let silu = try SingleOp.run(
            "CausalConvWithState", opset: 27, inputs: [("x", try f([1], [1, 1, 1])), ("w", try f([1], [1, 1, 1]))],
            attributes: [.string("activation", "silu")], outputs: 2)
        assertClose(try silu[0].floatValues(), [1 / (1 + exp(-1))], "silu")
        XCTAssertEqual(silu[1].shape, [1, 1, 0])
    }

    func testSwishAndSwiGLU() throws {
        let swish = try SingleOp.run("Swish", opset: 24, inputs: [("x", try f([0, 2], [2]))], attributes: [.float("alpha", 0.5)])
        assertClose(try swish[0].floatValues(), [0, 2 / (1 + exp(-1))], "Swish")
        let glu = try SingleOp.run("SwiGLU", opset: 28, inputs: [("a", try f([0, 2], [2])), ("b", try f([5, 3], [2]))])
        assertClose(try glu[0].floatValues(), [0, 3 * 2 / (1 + exp(-2))], "SwiGLU")
        XCTAssertThrowsError(try SingleOp.run("SwiGLU", opset: 28, inputs: [("a", try f([0, 2], [2])), ("b", try f([5], [1]))]))
    }

    /// Linear mode writes at the index; circular wraps; linear past the end is an error.
    func testTensorScatter() throws {
        let past = try f([0, 0, 0, 0, 0, 0], [2, 3])
        let update = try f([1, 2, 3, 4], [2, 2])
        let indices = try Tensor(shape: [2], scalars: [Int64(1), Int64(2)])
        let circular = try SingleOp.run(
            "TensorScatter", opset: 24, inputs: [("p", past), ("u", update), ("i", indices)],
            attributes: [.string("mode", "circular"), .int("axis", 1)])
        assertClose(try circular[0].floatValues(), [0, 1, 2, 4, 0, 3], "circular")
        let linear = try SingleOp.run("TensorScatter", opset: 24, inputs: [("p", past), ("u", update)], attributes: [.int("axis", 1)])
        assertClose(try linear[0].floatValues(), [1, 2, 0, 3, 4, 0], "linear")
        XCTAssertThrowsError(try SingleOp.run(
            "TensorScatter", opset: 24, inputs: [("p", past), ("u", update), ("i", indices)], attributes: [.int("axis", 1)]))
        let strings = try SingleOp.run(
            "TensorScatter", opset: 24,
            inputs: [("p", try Tensor(shape: [1, 2], strings: ["a", "b"])), ("u", try Tensor(shape: [1, 1], strings: ["z"]))],
            attributes: [.int("axis", 1)])
        XCTAssertEqual(try strings[0].strings(), ["z", "b"])
    }
}
