import Foundation
import Onyx
import OnyxTesting
import XCTest

/// Replays every input the fuzzer (`tools/fuzz`) ever found crashing,
/// hanging or exhausting memory, through the same load + plan + run step
/// as the fuzz target. A regression kills or stalls this test.
final class FuzzRegressionTests: XCTestCase {
    func testEveryRegressionInputRunsToAnOutcome() throws {
        let folder = TestPaths.fixture("fuzz-regressions")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted()
        XCTAssertFalse(files.isEmpty, "the regression corpus is empty")
        for file in files {
            let data = try Data(contentsOf: folder.appendingPathComponent(file))
            let started = Date()
            let outcome = FuzzHarness.step(data)
            // The fuzzer flagged inputs over 20 s; a fixed one finishes well under that.
            XCTAssertLessThan(Date().timeIntervalSince(started), 20, "\(file): \(outcome)")
        }
    }

    /// The harness itself: a real model runs, garbage is refused by the loader.
    func testHarnessReachesTheRunOnAValidModel() throws {
        guard let suite = TestPaths.backendTests else { throw XCTSkip("backend tests not present") }
        let model = try Data(contentsOf: suite.appendingPathComponent("node/test_add/model.onnx"))
        XCTAssertEqual(FuzzHarness.step(model), .ran)
        XCTAssertEqual(FuzzHarness.step(Data([0xFF, 0xFF, 0xFF])), .refusedByLoader)
    }

    /// Found by the fuzzer before artifacts were kept: QuantizeLinear of a
    /// scalar with a per-axis scale indexed an empty shape, and a huge
    /// `block_size` overflowed the block count.
    func testQuantizeLinearOfAScalarWithAVectorScaleIsRefused() throws {
        func run(_ x: Tensor, _ scale: Tensor, blockSize: Int) throws {
            var g = GraphBuilder(opset: 21)
            g.input("x", x.shape)
            g.input("s", scale.shape)
            g.node("QuantizeLinear", ["x", "s"], ["y"], ["block_size": AttributeLiteral(integerLiteral: blockSize)])
            g.output("y")
            _ = try Session(model: try g.model()).run(["x": x, "s": scale])
        }
        let vector = try Tensor(shape: [3], scalars: [Float(1), 2, 3])
        XCTAssertThrowsError(try run(Tensor(scalar: Float(1)), vector, blockSize: 0)) { error in
            XCTAssertEqual((error as? OnyxError)?.kind, .shapeMismatch, "\(error)")
        }
        XCTAssertThrowsError(try run(try Tensor(shape: [1, 6], scalars: [Float](repeating: 1, count: 6)), vector, blockSize: .max)) {
            error in XCTAssertEqual((error as? OnyxError)?.kind, .shapeMismatch, "\(error)")
        }
    }
}
