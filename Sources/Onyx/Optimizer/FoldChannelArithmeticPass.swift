/// `fold-channel-arithmetic`: folds `Mul`, `Add`, `Sub` or `Div` by a
/// per-channel constant into the Conv, ConvTranspose, Gemm or MatMul
/// producing the other operand, keeping the arithmetic node's output name.
///
/// `y·c` scales weights and bias by `c`; `y + c` and `y − c` shift the bias;
/// `y / c` scales by `1/c` (see `ChannelProducer` for the layouts).
///
/// Guards (each refusal is a decline with its reason):
/// - opset ≥ 7 (older opsets broadcast with `broadcast`/`axis` attributes);
/// - the other operand is a constant float/double/float16 initializer (not
///   overridable) whose shape, aligned to the producer's output rank from
///   the right, is 1 everywhere except axis 1, where it is 1 or the number
///   of output channels (so broadcasting neither mixes channels nor grows
///   the output);
/// - `Sub` and `Div` have the producer's output as their first operand;
///   `Div` by a constant with a zero or non-finite element declines;
/// - the producer's output has this node as its only reader, is not a graph
///   output and is not read by a subgraph; the producer's weights are
///   constant floats (as for `fold-batchnorm`).
public struct FoldChannelArithmeticPass: GraphPass {
    public let name = "fold-channel-arithmetic"

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
        for (nodeIndex, node) in graph.nodes.enumerated() {
            guard node.normalizedDomain == "", ["Mul", "Add", "Sub", "Div"].contains(node.opType),
                  node.inputs.count == 2, node.outputs.count == 1, !node.outputs[0].isEmpty
            else { continue }
            let constantSlot = [1, 0].first { index.constant(node.inputs[$0]) != nil }
            guard let constantSlot, let (producerIndex, producerNode) = index.producingNode(node.inputs[1 - constantSlot]),
                  ChannelProducer.Kind(rawValue: producerNode.opType) != nil, producerNode.normalizedDomain == ""
            else { continue }
            do {
                try require(context.opset() >= 7, "opset \(context.opset()) uses legacy broadcasting")
                try require(constantSlot == 1 || node.opType == "Mul" || node.opType == "Add",
                            "the constant is the first operand of \(node.opType)")
                if let problem = index.soleReaderProblem(node.inputs[1 - constantSlot], consumer: nodeIndex) {
                    throw GuardFailure("producer output \(problem)")
                }
                let producer = try ChannelProducer(producerIndex, in: index, facts: lazyFacts)
                guard let constant = index.constant(node.inputs[constantSlot]), constant.isFoldableFloat else {
                    throw GuardFailure("constant \"\(node.inputs[constantSlot])\" is not float, double or float16")
                }
                let values = try perChannel(constant, channels: producer.channels, rank: producer.outputRank)
                let ones = [Double](repeating: 1, count: producer.channels)
                let zeros = [Double](repeating: 0, count: producer.channels)
                let (scale, shift): ([Double], [Double])
                switch node.opType {
                case "Mul": (scale, shift) = (values, zeros)
                case "Add": (scale, shift) = (ones, values)
                case "Sub": (scale, shift) = (ones, values.map { -$0 })
                default:
                    try require(values.allSatisfy { $0 != 0 && $0.isFinite }, "divisor has a zero or non-finite element")
                    (scale, shift) = (values.map { 1 / $0 }, zeros)
                }
                try producer.absorb(
                    scale: scale, shift: shift, output: node.outputs[0], into: &graph, graphIndex: index,
                    context: context)
                graph.nodes.remove(at: nodeIndex)
                return Rewrite(
                    "\(node.opType) folded into \(producer.kind.rawValue)", candidate: node.outputs[0],
                    detail: "\"\(node.name)\" into \(producerNode.opType) \"\(producerNode.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// The constant's value for each output channel, or a ``GuardFailure``
    /// when it does not broadcast per channel over an output of `rank`.
    private func perChannel(_ constant: Tensor, channels: Int, rank: Int) throws -> [Double] {
        let shape = constant.shape
        try require(shape.count <= rank, "constant has rank \(shape.count), more than the output's \(rank)")
        let padded = [Int](repeating: 1, count: rank - shape.count) + shape
        for (axis, size) in padded.enumerated() where size != 1 {
            try require(axis == 1 && size == channels,
                        "constant of shape \(shape) is not per-channel for an output of rank \(rank) with \(channels) channels")
        }
        let values = try constant.doubleValues()
        return values.count == 1 ? [Double](repeating: values[0], count: channels) : values
    }
}
