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

/// Runs single-operator graphs for kernel unit tests.
enum SingleOp {
    /// Builds a one-node model of `opType` at `opset`, feeds `inputs`
    /// (name, tensor; an empty name omits an optional input), and returns
    /// the outputs in order. Inputs named in `constants` are initializers
    /// instead (what the kernel sees when the plan is built).
    static func run(
        _ opType: String, opset: Int = 21, domain: String = "", inputs: [(String, Tensor)],
        attributes: [Attribute] = [], outputs: Int = 1, constants: Set<String> = []
    ) throws -> [Tensor] {
        let outputNames = (0..<outputs).map { "out\($0)" }
        let node = Node(
            name: "node", opType: opType, domain: domain, inputs: inputs.map(\.0), outputs: outputNames,
            attributes: attributes)
        var graph = Graph(
            name: "single", nodes: [node],
            inputs: inputs.filter { !$0.0.isEmpty && !constants.contains($0.0) }
                .map { ValueInfo(name: $0.0, type: .tensor(elementType: $0.1.elementType, shape: nil)) },
            outputs: outputNames.map { ValueInfo(name: $0, type: nil) })
        for (name, tensor) in inputs where constants.contains(name) { graph.constants[name] = tensor }
        var imports = [OpsetImport(domain: "", version: opset)]
        if !domain.isEmpty { imports.append(OpsetImport(domain: domain, version: 1)) }
        let session = try Session(model: Model(opsetImports: imports, graph: graph))
        var feeds: [String: Tensor] = [:]
        for (name, tensor) in inputs where !name.isEmpty && !constants.contains(name) { feeds[name] = tensor }
        let results = try session.run(feeds)
        return try outputNames.map { name in
            guard let tensor = results[name] else { throw OnyxError.invalidModel("no output \(name)") }
            return tensor
        }
    }
}

extension Attribute {
    static func int(_ name: String, _ value: Int) -> Attribute { Attribute(name: name, value: .int(Int64(value))) }
    static func ints(_ name: String, _ value: [Int]) -> Attribute { Attribute(name: name, value: .ints(value.map { Int64($0) })) }
    static func float(_ name: String, _ value: Float) -> Attribute { Attribute(name: name, value: .float(value)) }
    static func floats(_ name: String, _ value: [Float]) -> Attribute { Attribute(name: name, value: .floats(value)) }
    static func string(_ name: String, _ value: String) -> Attribute { Attribute(name: name, value: .string(Array(value.utf8))) }
}
