import Foundation
import XCTest
@testable import Onyx

/// Load → write → load over every conformance model must give the same IR.
final class RoundTripTests: XCTestCase {
    func testBackendModelsLoadAndRoundTrip() throws {
        let models = TestPaths.backendModels()
        try XCTSkipIf(models.isEmpty, "../shared/onnx-backend-tests not present")
        let keepDirectory = ProcessInfo.processInfo.environment["ONYX_ROUNDTRIP_DIR"].map { URL(fileURLWithPath: $0) }
        let scratch = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        var failures: [String] = []
        for (index, url) in models.enumerated() {
            let relative = String(url.path.dropFirst(TestPaths.backendTests?.path.count ?? 0))
            do {
                let loaded = try ModelLoader.load(contentsOf: url)
                let first = loaded.model
                // What `onyx info` prints must be computable for every model.
                let summary = ModelSummary(first, loaded: loaded, file: url.path)
                _ = try JSONEncoder().encode(summary)
                if summary.totalNodeCount < first.graph.nodes.count { failures.append("\(relative): bad node count") }
                var target = scratch.appendingPathComponent("\(index).onnx")
                if let keepDirectory {
                    let folder = keepDirectory.appendingPathComponent(url.deletingLastPathComponent().path.dropFirst(TestPaths.backendTests?.path.count ?? 0).description)
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    target = folder.appendingPathComponent("model.onnx")
                }
                try first.write(to: target)
                let second = try Model(contentsOf: target)
                if first != second { failures.append("\(relative): IR differs after round trip") }
                // The in-memory serializer must agree with the streaming writer.
                let bytes = try ModelWriter.serialize(first)
                let written = try Data(contentsOf: target)
                if Data(bytes) != written { failures.append("\(relative): serialize() and write() differ") }
            } catch {
                failures.append("\(relative): \(error)")
            }
        }
        XCTAssertEqual(failures, [], "\(failures.count) of \(models.count) models failed")
        XCTAssertGreaterThan(models.count, 2000)
    }
}
