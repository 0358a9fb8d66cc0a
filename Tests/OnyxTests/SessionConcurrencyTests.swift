import Foundation
import Onyx
import XCTest

/// Many tasks running one `Session` at once must get exactly the outputs a
/// sequential run gives. Run under Thread Sanitizer too:
/// `swift test --sanitize=thread --scratch-path .build-tsan --filter SessionConcurrencyTests`.
final class SessionConcurrencyTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The digit samples, each shifted a little per index so that runs differ.
    private func digitInputs(count: Int) throws -> [Tensor] {
        let samples = try FileManager.default
            .contentsOfDirectory(
                at: Self.root.appendingPathComponent("models/digits/samples"), includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "pb" }.sorted { $0.path < $1.path }
            .map { try Tensor(contentsOf: $0).scalars(as: Float.self) }
        XCTAssertFalse(samples.isEmpty)
        return try (0..<count).map { index in
            let base = samples[index % samples.count]
            return try Tensor(shape: [1, 1, 8, 8], scalars: base.map { $0 + Float(index) * 0.01 })
        }
    }

    /// Runs `runsPerTask` runs in each of `tasks` tasks and compares every
    /// output with the sequential result for the same input.
    private func assertConcurrentRunsMatch(
        _ session: Session, inputName: String, inputs: [Tensor], tasks: Int, runsPerTask: Int,
        file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        let expected = try inputs.map { try session.run([inputName: $0]) }
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var mismatches = 0
                    for run in 0..<runsPerTask {
                        let index = (task &* runsPerTask &+ run) % inputs.count
                        let outputs = try await session.run([inputName: inputs[index]])
                        if outputs != expected[index] { mismatches += 1 }
                    }
                    return mismatches
                }
            }
            return try await group.reduce(0, +)
        }
        XCTAssertEqual(mismatches, 0, "runs whose outputs differ from the sequential run", file: file, line: line)
    }

    func testEightTasksOfFiftyRunsOnTheDigitsModelMatchSequentialRuns() async throws {
        var options = SessionOptions()
        options.threads = 2
        let session = try Session(
            contentsOf: Self.root.appendingPathComponent("models/digits/digits-cnn.onnx"), options: options)
        let inputs = try digitInputs(count: 40)
        try await assertConcurrentRunsMatch(session, inputName: "image", inputs: inputs, tasks: 8, runsPerTask: 50)
    }

    func testConcurrentRunsOnAConvNetWithThreadedKernelsMatchSequentialRuns() async throws {
        let folder = Self.root.appendingPathComponent("models/real/mobilenet_v2_small")
        var options = SessionOptions()
        options.threads = 2
        let session = try Session(contentsOf: folder.appendingPathComponent("model.onnx"), options: options)
        let input = try Tensor(contentsOf: folder.appendingPathComponent("test_data_set_0/input_0.pb"))
        let values = try input.scalars(as: Float.self)
        let inputs = try (0..<2).map { shift in
            try Tensor(shape: input.shape, scalars: values.map { $0 * (1 + Float(shift) * 0.1) })
        }
        try await assertConcurrentRunsMatch(session, inputName: "input", inputs: inputs, tasks: 8, runsPerTask: 1)
    }

    func testSubsetOfOutputsAndAsyncVariantAgreeWithPlainRun() async throws {
        let session = try Session(contentsOf: Self.root.appendingPathComponent("models/digits/digits-cnn.onnx"))
        let input = try digitInputs(count: 1)[0]
        let all = try await session.run(["image": input])
        let name = try XCTUnwrap(session.outputs.first?.name)
        let subset = try await session.run(["image": input], outputs: [name])
        XCTAssertEqual(Array(subset.keys), [name])
        XCTAssertEqual(subset[name], all[name])
        do {
            _ = try await session.run(["image": input], outputs: ["nope"])
            XCTFail("asking for an output the model lacks must throw")
        } catch let error as OnyxError {
            XCTAssertEqual(error.kind, .invalidModel)
        }
    }
}
