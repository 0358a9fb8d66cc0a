import Foundation
import XCTest
@testable import Onyx

/// The small real models under models/real/ (exported from PyTorch with random
/// weights by tools/export-models.py) must reproduce onnxruntime's outputs
/// within each case's data.json tolerances.
final class RealModelTests: XCTestCase {
    static let folder = TestPaths.root.appendingPathComponent("models/real")

    static func cases() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.onnx").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    func testEveryModelMatchesOnnxRuntime() throws {
        let cases = try Self.cases()
        XCTAssertGreaterThanOrEqual(cases.count, 7, "models/real holds fewer cases than expected")
        for directory in cases {
            let testCase = ConformanceCase(directory: directory)
            // Every case carries its own tolerances; the defaults would be far tighter.
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: directory.appendingPathComponent("data.json").path),
                "\(testCase.name): no data.json")
            let start = Date()
            let result = testCase.run()
            XCTAssertEqual(result.outcome, .pass, "\(testCase.name): \(result.message)")
            let seconds = Date().timeIntervalSince(start)
            if seconds > 5 { print("\(testCase.name) took \(String(format: "%.1f", seconds)) s") }
        }
    }

    /// The comparison must be able to fail: a perturbed output is caught.
    func testPerturbedOutputIsCaught() throws {
        let directory = Self.folder.appendingPathComponent("lstm")
        let testCase = ConformanceCase(directory: directory)
        let (_, expected) = try TensorFiles.read(
            contentsOf: directory.appendingPathComponent("test_data_set_0/output_0.pb"))
        var values = try expected.floatValues()
        values[values.count / 2] += Float(max(testCase.atol * 20, 1e-3))
        let perturbed = try Tensor.fromFloats(values, shape: expected.shape, as: expected.elementType)
        XCTAssertNil(testCase.compare(expected, expected))
        XCTAssertNotNil(testCase.compare(perturbed, expected))
    }
}
