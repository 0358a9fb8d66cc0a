import Foundation
import XCTest
@testable import Onyx

/// `onyx run` and `onyx test` as a user calls them.
final class CommandLineTests: XCTestCase {
    let digits = TestPaths.root.appendingPathComponent("models/digits")

    func testRunWritesOutputsAndPrintsASummary() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sample = digits.appendingPathComponent("samples/digit-2-label-7.pb").path
        let result = try TestPaths.runOnyx([
            "run", digits.appendingPathComponent("digits-cnn.onnx").path, sample, "--output-dir", directory.path,
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("probabilities: float [1, 10]"), result.stdout)
        XCTAssertTrue(result.stdout.contains("at index 7"), result.stdout)
        let (name, tensor) = try TensorFiles.read(contentsOf: directory.appendingPathComponent("output_0.pb"))
        XCTAssertEqual(name, "probabilities")
        XCTAssertEqual(tensor.shape, [1, 10])
        // By name, the same answer.
        let named = try TestPaths.runOnyx(["run", digits.appendingPathComponent("digits-cnn.onnx").path, "--input", "image=\(sample)"])
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertTrue(named.stdout.contains("at index 7"), named.stdout)
    }

    func testRunRefusesBadInputsWithStatusOne() throws {
        let model = digits.appendingPathComponent("digits-cnn.onnx").path
        let missing = try TestPaths.runOnyx(["run", model])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("image"), missing.stderr)
        let wrongShape = try TestPaths.runOnyx(["run", model, TestPaths.fixture("broken/weights-small.bin").path])
        XCTAssertEqual(wrongShape.status, 1, wrongShape.stderr)
        let usage = try TestPaths.runOnyx(["run", model, "--threads", "0"])
        XCTAssertEqual(usage.status, 2, usage.stderr)
    }

    func testTestCommandReportsAndEnforcesExpectations() throws {
        guard let suite = TestPaths.backendTests else { throw XCTSkip("backend tests not present") }
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = directory.appendingPathComponent("node")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: suite.appendingPathComponent("node/test_add"), to: root.appendingPathComponent("test_add"))
        // A copy whose expected output is wrong must be reported as a mismatch.
        let broken = root.appendingPathComponent("test_add_broken")
        try FileManager.default.copyItem(at: suite.appendingPathComponent("node/test_add"), to: broken)
        let outputFile = broken.appendingPathComponent("test_data_set_0/output_0.pb")
        let (name, expected) = try TensorFiles.read(contentsOf: outputFile)
        let shifted = try Tensor(shape: expected.shape, scalars: try expected.scalars(as: Float.self).map { $0 + 1 })
        try TensorFiles.writeTensorProto(shifted, name: name, to: outputFile)

        let result = try TestPaths.runOnyx(["test", root.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("pass     node/test_add\n"), result.stdout)
        XCTAssertTrue(result.stdout.contains("mismatch node/test_add_broken"), result.stdout)
        XCTAssertTrue(result.stdout.contains("1 passed, 1 failed (1 mismatch, 0 error)"), result.stdout)

        let expect = directory.appendingPathComponent("expect.txt")
        try "node/test_add\n".write(to: expect, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestPaths.runOnyx(["test", root.path, "--expect", expect.path]).status, 0)
        try "node/test_add\nnode/test_add_broken\n".write(to: expect, atomically: true, encoding: .utf8)
        let failing = try TestPaths.runOnyx(["test", root.path, "--expect", expect.path])
        XCTAssertEqual(failing.status, 1)
        XCTAssertTrue(failing.stdout.contains("REGRESSION"), failing.stdout)
    }

    /// Every subcommand: refused models, inputs and files exit 1 with one
    /// `onyx:` line naming the file; malformed command lines exit 2; none
    /// dies by a signal (which would show as another status).
    func testErrorsExitOneAndUsageErrorsExitTwoInEverySubcommand() throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let garbage = directory.appendingPathComponent("garbage.onnx")
        try Data("not a model".utf8).write(to: garbage)
        let model = digits.appendingPathComponent("digits-cnn.onnx").path
        let userErrors: [[String]] = [
            ["info", "/nonexistent/model.onnx"],
            ["info", garbage.path],
            ["run", garbage.path],
            ["run", model, garbage.path],
            ["run", model, "--input", "image=/nonexistent/input.pb"],
            ["optimize", garbage.path, "-o", directory.appendingPathComponent("out.onnx").path],
            ["optimize", model, "-o", "/nonexistent/folder/out.onnx"],
            ["test", directory.appendingPathComponent("no-cases").path],
        ]
        for arguments in userErrors {
            let result = try TestPaths.runOnyx(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("onyx: "), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): \(result.stderr)")
        }
        XCTAssertTrue(try TestPaths.runOnyx(["run", garbage.path]).stderr.contains(garbage.path))
        let usageErrors: [[String]] = [
            [], ["bogus"], ["info"], ["info", model, "--bogus"], ["run"], ["run", model, "--input", "image"],
            ["run", model, "--repeat", "0"], ["optimize", model], ["optimize", model, "-o", "x.onnx", "--disable-pass", "nosuch"],
            ["test", directory.path, "--jobs", "0"], ["test", directory.path, "--filter", "["],
        ]
        for arguments in usageErrors {
            let result = try TestPaths.runOnyx(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
        }
    }
}
