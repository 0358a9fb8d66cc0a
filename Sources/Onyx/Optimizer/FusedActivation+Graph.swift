/// Recognising activation nodes in a graph, and writing a fused activation
/// back in standard ops.
extension FusedActivation {
    /// An activation found in the graph: the node(s) computing it, what
    /// they read and what they write.
    struct Match {
        let activation: FusedActivation
        /// The value the activation is applied to.
        let input: String
        /// The activation's result.
        let output: String
        /// Indices of the nodes computing it (the last one writes `output`).
        let nodes: [Int]
    }

    /// The activation `node` (at `nodeIndex`) computes, or nil when it is
    /// not an activation this module fuses. SiLU is matched at its Mul:
    /// `Mul(x, Sigmoid(x))` in either operand order, the Sigmoid's output
    /// read only by the Mul. Throws ``GuardFailure`` for an activation whose
    /// parameters are not constant (Clip bounds fed by a graph input).
    static func match(_ node: Node, at nodeIndex: Int, in index: GraphIndex, opset: Int) throws -> Match? {
        guard node.normalizedDomain == "", node.outputs.count == 1, !node.outputs[0].isEmpty,
              let input = node.inputs.first, !input.isEmpty
        else { return nil }
        let output = node.outputs[0]
        func single(_ kind: Kind, _ parameters: [Float] = []) throws -> Match {
            Match(activation: try FusedActivation(kind, parameters), input: input, output: output, nodes: [nodeIndex])
        }
        switch node.opType {
        case "Relu": return try single(.relu)
        case "Sigmoid": return try single(.sigmoid)
        case "Tanh": return try single(.tanh)
        case "HardSwish": return try single(.hardSwish)
        case "LeakyRelu": return try single(.leakyRelu, [node.floatAttribute("alpha", default: 0.01)])
        case "HardSigmoid":
            return try single(.hardSigmoid, [node.floatAttribute("alpha", default: 0.2), node.floatAttribute("beta", default: 0.5)])
        case "Clip":
            if opset < 11 {
                let limit = Float.greatestFiniteMagnitude
                return try single(.clip, [node.floatAttribute("min", default: -limit), node.floatAttribute("max", default: limit)])
            }
            func bound(_ slot: Int, _ fallback: Float) throws -> Float {
                guard slot < node.inputs.count, !node.inputs[slot].isEmpty else { return fallback }
                guard let tensor = index.constant(node.inputs[slot]), tensor.elementType == .float, tensor.count == 1,
                      let value = try? tensor.doubleValues().first
                else { throw GuardFailure("Clip bound \"\(node.inputs[slot])\" is not a constant float scalar") }
                return Float(value)
            }
            return try single(.clip, [try bound(1, -.infinity), try bound(2, .infinity)])
        case "Mul":
            guard node.inputs.count == 2 else { return nil }
            for (xSlot, sSlot) in [(0, 1), (1, 0)] {
                let x = node.inputs[xSlot]
                guard let (sigmoidIndex, sigmoid) = index.producingNode(node.inputs[sSlot]), sigmoid.isOp("Sigmoid"),
                      sigmoid.inputs.first == x, x != node.inputs[sSlot], sigmoidIndex < nodeIndex
                else { continue }
                try require(index.soleReaderProblem(node.inputs[sSlot], consumer: nodeIndex) == nil,
                            "the Sigmoid of x · sigmoid(x) has other readers than the Mul")
                return Match(activation: try FusedActivation(.silu), input: x, output: output, nodes: [sigmoidIndex, nodeIndex])
            }
            return nil
        default:
            return nil
        }
    }

    /// True when `node` is the Sigmoid of a SiLU pattern (its only reader is
    /// a Mul that also reads the Sigmoid's input): fused at the Mul instead.
    static func isSiLUSigmoid(_ node: Node, in index: GraphIndex) -> Bool {
        guard node.isOp("Sigmoid"), let output = node.outputs.first, let x = node.inputs.first,
              let readers = index.readers[output], readers.count == 1, let mul = readers.first
        else { return false }
        let reader = index.graph.nodes[mul]
        return reader.isOp("Mul") && reader.inputs.contains(x)
    }

    /// Standard nodes computing this activation from `input` into `output`,
    /// for the default-domain `opset`: HardSwish before opset 14 becomes
    /// `Mul(x, HardSigmoid(x; 1/6, 1/2))`, SiLU `Mul(x, Sigmoid(x))`; Clip
    /// takes its bounds as attributes before opset 11, as inputs from 11 on.
    func lower(input: String, output: String, name: String, context: inout LoweringContext) -> [Node] {
        func node(_ op: String, _ inputs: [String], _ out: String, _ attributes: [Attribute] = [], suffix: String = "") -> Node {
            Node(name: name + "_" + op.lowercased() + suffix, opType: op, inputs: inputs, outputs: [out], attributes: attributes)
        }
        switch kind {
        case .relu: return [node("Relu", [input], output)]
        case .sigmoid: return [node("Sigmoid", [input], output)]
        case .tanh: return [node("Tanh", [input], output)]
        case .leakyRelu: return [node("LeakyRelu", [input], output, [Attribute(name: "alpha", value: .float(parameters[0]))])]
        case .hardSigmoid:
            return [node("HardSigmoid", [input], output, [
                Attribute(name: "alpha", value: .float(parameters[0])), Attribute(name: "beta", value: .float(parameters[1])),
            ])]
        case .clip:
            if context.opset < 11 {
                return [node("Clip", [input], output, [
                    Attribute(name: "min", value: .float(parameters[0])), Attribute(name: "max", value: .float(parameters[1])),
                ])]
            }
            let low = context.constant(output + "_min", Tensor(scalar: parameters[0]))
            let high = context.constant(output + "_max", Tensor(scalar: parameters[1]))
            return [node("Clip", [input, low, high], output)]
        case .hardSwish where context.opset >= 14:
            return [node("HardSwish", [input], output)]
        case .hardSwish:
            let gate = context.fresh(output + "_gate")
            return [
                node("HardSigmoid", [input], gate, [
                    Attribute(name: "alpha", value: .float(1 / 6)), Attribute(name: "beta", value: .float(0.5)),
                ]),
                node("Mul", [input, gate], output),
            ]
        case .silu:
            let gate = context.fresh(output + "_sigmoid")
            return [node("Sigmoid", [input], gate), node("Mul", [input, gate], output)]
        }
    }
}
