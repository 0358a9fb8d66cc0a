import Foundation
import XCTest
@testable import Onyx

/// The bundled digits CNN on its sample digits must reproduce onnxruntime's
/// probabilities (models/digits/samples/expected.json).
final class DigitsModelTests: XCTestCase {
    struct Expected: Decodable {
        struct Sample: Decodable {
            var file: String
            var label: Int
            var predicted: Int
            var probabilities: [Double]
        }
        var samples: [Sample]
    }

    func testSamplesMatchOnnxRuntime() throws {
        let folder = TestPaths.root.appendingPathComponent("models/digits")
        let session = try Session(contentsOf: folder.appendingPathComponent("digits-cnn.onnx"))
        let expected = try JSONDecoder().decode(
            Expected.self, from: Data(contentsOf: folder.appendingPathComponent("samples/expected.json")))
        XCTAssertGreaterThanOrEqual(expected.samples.count, 6)
        for sample in expected.samples {
            let input = try TensorFiles.read(contentsOf: folder.appendingPathComponent("samples/\(sample.file)")).tensor
            let output = try session.run(["image": input])
            let probabilities = try XCTUnwrap(output["probabilities"]).scalars(as: Float.self)
            XCTAssertEqual(probabilities.count, 10)
            for (actual, reference) in zip(probabilities, sample.probabilities) {
                XCTAssertEqual(Double(actual), reference, accuracy: 1e-5 + 1e-4 * abs(reference), sample.file)
            }
            let best = probabilities.indices.max { probabilities[$0] < probabilities[$1] }
            XCTAssertEqual(best, sample.predicted, sample.file)
        }
    }
}
