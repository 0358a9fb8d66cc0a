/// A node that can absorb a per-input-channel affine map applied to its
/// data input (see ``AffineForwardFoldPass`` for the math and guards).
struct ForwardConsumer {
    enum Kind {
        case conv, gemm, matMul

        /// The kind of `node`, or nil when it cannot absorb an affine on its input.
        init?(_ node: Node) {
            if node.isOp("Conv") || (node.domain == OnyxDomain.name && node.opType == "FusedConv") {
                self = .conv
            } else if node.isOp("Gemm") {
                self = .gemm
            } else if node.isOp("MatMul") {
                self = .matMul
            } else {
                return nil
            }
        }
    }

    let kind: Kind
    let index: Int
    let graphIndex: GraphIndex
    let reserved: Set<String>
    let opset: Int

    /// Rewrites the consumer to compute on `input` what it computed on `input · s + t`.
    func absorb(scale: [Double], shift: [Double], input: String, into graph: inout Graph) throws {
        var node = graph.nodes[index]
        guard node.inputs.count >= 2, let weight = graphIndex.constant(node.inputs[1]), weight.isFoldableFloat else {
            throw GuardFailure("\(node.opType) weight is not a constant float/double/float16 initializer")
        }
        let hasShift = shift.contains { $0 != 0 }
        var w = try weight.doubleValues()
        let shape = weight.shape
        let outputs: Int
        var delta: [Double]
        switch kind {
        case .conv:
            let group = node.intAttribute("group", default: 1)
            try require(shape.count >= 3 && group >= 1 && shape[0] > 0 && Int64(shape[0]) % group == 0,
                        "Conv weight shape \(shape) does not fit group = \(group)")
            let groups = Int(group)
            let perGroup = shape[1]
            try require(perGroup &* groups == scale.count,
                        "Conv reads \(perGroup &* groups) input channels, the affine has \(scale.count)")
            if hasShift { try checkNoPadding(node) }
            outputs = shape[0]
            let filtersPerGroup = outputs / groups
            let taps = w.count / max(outputs &* perGroup, 1)
            delta = [Double](repeating: 0, count: outputs)
            for o in 0..<outputs {
                let first = (o / filtersPerGroup) &* perGroup
                for j in 0..<perGroup {
                    let (s, t) = (scale[first + j], shift[first + j])
                    let base = (o &* perGroup &+ j) &* taps
                    for k in base..<(base &+ taps) {
                        delta[o] += w[k] * t
                        w[k] *= s
                    }
                }
            }
        case .gemm, .matMul:
            try require(shape.count == 2, "\(node.opType) weight has shape \(shape), not 2-D")
            let transposed = kind == .gemm && node.intAttribute("transB", default: 0) != 0
            if kind == .gemm {
                try require(node.intAttribute("transA", default: 0) == 0, "Gemm has transA = 1 (the affine axis is not K)")
            } else {
                try require(ValueFacts(graph).rank(input) == 2,
                            "MatMul input \"\(input)\" is not known to have rank 2 (axis 1 would not be K)")
            }
            let (depth, columns) = transposed ? (shape[1], shape[0]) : (shape[0], shape[1])
            try require(depth == scale.count, "\(node.opType) has K = \(depth), the affine \(scale.count) channels")
            outputs = columns
            let alpha = kind == .gemm ? Double(node.floatAttribute("alpha", default: 1)) : 1
            delta = [Double](repeating: 0, count: columns)
            for k in 0..<depth {
                for n in 0..<columns {
                    let at = transposed ? n &* depth &+ k : k &* columns &+ n
                    delta[n] += alpha * w[at] * shift[k]
                    w[at] *= scale[k]
                }
            }
        }
        // Every guard runs before the graph changes.
        let bias = hasShift ? try newBias(delta, outputs: outputs, type: weight.elementType, of: node) : nil
        let newWeight = try Tensor.fromDoubles(w, shape: shape, as: weight.elementType)
        node.inputs[1] = store(newWeight, replacing: node.inputs[1], in: &graph, base: node.inputs[1] + "_folded")
        node.inputs[0] = input
        if let bias {
            let existing = node.inputs.count > 2 && !node.inputs[2].isEmpty ? node.inputs[2] : nil
            let name = store(bias, replacing: existing, in: &graph, base: (node.outputs.first ?? node.name) + "_bias")
            while node.inputs.count < 3 { node.inputs.append("") }
            node.inputs[2] = name
            if kind == .matMul {
                node.opType = "Gemm"
                node.attributes = opset < 7 ? [Attribute(name: "broadcast", value: .int(1))] : []
            } else if kind == .gemm {
                node.setAttribute("beta", .float(1))
                if opset < 7 { node.setAttribute("broadcast", .int(1)) }
            }
        }
        graph.nodes[index] = node
    }

    /// The consumer's bias (Conv B, Gemm `beta · C`) plus `delta`, as an
    /// `[outputs]` vector (a MatMul's is `delta` alone).
    private func newBias(_ delta: [Double], outputs: Int, type: ElementType, of node: Node) throws -> Tensor {
        var bias = delta
        var biasType = type
        let existing = node.inputs.count > 2 && !node.inputs[2].isEmpty ? node.inputs[2] : nil
        if let existing {
            guard let tensor = graphIndex.constant(existing), tensor.isFoldableFloat else {
                throw GuardFailure("\(node.opType) bias \"\(existing)\" is not a constant float initializer")
            }
            let values = try tensor.doubleValues()
            let vectorShape = tensor.shape.count <= 1 || (tensor.shape.count == 2 && tensor.shape[0] == 1)
            try require(vectorShape && (values.count == 1 || values.count == outputs),
                        "\(node.opType) bias has shape \(tensor.shape), not one value per output column")
            let beta = kind == .gemm ? Double(node.floatAttribute("beta", default: 1)) : 1
            for o in 0..<outputs { bias[o] += beta * values[values.count == 1 ? 0 : o] }
            biasType = tensor.elementType
        }
        return try Tensor.fromDoubles(bias, shape: [outputs], as: biasType)
    }

    /// Declines a Conv that pads its input (explicit non-zero pads or SAME_* auto-padding).
    private func checkNoPadding(_ node: Node) throws {
        let reason = "padding with a non-zero shift is not foldable: the padded zeros would become t"
        if case .string(let bytes)? = node.attribute("auto_pad")?.value {
            let mode = String(decoding: bytes, as: UTF8.self)
            try require(mode != "SAME_UPPER" && mode != "SAME_LOWER", reason + " (auto_pad \(mode))")
        }
        if case .ints(let pads)? = node.attribute("pads")?.value {
            try require(pads.allSatisfy { $0 == 0 }, reason + " (pads \(pads))")
        }
    }

    /// Puts `tensor` in the graph's constants: in place of `old` when only
    /// the consumer reads it, else under a new name. Returns the name used.
    private func store(_ tensor: Tensor, replacing old: String?, in graph: inout Graph, base: String) -> String {
        if let old, graphIndex.isPrivateConstant(old, of: index) {
            graph.constants[old] = tensor
            return old
        }
        let name = Graph.uniqueName(base, notIn: graph.allNames().union(reserved))
        graph.constants[name] = tensor
        return name
    }
}
