import ArgumentParser
import Foundation
import Onyx

/// `onyx run`: run a model on input files.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on inputs from .pb (TensorProto) or .npy files.",
        discussion: """
            Positional inputs are taken in graph-input order, skipping inputs that an \
            initializer backs; --input NAME=FILE feeds an input by name. Outputs are \
            written as output_0.pb, output_1.pb, … (graph-output order) to the output \
            directory, and a summary of each (name, element type, shape, first values) \
            is printed. Exits 0 only when the model ran; any error exits 1 with a \
            message naming the node.
            """
    )

    @Argument(help: "The .onnx model file.") var model: String
    @Argument(help: "Input files in graph-input order.") var inputFiles: [String] = []
    @Option(name: .customLong("input"), help: "An input by name, NAME=FILE (repeatable).") var namedInputs: [String] = []
    @Option(help: "Directory to write output_K.pb files to (default: none written).") var outputDir: String?
    @Option(help: "Threads per run, for the kernels and for independent nodes (default: one per active core).") var threads: Int?
    @Flag(help: "Do not run the graph optimizer.") var noOptimize = false
    @Flag(help: "Run the nodes one after another (no independent nodes at the same time).") var sequential = false
    @Option(name: .customLong("repeat"), help: .hidden) var repeatCount = 1

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if repeatCount < 1 { throw ValidationError("--repeat must be at least 1") }
        for item in namedInputs where !item.contains("=") {
            throw ValidationError("--input expects NAME=FILE, got \"\(item)\"")
        }
    }

    func run() throws {
        var options = SessionOptions()
        options.threads = threads
        options.optimize = !noOptimize
        options.interOpParallelism = !sequential
        let session = try Session(contentsOf: URL(fileURLWithPath: model), options: options)
        var feeds: [String: Tensor] = [:]
        guard inputFiles.count <= session.inputs.count else {
            throw OnyxError(.unexpectedInput, "\(inputFiles.count) input files given, the model has \(session.inputs.count) inputs")
        }
        for (index, file) in inputFiles.enumerated() {
            feeds[session.inputs[index].name] = try TensorFiles.read(contentsOf: URL(fileURLWithPath: file)).tensor
        }
        for item in namedInputs {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            feeds[parts[0]] = try TensorFiles.read(contentsOf: URL(fileURLWithPath: parts[1])).tensor
        }
        if repeatCount > 1 { try RepeatedRuns.measure(session, feeds: feeds, count: repeatCount) }
        let start = DispatchTime.now().uptimeNanoseconds
        let results: [String: Tensor]
        do {
            results = try session.run(feeds)
        } catch let error as OnyxError {
            throw error.inFile(model)
        }
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        if let outputDir {
            let folder = URL(fileURLWithPath: outputDir)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (index, output) in session.outputs.enumerated() {
                guard let tensor = results[output.name] else { continue }
                try TensorFiles.writeTensorProto(
                    tensor, name: output.name, to: folder.appendingPathComponent("output_\(index).pb"))
            }
        }
        for output in session.outputs {
            guard let tensor = results[output.name] else { continue }
            var line = "\(output.name): \(tensor.elementType) \(tensor.shape) \(Self.preview(tensor))"
            if tensor.elementType.isFloatingPoint, tensor.count > 1, let values = try? tensor.floatValues(),
               let best = values.indices.max(by: { values[$0] < values[$1] }) {
                line += String(format: " max %.6g at index %d", Double(values[best]), best)
            }
            print(line)
        }
        print(String(format: "ran in %.2f ms", milliseconds))
    }

    /// The first few values as text.
    static func preview(_ tensor: Tensor, limit: Int = 8) -> String {
        let count = tensor.count
        var items: [String] = []
        if tensor.elementType == .string {
            items = (try? tensor.strings().prefix(limit).map { "\"\($0)\"" }) ?? []
        } else if tensor.elementType == .bool {
            items = (try? tensor.scalars(as: Bool.self).prefix(limit).map { $0 ? "true" : "false" }) ?? []
        } else if tensor.elementType.isFloatingPoint {
            items = (try? tensor.floatValues().prefix(limit).map { String(format: "%.6g", Double($0)) }) ?? []
        } else {
            items = (try? tensor.int64Values().prefix(limit).map { String($0) }) ?? []
        }
        return "[" + items.joined(separator: ", ") + (count > limit ? ", …" : "") + "]"
    }
}
