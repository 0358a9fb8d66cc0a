import Foundation

/// Draws a graph as Graphviz DOT text.
///
/// Each node is a box labelled with its op type, a short summary of its
/// geometry attributes (Conv kernel, stride, group) and the shapes of the
/// constants it reads, which are not drawn as nodes of their own. Edges
/// carry the shape of the value they stand for, when `shapes` knows it.
/// Graph inputs and outputs are ellipses. The layout runs top to bottom
/// with small fonts and tight spacing, so graphs of hundreds of nodes
/// stay legible; op families get fill colours (normalizations orange,
/// convolutions and matrix products blue, activations green, …) so that a
/// folded BatchNormalization is visible as a missing orange box.
///
/// Densely connected graphs (50 nodes or more with over 1.5 edges per node, or over 600
/// edges: DenseNet's concatenations) are laid out with straight edges and
/// bounded layout effort, and show each node's output shape in the node
/// instead of on its edges, so that `dot` finishes in seconds.
///
/// Only the graph's own nodes are drawn; a node with subgraphs (If, Loop,
/// Scan) says how many nodes its bodies hold.
public enum GraphDOT {
    /// DOT text for `graph`. `title` is printed above the drawing; `shapes`
    /// (value name → dims) labels the edges.
    public static func render(_ graph: Graph, title: String? = nil, shapes: [String: [Dim]] = [:]) -> String {
        let constants = constantValues(of: graph)
        let graphOutputs = Set(graph.outputs.map(\.name))
        var producer: [String: String] = [:]
        for (index, input) in graph.runtimeInputs.enumerated() { producer[input.name] = "in\(index)" }
        var drawn: [(id: String, node: Node)] = []
        for (index, node) in graph.nodes.enumerated()
        where !isFoldedConstant(node, constants: constants, graphOutputs: graphOutputs) {
            drawn.append(("n\(index)", node))
            for output in node.outputs where !output.isEmpty { producer[output] = "n\(index)" }
        }
        var edges: [(from: String, to: String, value: String)] = []
        for (id, node) in drawn {
            var seen = Set<String>()
            for input in node.inputs where !input.isEmpty && constants[input] == nil {
                guard seen.insert(input).inserted, let from = producer[input] else { continue }
                edges.append((from, id, input))
            }
        }
        for (index, output) in graph.outputs.enumerated() {
            if let from = producer[output.name] { edges.append((from, "out\(index)", output.name)) }
        }
        // Densely connected graphs (DenseNet's concatenations) have many long
        // edges, and dot's layout time grows with their length: these get
        // straight edges, bounded layout effort, and shapes in the nodes.
        let compact = edges.count > 600 || (drawn.count >= 50 && edges.count * 2 > drawn.count * 3)
        var layout = "rankdir=TB, nodesep=0.15, ranksep=0.22, fontname=\"Helvetica\", fontsize=12"
        if compact { layout += ", splines=false, nslimit=0.05, nslimit1=0.05, mclimit=0.05, searchsize=5" }
        if let title { layout += ", labelloc=t, label=\(quoted(title))" }

        var lines: [String] = []
        lines.append("digraph \(quoted(graph.name.isEmpty ? "graph" : graph.name)) {")
        lines.append("  graph [\(layout)];")
        lines.append("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\", "
            + "fontsize=9, height=0.22, margin=\"0.06,0.02\", penwidth=0.7];")
        lines.append("  edge [fontname=\"Helvetica\", fontsize=7, arrowsize=0.45, penwidth=0.6, color=\"#555555\"];")
        for (index, input) in graph.runtimeInputs.enumerated() {
            lines.append("  in\(index) [shape=ellipse, style=filled, fillcolor=\"#e8e8e8\", label=\(quoted(input.name))];")
        }
        for (id, node) in drawn {
            var label = nodeLabel(node, constants: constants)
            if compact, let output = node.outputs.first, let shape = shapes[output] { label += "\n→ " + text(of: shape) }
            let tooltip = node.name.isEmpty ? node.opType : node.name
            lines.append("  \(id) [label=\(quoted(label)), fillcolor=\"\(fill(for: node.opType))\", "
                + "tooltip=\(quoted(tooltip))];")
        }
        for (index, output) in graph.outputs.enumerated() {
            lines.append("  out\(index) [shape=ellipse, style=filled, fillcolor=\"#e8e8e8\", label=\(quoted(output.name))];")
        }
        for edge in edges {
            lines.append("  \(edge.from) -> \(edge.to)\(compact ? "" : edgeLabel(shapes[edge.value]));")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// DOT text for `model`'s main graph. With `inferShapes`, edges whose
    /// shapes the file does not declare are labelled from a ``ShapeProbe``
    /// run (symbolic dims taken as 1); a model the probe cannot run is drawn
    /// with its declared shapes only.
    public static func render(_ model: Model, title: String? = nil, inferShapes: Bool = true) -> String {
        var shapes = declaredShapes(of: model.graph)
        if inferShapes, let probed = try? ShapeProbe.shapes(of: model) {
            for (name, shape) in probed where shapes[name] == nil { shapes[name] = shape.map { .known($0) } }
        }
        return render(model.graph, title: title, shapes: shapes)
    }

    /// The shapes a graph declares for its inputs, outputs and annotated
    /// intermediate values, plus those of its constants.
    public static func declaredShapes(of graph: Graph) -> [String: [Dim]] {
        var shapes: [String: [Dim]] = [:]
        for info in graph.inputs + graph.valueInfo + graph.outputs {
            if case .tensor(_, let shape?)? = info.type { shapes[info.name] = shape }
        }
        for (name, tensor) in graph.constants { shapes[name] = tensor.shape.map { .known($0) } }
        return shapes
    }

    /// Initializers and the outputs of `Constant` nodes carrying a tensor.
    static func constantValues(of graph: Graph) -> [String: Tensor] {
        var values: [String: Tensor] = [:]
        for (name, tensor) in graph.constants { values[name] = tensor }
        for node in graph.nodes where node.opType == "Constant" && node.normalizedDomain.isEmpty {
            guard node.outputs.count == 1, case .tensor(let tensor)? = node.attribute("value")?.value else { continue }
            values[node.outputs[0]] = tensor
        }
        return values
    }

    /// A `Constant` node drawn as part of its readers' labels rather than as a box.
    static func isFoldedConstant(_ node: Node, constants: [String: Tensor], graphOutputs: Set<String>) -> Bool {
        node.opType == "Constant" && node.outputs.count == 1 && constants[node.outputs[0]] != nil
            && !graphOutputs.contains(node.outputs[0])
    }

    static func nodeLabel(_ node: Node, constants: [String: Tensor]) -> String {
        var lines = [displayName(node) + geometry(of: node, constants: constants)]
        // Runs of equal summaries collapse ("64 (×4)" for BatchNormalization's statistics).
        var groups: [(text: String, count: Int)] = []
        for input in node.inputs where !input.isEmpty {
            guard let tensor = constants[input] else { continue }
            let text = summary(of: tensor)
            if let last = groups.last, last.text == text {
                groups[groups.count - 1].count += 1
            } else {
                groups.append((text, 1))
            }
        }
        if !groups.isEmpty {
            let texts = groups.map { $0.count == 1 ? $0.text : "\($0.text) (×\($0.count))" }
            let shown = texts.prefix(3).joined(separator: ", ")
            lines.append(texts.count > 3 ? "\(shown), +\(texts.count - 3)" : shown)
        }
        let subgraphNodes = node.subgraphs.reduce(0) { total, subgraph in
            var count = 0
            subgraph.forEachNode { _, _ in count &+= 1 }
            return total &+ count
        }
        if !node.subgraphs.isEmpty {
            lines.append("\(node.subgraphs.count) subgraph\(node.subgraphs.count == 1 ? "" : "s"), \(subgraphNodes) nodes")
        }
        return lines.joined(separator: "\n")
    }

    /// The op type, with Onyx's fused kernels shown as what they fuse:
    /// `ai.onyx` FusedConv with a Relu reads "Conv+Relu", with a residual
    /// too "Conv+Add+Relu", ChannelAffine with one "ChannelAffine+Relu".
    static func displayName(_ node: Node) -> String {
        guard node.domain == OnyxDomain.name else { return node.opType }
        var base = node.opType.hasPrefix("Fused") ? String(node.opType.dropFirst(5)) : node.opType
        if node.opType == "FusedConv", node.inputs.count > 3, !node.inputs[3].isEmpty {
            base += "+Add"
            guard node.attribute("activation") != nil else { return base }
        }
        if case .string(let bytes)? = node.attribute("activation")?.value {
            return base + "+" + String(decoding: bytes, as: UTF8.self)
        }
        return node.opType.hasPrefix("Fused") ? base + "+" : base
    }

    /// " 3×3/2 g32" for convolutions and pools: kernel, stride (when not 1), group (when not 1).
    /// A Conv without `kernel_shape` takes it from its constant weight's spatial dims.
    static func geometry(of node: Node, constants: [String: Tensor]) -> String {
        var parts: [String] = []
        var kernel: [Int64] = []
        if case .ints(let given)? = node.attribute("kernel_shape")?.value {
            kernel = given
        } else if node.opType.hasPrefix("Conv") || node.opType == "FusedConv", node.inputs.count > 1, let weight = constants[node.inputs[1]],
            weight.shape.count > 2
        {
            kernel = weight.shape.dropFirst(2).map { Int64($0) }
        }
        if !kernel.isEmpty {
            var text = kernel.map(String.init).joined(separator: "×")
            if case .ints(let strides)? = node.attribute("strides")?.value, strides.contains(where: { $0 != 1 }) {
                text += "/" + (Set(strides).count == 1 ? String(strides[0]) : strides.map(String.init).joined(separator: "×"))
            }
            parts.append(text)
        }
        if case .int(let group)? = node.attribute("group")?.value, group > 1 { parts.append("g\(group)") }
        return parts.isEmpty ? "" : " " + parts.joined(separator: " ")
    }

    /// A constant as a reader sees it: its value when it has one element, else its shape.
    static func summary(of tensor: Tensor) -> String {
        if tensor.count == 1, tensor.elementType != .string, let value = try? tensor.doubleValues().first {
            if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
            let text = String(value)
            return text.count <= 8 ? text : String(format: "%.4g", value)
        }
        return tensor.shape.isEmpty ? "scalar" : tensor.shape.map(String.init).joined(separator: "×")
    }

    static func edgeLabel(_ shape: [Dim]?) -> String {
        guard let shape else { return "" }
        return " [label=\(quoted(" " + text(of: shape)))]"
    }

    static func text(of shape: [Dim]) -> String {
        shape.isEmpty ? "scalar" : shape.map(\.description).joined(separator: "×")
    }

    /// A DOT string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for character in text {
            switch character {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": break
            default: result.append(character)
            }
        }
        return result + "\""
    }

    /// Fill colour by op family.
    static func fill(for opType: String) -> String {
        switch opType {
        case "Conv", "ConvTranspose", "Gemm", "MatMul", "ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul",
            "Einsum", "FusedConv", "FusedGemm", "FusedMatMul":
            return "#cfe2ff"
        case "BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization",
            "RMSNormalization", "MeanVarianceNormalization", "LpNormalization", "ChannelAffine", "SkipLayerNorm", "GroupNorm":
            return "#ffc078"
        case "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Gelu", "Erf", "Elu",
            "Selu", "Softplus", "Mish", "Softmax", "LogSoftmax":
            return "#d3f9d8"
        case "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Neg", "Abs", "Exp", "Log":
            return "#fff3bf"
        case "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "ReduceMean", "ReduceSum",
            "ReduceMax":
            return "#e5dbff"
        case "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice", "Gather", "Shape",
            "Expand", "Identity", "Cast", "Constant", "ConstantOfShape":
            return "#f1f3f5"
        default:
            return "#ffffff"
        }
    }
}
