/// Finds the shape of every value of a graph by running it once.
///
/// Exported models rarely annotate intermediate values, so the drawing of
/// a graph learns their shapes from a probe run: every graph input is fed
/// zeros (symbolic and unknown dims taken as `symbolicSize`), the graph's
/// outputs are widened to every value its nodes produce, and the run is
/// unoptimized so that the names are the model's own. Values that come out
/// as sequences or optionals get no shape.
public enum ShapeProbe {
    /// Value name → shape for every tensor the graph's top-level nodes
    /// produce, plus the declared shapes of inputs and constants. Throws
    /// whatever the run throws (an unsupported operator, a kernel refusing
    /// zero inputs); callers that only decorate a drawing may ignore it.
    public static func shapes(of model: Model, symbolicSize: Int = 1) throws -> [String: [Int]] {
        var widened = model
        var feeds: [String: Tensor] = [:]
        var result: [String: [Int]] = [:]
        for input in model.graph.runtimeInputs {
            guard case .tensor(let elementType?, let dims?)? = input.type else {
                throw OnyxError(.invalidModel, "input \"\(input.name)\" has no tensor type to probe with", value: input.name)
            }
            let shape = dims.map { $0.value ?? symbolicSize }
            feeds[input.name] = try Tensor.zeros(elementType, shape)
            result[input.name] = shape
        }
        for (name, tensor) in model.graph.constants { result[name] = tensor.shape }
        let known = Set(model.graph.outputs.map(\.name))
        for node in model.graph.nodes {
            for output in node.outputs where !output.isEmpty && !known.contains(output) {
                widened.graph.outputs.append(ValueInfo(name: output, type: nil))
            }
        }
        var options = SessionOptions()
        options.optimize = false
        let session = try Session(model: widened, options: options)
        let values = try session.runValues(feeds.mapValues { .tensor($0) })
        for (info, value) in zip(session.outputs, values) {
            if case .tensor(let tensor) = value { result[info.name] = tensor.shape }
        }
        return result
    }
}
