/// Ranks and element types of a graph's values where they are certain.
///
/// Facts come from declared types (inputs, outputs, value_info), from
/// initializers, from the enclosing scope's facts, and from a forward walk
/// over operators whose output rank and type follow simply from their inputs
/// (Conv, Gemm, MatMul, Flatten, elementwise ops, pools, Concat, Cast,
/// Gather, Slice, Split, Reshape and Unsqueeze/Squeeze by constants…), and
/// the `ai.onyx` fused ops as the standard op each extends.
/// Anything else stays unknown: passes that need a rank decline then.
struct ValueFacts {
    struct Fact: Equatable {
        var rank: Int?
        var elementType: ElementType?
    }

    private(set) var facts: [String: Fact] = [:]

    init(_ graph: Graph) {
        for info in graph.inputs + graph.valueInfo + graph.outputs {
            guard case .tensor(let type, let shape)? = info.type else { continue }
            merge(info.name, Fact(rank: shape?.count, elementType: type))
        }
        for (name, tensor) in graph.constants {
            facts[name] = Fact(rank: tensor.shape.count, elementType: tensor.elementType)
        }
        for var node in graph.nodes {
            if node.domain == OnyxDomain.name, let standard = Self.fusedBase[node.opType] {
                node.domain = ""
                node.opType = standard
            }
            guard node.normalizedDomain == "", let output = node.outputs.first, !output.isEmpty else { continue }
            let fact = infer(node, constants: graph.constants)
            if node.opType == "Split" {
                for name in node.outputs where !name.isEmpty { merge(name, fact) }
            } else {
                merge(output, fact)
            }
        }
    }

    func rank(_ name: String) -> Int? { facts[name]?.rank }
    func elementType(_ name: String) -> ElementType? { facts[name]?.elementType }

    private mutating func merge(_ name: String, _ fact: Fact) {
        var current = facts[name] ?? Fact()
        if current.rank == nil { current.rank = fact.rank }
        if current.elementType == nil { current.elementType = fact.elementType }
        facts[name] = current
    }

    /// The standard op whose rank and type rule each `ai.onyx` fused op follows.
    private static let fusedBase = [
        "FusedConv": "Conv", "FusedGemm": "Gemm", "FusedMatMul": "MatMul", "ChannelAffine": "BatchNormalization",
        "LayerNormalization": "LayerNormalization", "SkipLayerNorm": "LayerNormalization", "GroupNorm": "GroupNormalization",
    ]

    private static let sameAsFirstInput: Set<String> = [
        "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Gelu",
        "Softplus", "Softsign", "Mish", "Clip", "Identity", "Dropout", "BatchNormalization", "InstanceNormalization",
        "LRN", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
        "Softmax", "LogSoftmax", "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round",
        "Sin", "Cos", "Erf", "Concat", "Pad", "Transpose", "Resize", "Upsample", "LayerNormalization",
        "GroupNormalization", "Sign", "ThresholdedRelu", "Shrink", "DepthToSpace", "SpaceToDepth",
    ]
    private static let broadcasting: Set<String> = [
        "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where",
    ]
    private static let sameRank: Set<String> = ["Slice", "Split", "Tile", "Expand", "ReverseSequence"]

    private func infer(_ node: Node, constants: OrderedDictionary<String, Tensor>) -> Fact {
        let inputs = node.inputs.map { $0.isEmpty ? nil : facts[$0] }
        let first = inputs.first ?? nil
        func constantCount(_ slot: Int) -> Int? {
            guard slot < node.inputs.count, let tensor = constants[node.inputs[slot]] else { return nil }
            return tensor.count
        }
        func axesCount() -> Int? {
            if case .ints(let axes)? = node.attribute("axes")?.value { return axes.count }
            return constantCount(1)
        }
        switch node.opType {
        case _ where Self.sameAsFirstInput.contains(node.opType):
            return first ?? Fact()
        case _ where Self.sameRank.contains(node.opType) && node.opType != "Expand":
            return Fact(rank: first?.rank, elementType: first?.elementType)
        case "Gather":
            let indices = inputs.count > 1 ? inputs[1] : nil
            guard let data = first?.rank, let index = indices?.rank, data >= 1 else {
                return Fact(rank: nil, elementType: first?.elementType)
            }
            return Fact(rank: data - 1 + index, elementType: first?.elementType)
        case "Reshape":
            guard let shape = constants[node.inputs.count > 1 ? node.inputs[1] : ""], shape.shape.count == 1 else {
                return Fact(rank: nil, elementType: first?.elementType)
            }
            return Fact(rank: shape.count, elementType: first?.elementType)
        case "Unsqueeze", "Squeeze":
            guard let rank = first?.rank, let axes = axesCount() else { return Fact(rank: nil, elementType: first?.elementType) }
            let result = node.opType == "Unsqueeze" ? rank + axes : rank - axes
            return Fact(rank: result >= 0 ? result : nil, elementType: first?.elementType)
        case "Shape":
            return Fact(rank: 1, elementType: .int64)
        case "Conv", "ConvTranspose":
            let weight = inputs.count > 1 ? inputs[1] : nil
            return Fact(rank: first?.rank ?? weight?.rank, elementType: first?.elementType ?? weight?.elementType)
        case "Gemm", "Flatten":
            return Fact(rank: 2, elementType: first?.elementType)
        case "MatMul":
            let other = inputs.count > 1 ? inputs[1] : nil
            guard let a = first?.rank, let b = other?.rank, a >= 2, b >= 2 else {
                return Fact(rank: nil, elementType: first?.elementType)
            }
            return Fact(rank: max(a, b), elementType: first?.elementType)
        case "Cast":
            guard case .int(let to)? = node.attribute("to")?.value, let type = Int32(exactly: to).flatMap(ElementType.init(rawValue:))
            else { return Fact(rank: first?.rank) }
            return Fact(rank: first?.rank, elementType: type)
        case _ where Self.broadcasting.contains(node.opType):
            let ranks = inputs.map { $0?.rank }
            let data = node.opType == "Where" ? Array(inputs.dropFirst()) : inputs
            let known = ranks.compactMap { $0 }
            let type = data.compactMap { $0?.elementType }.first
            return Fact(rank: known.count == ranks.count ? known.max() : nil, elementType: type)
        default:
            return Fact()
        }
    }
}

import OrderedCollections
