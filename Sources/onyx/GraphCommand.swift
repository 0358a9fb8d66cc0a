import ArgumentParser
import Foundation
import Onyx

/// `onyx graph`: draw a model's graph with Graphviz.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw a model's graph as Graphviz DOT, SVG or PNG.",
        discussion: """
            Nodes show their op type, Conv/pool geometry and the shapes of the constants \
            they read (constants are not drawn as nodes); edges show value shapes, found \
            by running the model once on zeros (symbolic dims as 1) unless --no-shapes. \
            --optimized draws the graph after the optimizer passes, so folded \
            BatchNormalization nodes (orange) disappear. Densely connected graphs get \
            straight edges with shapes inside the nodes. SVG and PNG need Graphviz's dot \
            (apt-get install graphviz); the format defaults to the extension of -o, else DOT.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case dot, svg, png
    }

    @Argument(help: "The .onnx model file.") var model: String
    @Flag(help: "Draw the graph after the optimizer passes.") var optimized = false
    @Option(help: "dot, svg or png.") var format: Format?
    @Option(name: [.short, .customLong("output")], help: "Where to write the drawing (default: standard output).")
    var output: String?
    @Flag(help: "Do not run the model to label edges with shapes.") var noShapes = false

    func run() throws {
        var loaded = try Model(contentsOf: URL(fileURLWithPath: model))
        let name = URL(fileURLWithPath: model).lastPathComponent
        var title = "\(name): \(loaded.graph.nodes.count) nodes"
        if optimized {
            let (result, report) = try Optimizer().optimize(loaded)
            loaded = result
            title = "\(name), optimized: \(report.nodesBefore) → \(report.nodesAfter) nodes"
        }
        let dot = GraphDOT.render(loaded, title: title, inferShapes: !noShapes)
        let chosen = format ?? output.flatMap { Format(rawValue: URL(fileURLWithPath: $0).pathExtension.lowercased()) } ?? .dot
        let data = chosen == .dot ? Data(dot.utf8) : try Graphviz.render(dot, format: chosen.rawValue)
        guard let output else {
            FileHandle.standardOutput.write(data)
            return
        }
        do {
            try data.write(to: URL(fileURLWithPath: output))
        } catch {
            throw OnyxError.io("cannot write \(output): \(error.localizedDescription)")
        }
    }
}
