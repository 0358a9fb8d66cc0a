import Foundation

/// Renders DOT text with Graphviz's `dot` program, when it is installed
/// (Debian: `apt-get install graphviz`). Onyx never needs it to run models.
public enum Graphviz {
    /// The `dot` executable found on `PATH`, or nil.
    public static var dotExecutable: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("dot")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Runs `dot -T<format>` on `dot` text and returns what it wrote
    /// (`format` is a Graphviz output format: `svg`, `png`, `pdf`, …).
    /// Throws ``OnyxError/Kind/io`` when `dot` is missing, when it exits
    /// with an error (quoting its message), and when it runs longer than
    /// `timeout` seconds (it is then stopped).
    public static func render(_ dot: String, format: String, timeout: Double = 300) throws -> Data {
        guard let executable = dotExecutable else {
            throw OnyxError.io("Graphviz's dot is not installed (apt-get install graphviz); write DOT instead")
        }
        guard !format.isEmpty, format.allSatisfy({ $0.isLetter || $0.isNumber || $0 == ":" }) else {
            throw OnyxError.io("\"\(format)\" is not a Graphviz output format")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("onyx-dot-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("graph.dot")
        let output = directory.appendingPathComponent("graph.\(format)")
        let errors = directory.appendingPathComponent("stderr.txt")
        do {
            try Data(dot.utf8).write(to: input)
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            let process = Process()
            process.executableURL = executable
            process.arguments = ["-T\(format)", input.path, "-o", output.path]
            process.standardError = try FileHandle(forWritingTo: errors)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
                throw OnyxError.io("dot did not finish in \(Int(timeout)) s; write DOT (--format dot) and lay it out separately")
            }
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
                throw OnyxError.io(
                    "dot exited with status \(process.terminationStatus): "
                        + message.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return try Data(contentsOf: output)
        } catch let error as OnyxError {
            throw error
        } catch {
            throw OnyxError.io("cannot run \(executable.path): \(error.localizedDescription)")
        }
    }
}
