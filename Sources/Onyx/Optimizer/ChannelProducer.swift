/// A node whose output can absorb a per-output-channel affine map
/// `y' = y · s[c] + t[c]` (channel axis 1) by rewriting its constant weights:
///
/// - Conv: W `[M, C/group, k…]` scaled along axis 0, bias `b' = b·s + t`;
/// - ConvTranspose: W `[C_in, M/group, k…]`; output channel
///   `g·(M/group) + j` is W's column `j` of input channels in group `g`;
/// - Gemm: B scaled along its output column (axis 1, or 0 with transB);
///   `C' = beta·C·s + t` as a `[N]` vector with beta = 1 (C may be absent,
///   a scalar, `[N]` or `[1, N]`); alpha is kept;
/// - MatMul with a constant 2-D weight and an input of known rank 2: W
///   scaled along axis 1; a non-zero shift turns it into Gemm(A, W', t).
///
/// Weights and biases must be constant initializers (not overridable by a
/// graph input) of float, double or float16. Numerics run in Float64 and are
/// written back in the weight's element type. A weight that other nodes also
/// read is copied under a new name instead of changed in place.
struct ChannelProducer {
    enum Kind: String { case conv = "Conv", convTranspose = "ConvTranspose", gemm = "Gemm", matMul = "MatMul" }

    let index: Int
    let kind: Kind
    /// Output channels (the size of axis 1 of the output).
    let channels: Int
    /// The rank of the output.
    let outputRank: Int
    private let weight: Tensor

    /// Matches node `index` as a producer, or throws ``GuardFailure`` saying why not.
    init(_ index: Int, in graphIndex: GraphIndex, facts: () -> ValueFacts) throws {
        let node = graphIndex.graph.nodes[index]
        guard node.normalizedDomain == "", let kind = Kind(rawValue: node.opType) else {
            throw GuardFailure("producer \(node.opType) \"\(node.name)\" cannot absorb a per-channel affine (only Conv, ConvTranspose, Gemm, MatMul)")
        }
        try require(node.outputs.count == 1, "producer \(node.opType) has \(node.outputs.count) outputs")
        try require(node.inputs.count >= 2, "producer \(node.opType) has no weight input")
        guard let weight = graphIndex.constant(node.inputs[1]), weight.isFoldableFloat else {
            throw GuardFailure("\(node.opType) weight \"\(node.inputs[1])\" is not a constant float/double/float16 initializer")
        }
        self.index = index
        self.kind = kind
        self.weight = weight
        let shape = weight.shape
        switch kind {
        case .conv:
            try require(shape.count >= 3 && shape[0] > 0, "Conv weight has shape \(shape)")
            channels = shape[0]
            outputRank = shape.count
        case .convTranspose:
            let group = node.intAttribute("group", default: 1)
            try require(shape.count >= 3 && shape[0] > 0 && group >= 1 && Int64(shape[0]) % group == 0,
                        "ConvTranspose weight shape \(shape) does not fit group = \(group)")
            let (product, overflow) = shape[1].multipliedReportingOverflow(by: Int(group))
            try require(!overflow && product > 0, "ConvTranspose weight has shape \(shape)")
            channels = product
            outputRank = shape.count
        case .gemm:
            try require(shape.count == 2, "Gemm weight B has shape \(shape)")
            channels = node.intAttribute("transB", default: 0) != 0 ? shape[0] : shape[1]
            outputRank = 2
        case .matMul:
            try require(shape.count == 2, "MatMul weight has rank \(shape.count), not 2")
            try require(facts().rank(node.inputs[0]) == 2,
                        "MatMul input \"\(node.inputs[0])\" is not known to have rank 2 (the channel axis would not be 1)")
            channels = shape[1]
            outputRank = 2
        }
        try require(channels > 0, "producer has no output channels")
        if let biasName = biasInput(of: node) {
            guard let bias = graphIndex.constant(biasName), bias.isFoldableFloat else {
                throw GuardFailure("\(node.opType) bias \"\(biasName)\" is not a constant float/double/float16 initializer")
            }
            switch kind {
            case .gemm:
                let okShape = bias.shape.count <= 1 || (bias.shape.count == 2 && bias.shape[0] == 1)
                try require(okShape && (bias.count == 1 || bias.count == channels),
                            "Gemm C has shape \(bias.shape), not a scalar or [\(channels)] / [1, \(channels)]")
            default:
                try require(bias.shape == [channels], "\(node.opType) bias has shape \(bias.shape), not [\(channels)]")
            }
        }
    }

