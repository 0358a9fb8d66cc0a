/// `fold-batchnorm`: folds an inference-mode BatchNormalization into the
/// Conv, ConvTranspose, Gemm or MatMul (constant 2-D weight) producing its
/// input, keeping the BatchNormalization's output name.
///
/// With `s = scale / sqrt(var + epsilon)` (Float64) the producer becomes
/// `W' = W · s` along the output-channel axis and `b' = (b − mean) · s + B`
/// (see `ChannelProducer` for each producer's layout).
///
/// Guards (each refusal is reported as a decline with its reason):
/// - the BatchNormalization is of the default domain, any opset (1–15), with
///   its five inputs; no optional output (running or saved statistics) is
///   named; opset ≥ 14 `training_mode` is 0; opset ≤ 8 `spatial` is 1
///   (per-activation statistics do not fold). Opset ≤ 6 `is_test` is
///   ignored, as the executor runs those nodes in inference mode too;
/// - scale, B, mean and var are constant float/double/float16 initializers
///   (not overridable by a graph input) of shape `[C]`, and `var + epsilon > 0`;
/// - X is produced by a supported producer whose output has this node as
///   its only reader, is not a graph output and is not read by a subgraph;
/// - the producer's weights are constant floats with C output channels.
public struct FoldBatchNormPass: GraphPass {
    public let name = "fold-batchnorm"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        let lazyFacts = { () -> ValueFacts in
            if let facts { return facts }
            let built = ValueFacts(graph)
            facts = built
            return built
        }
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("BatchNormalization") {
            do {
                let opset = context.opset()
                try BatchNormFolding.checkInferenceMode(node, opset: opset)
                guard let (producerIndex, producerNode) = index.producingNode(node.inputs[0]) else {
                    throw GuardFailure("X \"\(node.inputs[0])\" is a graph input or initializer, not a node output")
                }
                if let problem = index.soleReaderProblem(node.inputs[0], consumer: nodeIndex) {
                    throw GuardFailure("producer output \(problem)")
                }
                let producer = try ChannelProducer(producerIndex, in: index, facts: lazyFacts)
                let (scale, shift) = try BatchNormFolding.affine(of: node, index: index, opset: opset)
                try require(producer.channels == scale.count,
                            "producer \(producerNode.opType) has \(producer.channels) output channels, BatchNormalization \(scale.count)")
                try producer.absorb(
                    scale: scale, shift: shift, output: node.outputs[0], into: &graph, graphIndex: index, context: context)
                graph.nodes.remove(at: nodeIndex)
                return Rewrite(
                    "BatchNormalization folded into \(producer.kind.rawValue)", candidate: node.outputs[0],
                    detail: "\"\(node.name)\" into \(producerNode.opType) \"\(producerNode.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }
}

/// The per-channel affine map an inference-mode BatchNormalization computes.
enum BatchNormFolding {
    /// The structural guards: five inputs, a Y output and no optional
    /// output, `training_mode` 0, `spatial` 1.
    static func checkInferenceMode(_ node: Node, opset: Int) throws {
        try require(node.inputs.count == 5 && node.inputs.allSatisfy { !$0.isEmpty }, "BatchNormalization does not have 5 inputs")
        try require(!node.outputs.isEmpty && !node.outputs[0].isEmpty, "BatchNormalization has no Y output")
        if node.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
            throw GuardFailure("BatchNormalization has optional outputs (training statistics) that would be lost")
        }
        if opset >= 14 {
            try require(node.intAttribute("training_mode", default: 0) == 0, "training_mode = 1 (batch statistics)")
        }
        if opset < 9 {
            try require(node.intAttribute("spatial", default: 1) != 0, "spatial = 0 (per-activation statistics)")
        }
    }

    /// The element type of a BatchNormalization's X: known from the graph, or,
    /// before opset 15 (where X and the parameters share one type), the scale's.
    static func inputElementType(of node: Node, facts: ValueFacts, index: GraphIndex, opset: Int) -> ElementType? {
        let known = facts.elementType(node.inputs[0])
        if known == nil && opset < 15 { return index.constant(node.inputs[1])?.elementType }
        return known
    }

    /// `(s, t)` with `y = x · s + t` per channel, where
    /// `s = scale / sqrt(var + epsilon)` and `t = B − mean · s`, or a
    /// ``GuardFailure`` when the node is not an inference-mode
    /// BatchNormalization with constant per-channel parameters.
    static func affine(of node: Node, index: GraphIndex, opset: Int) throws -> (scale: [Double], shift: [Double]) {
        try checkInferenceMode(node, opset: opset)
        let labels = ["scale", "B", "mean", "var"]
        var parameters: [[Double]] = []
        for (label, name) in zip(labels, node.inputs[1...]) {
            guard let tensor = index.constant(name), tensor.isFoldableFloat else {
                throw GuardFailure("\(label) \"\(name)\" is not a constant float/double/float16 initializer")
            }
            try require(tensor.shape.count == 1, "\(label) has shape \(tensor.shape), not [C]")
            parameters.append(try tensor.doubleValues())
        }
        let channels = parameters[0].count
        try require(parameters.allSatisfy { $0.count == channels }, "scale, B, mean and var differ in size")
        let epsilon = Double(node.floatAttribute("epsilon", default: 1e-5))
        var scale = [Double](repeating: 0, count: channels)
        var shift = [Double](repeating: 0, count: channels)
        for c in 0..<channels {
            let denominator = parameters[3][c] + epsilon
            try require(denominator > 0 && denominator.isFinite, "var + epsilon is not positive for channel \(c)")
            scale[c] = parameters[0][c] / denominator.squareRoot()
            shift[c] = parameters[1][c] - parameters[2][c] * scale[c]
        }
        return (scale, shift)
    }
}
