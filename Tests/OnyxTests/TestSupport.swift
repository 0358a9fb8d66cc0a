import Foundation
import XCTest
@testable import Onyx

/// Paths shared by the tests.
enum TestPaths {
    /// The repository root.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The ONNX backend conformance data, when present (`../shared/onnx-backend-tests`
    /// beside the repository, or `$ONYX_BACKEND_TESTS`).
    static var backendTests: URL? {
        if let path = ProcessInfo.processInfo.environment["ONYX_BACKEND_TESTS"] {
            return URL(fileURLWithPath: path)
        }
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/onnx-backend-tests")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// Every `model.onnx` under the backend tests, sorted.
    static func backendModels() -> [URL] {
        guard let base = backendTests,
              let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)
        else { return [] }
        var models: [URL] = []
        for case let url as URL in walker where url.lastPathComponent == "model.onnx" { models.append(url) }
        return models.sorted { $0.path < $1.path }
    }

    static func fixture(_ name: String) -> URL {
        root.appendingPathComponent("Tests/OnyxTests/Fixtures").appendingPathComponent(name)
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("onyx-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension TestPaths {
    /// The `onyx` executable built beside the test bundle.
    static var onyxBinary: URL? {
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            let candidate = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("onyx")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        let fallback = root.appendingPathComponent(".build/debug/onyx")
        return FileManager.default.isExecutableFile(atPath: fallback.path) ? fallback : nil
    }

    /// Runs `onyx` with `arguments`; returns exit status, stdout and stderr.
    static func runOnyx(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        guard let binary = onyxBinary else { throw XCTSkip("onyx executable not built") }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
