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
        /// The nodes among them that read `input` (all its readers, when fused).
        let inputReaders: [Int]

        init(activation: FusedActivation, input: String, output: String, nodes: [Int], inputReaders: [Int]? = nil) {
            self.activation = activation
            self.input = input
            self.output = output
            self.nodes = nodes
            self.inputReaders = inputReaders ?? nodes
        }
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
            return try matchGelu(node, at: nodeIndex, in: index)
        case "Gelu":
            if case .string(let bytes)? = node.attribute("approximate")?.value, String(decoding: bytes, as: UTF8.self) != "none" {
                return nil
            }
            return try single(.gelu)
        default:
            return nil
        }
    }

    /// Exact GELU written out, matched at its last Mul:
    /// `Mul(Mul(x, A), 0.5)` or `Mul(Mul(x, 0.5), A)` (operands in either
    /// order), A = `Add(Erf(Div(x, √2)), 1)` (or `Mul(x, 1/√2)` for the
    /// Div), constants within 1e-4 relative; every value between x and the
    /// result read only by the next node of the pattern.
    static func matchGelu(_ node: Node, at nodeIndex: Int, in index: GraphIndex) throws -> Match? {
        guard node.inputs.count == 2, let output = node.outputs.first else { return nil }
        func near(_ name: String, _ target: Double) -> Bool {
            guard let tensor = index.constant(name), tensor.elementType == .float, tensor.count == 1,
                  let value = try? tensor.doubleValues().first
            else { return false }
            return abs(value - target) <= 1e-4 * abs(target)
        }
        func binary(_ name: String, _ op: String) -> (Int, Node)? {
            guard let (at, producer) = index.producingNode(name), producer.isOp(op), producer.inputs.count == 2 else { return nil }
            return (at, producer)
        }
        // A = 1 + erf(x / √2): its x, its nodes (Add, Erf, scale) and the scale node (a reader of x).
        func erfBranch(_ name: String) -> (x: String, nodes: [Int], scale: Int)? {
            guard let (addIndex, add) = binary(name, "Add") else { return nil }
            for (erfSlot, oneSlot) in [(0, 1), (1, 0)] where near(add.inputs[oneSlot], 1) {
                guard let (erfIndex, erf) = index.producingNode(add.inputs[erfSlot]), erf.isOp("Erf"),
                      let scaled = erf.inputs.first
                else { continue }
                if let (divIndex, div) = binary(scaled, "Div"), near(div.inputs[1], 2.0.squareRoot()) {
                    return (div.inputs[0], [addIndex, erfIndex, divIndex], divIndex)
                }
                if let (mulIndex, mul) = binary(scaled, "Mul") {
                    for (xSlot, cSlot) in [(0, 1), (1, 0)] where near(mul.inputs[cSlot], 0.5.squareRoot()) {
                        return (mul.inputs[xSlot], [addIndex, erfIndex, mulIndex], mulIndex)
                    }
                }
            }
            return nil
        }
        for (left, right) in [(0, 1), (1, 0)] {
            guard let (innerIndex, inner) = binary(node.inputs[left], "Mul") else { continue }
            // The branch, and the node reading A (the inner Mul, or this one).
            var found: (branch: (x: String, nodes: [Int], scale: Int), aReader: Int)?
            if near(node.inputs[right], 0.5) {
                // Mul(Mul(x, A), 0.5)
                for (xSlot, aSlot) in [(0, 1), (1, 0)] {
                    if let branch = erfBranch(inner.inputs[aSlot]), branch.x == inner.inputs[xSlot] {
                        found = (branch, innerIndex)
                    }
                }
            } else if let branch = erfBranch(node.inputs[right]) {
                // Mul(Mul(x, 0.5), A)
                for (xSlot, cSlot) in [(0, 1), (1, 0)] where inner.inputs[xSlot] == branch.x && near(inner.inputs[cSlot], 0.5) {
                    found = (branch, nodeIndex)
                }
            }
            guard let (branch, aReader) = found else { continue }
            let nodes = branch.nodes + [innerIndex, nodeIndex]
            // Each intermediate value is read only by the pattern node after it.
            let (addIndex, erfIndex, scaleIndex) = (branch.nodes[0], branch.nodes[1], branch.nodes[2])
            let links: [(String, Int)] = [
                (index.graph.nodes[scaleIndex].outputs[0], erfIndex),
                (index.graph.nodes[erfIndex].outputs[0], addIndex),
                (index.graph.nodes[addIndex].outputs[0], aReader),
                (inner.outputs[0], nodeIndex),
            ]
            for (value, consumer) in links {
                if let problem = index.soleReaderProblem(value, consumer: consumer) {
                    throw GuardFailure("GELU intermediate \(problem)")
                }
            }
            return Match(
                activation: try FusedActivation(.gelu), input: branch.x, output: output, nodes: nodes,
                inputReaders: [branch.scale, innerIndex])
        }
        return nil
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
    /// `Mul(x, HardSigmoid(x; 1/6, 1/2))`, SiLU `Mul(x, Sigmoid(x))`, GELU
    /// before opset 20 `Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5)`; Clip
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
        case .gelu where context.opset >= 20:
            return [node("Gelu", [input], output)]
        case .gelu:
            let root2 = context.constant(output + "_sqrt2", Tensor(scalar: Float(2.0.squareRoot())))
            let one = context.constant(output + "_one", Tensor(scalar: Float(1)))
            let half = context.constant(output + "_half", Tensor(scalar: Float(0.5)))
            let (scaled, erf, shifted, product) = (
                context.fresh(output + "_scaled"), context.fresh(output + "_erf"), context.fresh(output + "_shifted"),
                context.fresh(output + "_product"))
            return [
                node("Div", [input, root2], scaled), node("Erf", [scaled], erf), node("Add", [erf, one], shifted),
                node("Mul", [input, shifted], product), node("Mul", [product, half], output, suffix: "_half"),
            ]
        }
    }
}
