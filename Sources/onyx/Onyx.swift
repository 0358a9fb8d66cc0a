import ArgumentParser

@main
struct OnyxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onyx",
        abstract: "Onyx: an ONNX model interpreter for the CPU.",
        subcommands: [InfoCommand.self]
    )
}
