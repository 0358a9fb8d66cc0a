import Foundation
import OnyxTesting
import XCTest
@testable import Onyx

/// `onyx optimize`, `onyx run --no-optimize` and the Session options, on the digits model.
final class OptimizeCommandTests: XCTestCase {
    let model = TestPaths.root.appendingPathComponent("models/digits/digits-cnn.onnx")
    let sample = TestPaths.root.appendingPathComponent("models/digits/samples/digit-2-label-7.pb")

    func probabilities(_ session: Session) throws -> [Float] {
        let input = try TensorFiles.read(contentsOf: sample).tensor
        return try XCTUnwrap(session.run(["image": input])["probabilities"]).scalars(as: Float.self)
    }

    func testSessionOptimizesUnlessAskedNotTo() throws {
        let optimized = try Session(contentsOf: model)
        var options = SessionOptions()
        options.optimize = false
        let plain = try Session(contentsOf: model, options: options)
        XCTAssertEqual(OptimizerAssertions.opCounts(optimized.model.graph)["BatchNormalization", default: 0], 0)
        XCTAssertEqual(OptimizerAssertions.opCounts(plain.model.graph)["BatchNormalization"], 2)
        XCTAssertEqual(optimized.optimizationReport?.pass("fold-batchnorm")?.changes, 2)
        XCTAssertNil(plain.optimizationReport)
        for (a, b) in zip(try probabilities(optimized), try probabilities(plain)) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(abs(b), 1e-2))
        }
        options.optimize = true
        // Without these two, a BatchNormalization that does not fold becomes a ChannelAffine.
        options.disabledPasses = ["fold-batchnorm", "batchnorm-to-channel-affine"]
        let partial = try Session(contentsOf: model, options: options)
        XCTAssertEqual(OptimizerAssertions.opCounts(partial.model.graph)["BatchNormalization"], 2)
        options.disabledPasses = ["no-such-pass"]
        XCTAssertThrowsError(try Session(contentsOf: model, options: options))
    }

    func testOptimizeWritesAStandardModelAndReports() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("digits-opt.onnx")
        let result = try TestPaths.runOnyx(["optimize", model.path, "-o", output.path, "--report"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("fold-batchnorm: 2 BatchNormalization folded into Conv, 0 declined\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("dead-code: 8 unused initializers removed, 0 declined\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("batchnorm-to-affine: disabled\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("wrote \(output.path): 10 → 8 nodes, 5 rewrites"), result.stdout)
        let written = try Model(contentsOf: output)
        XCTAssertNil(OptimizerAssertions.opCounts(written.graph)["BatchNormalization"])
        XCTAssertEqual(written.graph.outputs.map(\.name), ["probabilities"])
        var options = SessionOptions()
        options.optimize = false
        let original = try probabilities(Session(contentsOf: model, options: options))
        for (a, b) in zip(try probabilities(Session(contentsOf: output, options: options)), original) {
            XCTAssertEqual(a, b, accuracy: 1e-5 * max(abs(b), 1e-2))
        }
    }

    func testJSONStopAfterAndDisablePass() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.onnx").path
        let json = try TestPaths.runOnyx(["optimize", model.path, "-o", output, "--json", "--stop-after", "1"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let report = try XCTUnwrap(object["report"] as? [String: Any])
        XCTAssertEqual(report["rewrites"] as? Int, 1)
        XCTAssertEqual(report["stopped_early"] as? Bool, true)
        XCTAssertEqual(OptimizerAssertions.opCounts(try Model(contentsOf: URL(fileURLWithPath: output)).graph)["BatchNormalization"], 1)

        let disabled = try TestPaths.runOnyx(["optimize", model.path, "-o", output, "--disable-pass", "fold-batchnorm"])
        XCTAssertEqual(disabled.status, 0, disabled.stderr)
        XCTAssertEqual(OptimizerAssertions.opCounts(try Model(contentsOf: URL(fileURLWithPath: output)).graph)["BatchNormalization"], 2)
        let unknown = try TestPaths.runOnyx(["optimize", model.path, "-o", output, "--disable-pass", "fold-everything"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown pass \"fold-everything\""), unknown.stderr)
    }

    func testRunWithoutOptimizerGivesTheSameAnswer() throws {
        let plain = try TestPaths.runOnyx(["run", model.path, sample.path, "--no-optimize"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("at index 7"), plain.stdout)
    }
}
