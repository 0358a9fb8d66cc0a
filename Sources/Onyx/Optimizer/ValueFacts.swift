/// Ranks and element types of a graph's values where they are certain.
///
/// Facts come from declared types (inputs, outputs, value_info), from
/// initializers, from the enclosing scope's facts, and from a forward walk
/// over operators whose output rank and type follow simply from their inputs
/// (Conv, Gemm, MatMul, Flatten, elementwise ops, pools, Concat, Cast...).
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
        for node in graph.nodes where node.normalizedDomain == "" {
            guard let output = node.outputs.first, !output.isEmpty else { continue }
            merge(output, infer(node))
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

    private static let sameAsFirstInput: Set<String> = [
        "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Gelu",
        "Softplus", "Softsign", "Mish", "Clip", "Identity", "Dropout", "BatchNormalization", "InstanceNormalization",
        "LRN", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
        "Softmax", "LogSoftmax", "Neg", "Abs", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil", "Round",
        "Sin", "Cos", "Erf", "Concat", "Pad", "Transpose", "Resize", "Upsample", "LayerNormalization",
        "GroupNormalization", "Sign", "ThresholdedRelu", "Shrink", "DepthToSpace", "SpaceToDepth",
    ]
    private static let broadcasting: Set<String> = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean"]

    private func infer(_ node: Node) -> Fact {
        let inputs = node.inputs.map { $0.isEmpty ? nil : facts[$0] }
        let first = inputs.first ?? nil
        switch node.opType {
        case _ where Self.sameAsFirstInput.contains(node.opType):
            return first ?? Fact()
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
            let known = ranks.compactMap { $0 }
            let type = inputs.compactMap { $0?.elementType }.first
            return Fact(rank: known.count == ranks.count ? known.max() : nil, elementType: type)
        default:
            return Fact()
        }
    }
}
