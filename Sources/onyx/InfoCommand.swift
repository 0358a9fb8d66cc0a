import ArgumentParser
import Foundation
import Onyx

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Describe a model.")
    @Argument(help: "The .onnx file.") var model: String
    func run() throws {
        let loaded = try ModelLoader.load(contentsOf: URL(fileURLWithPath: model))
        print(loaded.model.graph.nodes.count)
    }
}
