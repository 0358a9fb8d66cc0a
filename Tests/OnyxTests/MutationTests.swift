import Foundation
import XCTest
@testable import Onyx

/// Thousands of corrupted variants of real models: each must load or fail
/// with an OnyxError, never crash, hang or allocate without bound.
final class MutationTests: XCTestCase {
    /// SplitMix64: small, seeded, reproducible.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { bound <= 1 ? 0 : Int(next() % UInt64(bound)) }
    }

    func seedModels() throws -> [[UInt8]] {
        var urls = [TestPaths.root.appendingPathComponent("models/digits/digits-cnn.onnx")]
        let names = [
            "node/test_loop11", "node/test_if_seq", "node/test_scan9_sum", "node/test_lstm_with_peepholes",
            "node/test_constant", "node/test_cast_FLOAT_to_FLOAT8E4M3FN", "node/test_conv_with_strides_padding",
            "node/test_batchnorm_epsilon", "node/test_layer_normalization_4d_axis0",
            "node/test_group_normalization_example", "node/test_sequence_map_add_2_sequences",
            "node/test_string_split_basic", "node/test_einsum_batch_diagonal",
            "pytorch-converted/test_Conv2d_groups", "simple/test_gradient_of_add",
            "node/test_range_float_type_positive_delta_expanded", "node/test_affine_grid_2d_expanded",
        ]
        if let base = TestPaths.backendTests {
            for name in names {
                let url = base.appendingPathComponent(name).appendingPathComponent("model.onnx")
                if FileManager.default.fileExists(atPath: url.path) { urls.append(url) }
            }
        }
        return try urls.map { Array(try Data(contentsOf: $0)) }
    }

    func testMutatedModelsLoadOrFailCleanly() throws {
        let seeds = try seedModels()
        var random = Random(state: 20_261_121)
        var options = LoadOptions()
        options.memoryLimitBytes = 256 << 20
        var loaded = 0
        var refused = 0
        let variants = 6000
        for index in 0..<variants {
            var bytes = seeds[index % seeds.count]
            switch index % 6 {
            case 0, 1:  // flip 1–8 random bits
                for _ in 0..<(1 + random.below(8)) where !bytes.isEmpty {
                    let at = random.below(bytes.count)
                    bytes[at] ^= UInt8(1 << random.below(8))
                }
            case 2:  // truncate
                bytes = Array(bytes.prefix(random.below(bytes.count)))
            case 3:  // splice the head of one model onto the tail of another
                let other = seeds[random.below(seeds.count)]
                bytes = Array(bytes.prefix(random.below(bytes.count))) + Array(other.suffix(random.below(other.count)))
            case 4:  // overwrite a byte with a boundary value (lengths, varints, tags)
                for _ in 0..<(1 + random.below(3)) where !bytes.isEmpty {
                    bytes[random.below(bytes.count)] = [0x00, 0x7F, 0x80, 0xFF, 0x08, 0x12][random.below(6)]
                }
            default:  // duplicate or delete a random slice
                let start = random.below(bytes.count)
                let length = random.below(min(64, bytes.count - start) + 1)
                let slice = bytes[start..<(start + length)]
                if random.below(2) == 0 {
                    bytes.insert(contentsOf: slice, at: start)
                } else {
                    bytes.removeSubrange(start..<(start + length))
                }
            }
            do {
                let model = try bytes.withUnsafeBytes { try ModelLoader.load(serialized: $0, options: options) }
                // A variant that loads must also survive the writer and a reload.
                let rewritten = try ModelWriter.serialize(model)
                let again = try rewritten.withUnsafeBytes { try ModelLoader.load(serialized: $0, options: options) }
                XCTAssertEqual(again, model, "variant \(index) changed in a round trip")
                _ = ModelSummary(model)
                loaded += 1
            } catch is OnyxError {
                refused += 1
            }
        }
        XCTAssertEqual(loaded + refused, variants)
        XCTAssertGreaterThan(refused, variants / 2)
        print("mutation test: \(variants) variants of \(seeds.count) models, \(loaded) loaded, \(refused) refused")
    }
}
