import ArgumentParser
import Foundation
import Onyx

/// `onyx optimize`: run the optimizer passes and write a standard ONNX file.
struct OptimizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "optimize",
        abstract: "Optimize a model (fold BatchNormalization, remove dead code, …) and write it as a standard .onnx file.",
        discussion: """
            Runs the optimizer passes in order until nothing changes, validating the \
            graph after every rewrite, and writes the result with standard ONNX \
            operators only, so any ONNX runtime can run it: fused kernels are written \
            back in standard ops unless --allow-custom-ops keeps them as ai.onyx nodes. Prints one line; --report \
            adds a line per pass (rewrites by kind and the candidates a guard declined, \
            with the reason), --json prints the same as one JSON object. \
            --stop-after N stops after N rewrites, to bisect a bad rewrite. \
            Passes, in order: \(PassPipeline.standard.map { $0.name + ($0.enabledByDefault ? "" : " (off by default)") }.joined(separator: ", ")).
            """
    )

    @Argument(help: "The .onnx model file.") var model: String
    @Option(name: [.short, .customLong("output")], help: "Where to write the optimized model.") var output: String
    @Flag(help: "Print what each pass did and why it declined candidates.") var report = false
    @Flag(help: "Print the report as one JSON object.") var json = false
    @Option(name: .customLong("disable-pass"), help: "Skip the pass NAME (repeatable).") var disabledPasses: [String] = []
    @Option(name: .customLong("enable-pass"), help: "Run the pass NAME that is off by default (repeatable).")
    var enabledPasses: [String] = []
    @Option(help: "Stop after N rewrites.") var stopAfter: Int?
    @Flag(help: "Keep Onyx's fused kernels as ai.onyx-domain nodes (only Onyx can run the file) instead of writing them back in standard ops.")
    var allowCustomOps = false

    func validate() throws {
        if let stopAfter, stopAfter < 0 { throw ValidationError("--stop-after must be at least 0") }
        let known = Set(PassPipeline.names)
        for name in disabledPasses + enabledPasses where !known.contains(name) {
            throw ValidationError("unknown pass \"\(name)\" (passes: \(PassPipeline.names.joined(separator: ", ")))")
        }
    }

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let original = try Model(contentsOf: URL(fileURLWithPath: model))
        let loaded = DispatchTime.now().uptimeNanoseconds
        let optimizer = Optimizer(
            disabledPasses: Set(disabledPasses), enabledPasses: Set(enabledPasses), stopAfter: stopAfter,
            allowCustomOps: allowCustomOps)
        let (optimized, summary) = try optimizer.optimize(original)
        let done = DispatchTime.now().uptimeNanoseconds
        do {
            try ModelWriter.write(optimized, to: URL(fileURLWithPath: output))
        } catch let error as OnyxError {
            throw error.inFile(output)
        }
        let optimizeMilliseconds = Double(done - loaded) / 1e6
        if json {
            let result = JSONReport(
                model: model, output: output, loadMs: Double(loaded - start) / 1e6, optimizeMs: optimizeMilliseconds,
                report: summary)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        if report {
            print(summary.text())
            for line in summary.log { print("  " + line) }
        }
        print(String(
            format: "wrote %@: %d → %d nodes, %d rewrites in %.1f ms%@", output, summary.nodesBefore, summary.nodesAfter,
            summary.rewrites, optimizeMilliseconds, summary.stoppedEarly ? " (stopped by --stop-after)" : ""))
    }

    /// The `--json` output.
    struct JSONReport: Encodable {
        var model: String
        var output: String
        var loadMs: Double
        var optimizeMs: Double
        var report: OptimizationReport
    }
}