    /// The bias (Conv/ConvTranspose B, Gemm C) input name, when present.
    private func biasInput(of node: Node) -> String? {
        guard kind != .matMul, node.inputs.count > 2, !node.inputs[2].isEmpty else { return nil }
        return node.inputs[2]
    }

    /// Rewrites the producer to compute `y·s + t` under the name `output`.
    /// `scale` and `shift` hold one value per output channel.
    /// New initializers get names unused here and in the enclosing scopes.
    func absorb(
        scale: [Double], shift: [Double], output: String, into graph: inout Graph, graphIndex: GraphIndex,
        context: PassContext
    ) throws {
        let opset = context.opset()
        let reserved = context.outerScope
        guard scale.count == channels, shift.count == channels else {
            throw OnyxError.invalidModel("per-channel affine has \(scale.count) values for \(channels) channels")
        }
        var node = graph.nodes[index]
        let newWeight = try scaledWeight(scale, transB: node.intAttribute("transB", default: 0) != 0)
        node.inputs[1] = store(newWeight, replacing: node.inputs[1], in: &graph, graphIndex: graphIndex, reserved: reserved)

        var bias = [Double](repeating: 0, count: channels)
        var biasType = weight.elementType
        if let name = biasInput(of: node), let tensor = graphIndex.constant(name) {
            let old = try tensor.doubleValues()
            let beta = kind == .gemm ? Double(node.floatAttribute("beta", default: 1)) : 1
            for c in 0..<channels { bias[c] = beta * old[old.count == 1 ? 0 : c] }
            biasType = tensor.elementType
        }
        for c in 0..<channels { bias[c] = bias[c] * scale[c] + shift[c] }
        let needsBias = biasInput(of: node) != nil || shift.contains { $0 != 0 }
        if needsBias {
            let biasTensor = try Tensor.fromDoubles(bias, shape: [channels], as: biasType)
            let biasName = store(biasTensor, replacing: biasInput(of: node), in: &graph, graphIndex: graphIndex,
                                 reserved: reserved, newName: output + "_bias")
            while node.inputs.count < 3 { node.inputs.append("") }
            node.inputs[2] = biasName
            if kind == .matMul {
                node.opType = "Gemm"
                node.attributes = []
            }
            if node.opType == "Gemm" {
                node.setAttribute("beta", .float(1))
                if opset < 7 { node.setAttribute("broadcast", .int(1)) }
            }
        }
        node.outputs[0] = output
        graph.nodes[index] = node
    }

    /// W scaled by `scale` along the output-channel axis, in W's element
    /// type (each element multiplied in Float64 and rounded once).
    private func scaledWeight(_ scale: [Double], transB: Bool) throws -> Tensor {
        let shape = weight.shape
        let count = weight.count
        let channelOf: (Int) -> Int
        switch kind {
        case .conv:
            let block = max(count / channels, 1)
            channelOf = { $0 / block }
        case .convTranspose:
            let perGroupOut = shape[1]
            let inner = max(count / max(shape[0] &* perGroupOut, 1), 1)
            let inputsPerGroup = shape[0] / (channels / perGroupOut)
            channelOf = { index in
                let row = index / inner
                return (row / perGroupOut) / inputsPerGroup * perGroupOut + row % perGroupOut
            }
        case .gemm where transB:
            let columns = max(shape[1], 1)
            channelOf = { $0 / columns }
        case .gemm, .matMul:
            channelOf = { $0 % channels }
        }
        if weight.elementType == .float, let scaled = try? weight.withUnsafeBufferPointer(as: Float.self, { source in
            try Tensor.make(Float.self, shape) { out in
                for i in 0..<source.count { out[i] = Float(Double(source[i]) * scale[channelOf(i)]) }
            }
        }) {
            return scaled
        }
        var values = try weight.doubleValues()
        for i in values.indices { values[i] *= scale[channelOf(i)] }
        return try Tensor.fromDoubles(values, shape: shape, as: weight.elementType)
    }

    /// Puts `tensor` in the graph's constants: in place of `old` when only
    /// the producer reads it, else under a new name. Returns the name used.
    private func store(
        _ tensor: Tensor, replacing old: String?, in graph: inout Graph, graphIndex: GraphIndex, reserved: Set<String>,
        newName: String? = nil
    ) -> String {
        if let old, graphIndex.isPrivateConstant(old, of: index) {
            graph.constants[old] = tensor
            return old
        }
        let name = Graph.uniqueName(newName ?? ((old ?? "weight") + "_folded"), notIn: graph.allNames().union(reserved))
        graph.constants[name] = tensor
        return name
    }
}
