import ArgumentParser
import Foundation
import Onyx

/// `onyx info`: what a model contains.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model: metadata, inputs, outputs, operators, weights.",
        discussion: """
            Prints the IR version, producer, opset imports, graph inputs (those not \
            backed by an initializer) and outputs with element type and shape \
            (symbolic dimensions by name, ? when unknown), the operator histogram \
            over the graph and its subgraphs, node and initializer counts, the \
            parameter count and bytes, subgraphs, model-local functions, external \
            data files, the operators this build cannot execute yet, the load time \
            and the memory resident after loading. The model is fully validated; a broken file exits with status 1.
            """
    )

    @Argument(help: "The .onnx model file.")
    var model: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let loaded = try ModelLoader.load(contentsOf: URL(fileURLWithPath: model))
        let summary = ModelSummary(loaded.model, loaded: loaded, file: model)
        if json {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print(Self.text(summary), terminator: "")
        }
    }

    static func text(_ s: ModelSummary) -> String {
        var lines: [(String, String)] = []
        func add(_ key: String, _ value: String) { lines.append((key, value)) }
        func value(_ v: ModelSummary.ValueSummary) -> String {
            "\(v.name): \(v.type)" + (v.shape.map { " [" + $0.joined(separator: ", ") + "]" } ?? " [rank unknown]")
        }
        add("model", s.file ?? "")
        add("ir version", String(s.irVersion))
        let producer = [s.producerName, s.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        add("producer", producer.isEmpty ? "(none)" : producer)
        if !s.domain.isEmpty || s.modelVersion != 0 { add("model", "\(s.domain) version \(s.modelVersion)") }
        add("opsets", s.opsets.map { "\($0.domain) \($0.version)" }.joined(separator: ", "))
        if s.inputs.isEmpty { add("inputs", "(none)") }
        for (index, input) in s.inputs.enumerated() { add(index == 0 ? "inputs" : "", value(input)) }
        for (index, output) in s.outputs.enumerated() { add(index == 0 ? "outputs" : "", value(output)) }
        add("nodes", s.totalNodeCount == s.nodeCount ? "\(s.nodeCount)" : "\(s.nodeCount) (\(s.totalNodeCount) with subgraphs)")
        add("operators", s.operators.map { "\($0.op) \($0.count)" }.joined(separator: ", "))
        add("initializers", "\(s.initializerCount)")
        add("parameters", "\(s.parameterCount) (\(byteText(s.parameterBytes)))")
        if s.subgraphs.isEmpty { add("subgraphs", "none") }
        for (index, sub) in s.subgraphs.enumerated() {
            add(index == 0 ? "subgraphs" : "", "\(sub.opType) \"\(sub.node)\" .\(sub.attribute): \(sub.nodeCount) nodes, depth \(sub.depth)")
        }
        if !s.functions.isEmpty { add("functions", s.functions.joined(separator: ", ")) }
        add("external data", s.externalDataFiles.isEmpty ? "none" : s.externalDataFiles.joined(separator: ", "))
        add("not executable", s.unsupportedOperators.isEmpty ? "none" : s.unsupportedOperators.joined(separator: ", "))
        if let ms = s.loadMs { add("load time", String(format: "%.1f ms", ms)) }
        if let rss = s.rssAfterLoadMb { add("resident", String(format: "%.1f MiB after loading", rss)) }
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { key, value in
            key.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + value + "\n"
        }.joined()
    }

    static func byteText(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var size = Double(bytes)
        var unit = 0
        while size >= 1024 && unit < units.count - 1 {
            size /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", size, units[unit])
    }
}
