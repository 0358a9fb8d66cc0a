import ArgumentParser
import Foundation
import Onyx

/// The `onyx` command line.
struct OnyxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onyx",
        abstract: "Onyx: an ONNX model interpreter for the CPU.",
        discussion: """
            Exit status: 0 on success, 1 when the model or an input is refused \
            (the message names the file, node and value), 2 for usage errors.
            """,
        subcommands: [InfoCommand.self, RunCommand.self, OptimizeCommand.self, GraphCommand.self, BenchCommand.self, TestCommand.self, TestCaseCommand.self]
    )
}

@main
enum Main {
    static func main() {
        // No subcommand is a usage error (ArgumentParser would print help and exit 0).
        guard CommandLine.arguments.count > 1 else {
            FileHandle.standardError.write(Data("\(OnyxCommand.helpMessage())\n".utf8))
            exit(2)
        }
        do {
            var command = try OnyxCommand.parseAsRoot()
            try command.run()
        } catch let error as OnyxError {
            FileHandle.standardError.write(Data("onyx: \(error)\n".utf8))
            exit(1)
        } catch {
            let code = OnyxCommand.exitCode(for: error)
            let message = OnyxCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            FileHandle.standardError.write(Data("\(message)\n".utf8))
            exit(code == .validationFailure ? 2 : 1)
        }
    }
}
