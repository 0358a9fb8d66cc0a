/// `fuse-groupnorm`: replaces GroupNorm written with InstanceNormalization,
/// as PyTorch exports `nn.GroupNorm`,
///
/// ```
/// r = Reshape(x, [0 | N, G, −1])
/// n = InstanceNormalization(r, ones[G], zeros[G], ε)
/// y = Add(Mul(Reshape(n, Shape(x) | x's shape), γ), β)    (γ, β per channel, optional)
/// ```
///
/// by one `ai.onyx::GroupNorm(x, scale[C], bias[C])` with `num_groups = G`
/// and `epsilon = ε`, writing the pattern's last output. Its standard-op
/// form (`NormLowerings`) is GroupNormalization (opset 21 semantics) when
/// the model's opset is ≥ 21, else this same Reshape/InstanceNormalization
/// pattern, written for float32 only.
///
/// Guards (declines name the InstanceNormalization): the first Reshape's
/// shape is a constant `[0 or N, G, −1]` (N must equal X's declared batch
/// size; `allowzero` unset); the second Reshape's shape is `Shape(x)` or a
/// constant equal to X's declared shape; InstanceNormalization's scale is
/// all ones and its bias all zeros (per-group values cannot become per-
/// channel ones); γ and β are constants shaped `[C, 1, …]` against X's rank
/// (`ValueFacts`); C is known (γ, β or X's declared dims) and divisible
/// by G; X is float32 below opset 21; every intermediate value is read only
/// inside the pattern and is not a graph output.
public struct FuseGroupNormPass: GraphPass {
    public let name = "fuse-groupnorm"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("InstanceNormalization") {
            guard node.inputs.count == 3, node.outputs.count == 1,
                  let (firstIndex, first) = index.producingNode(node.inputs[0]), first.isOp("Reshape"), first.inputs.count == 2,
                  let firstShape = index.constant(first.inputs[1]).flatMap({ try? $0.int64Values() }), firstShape.count == 3,
                  let (secondIndex, second) = index.reader(of: node.outputs[0], "Reshape", where: { $0.inputs.first == node.outputs[0] })
            else { continue }
            do {
                let known = facts ?? ValueFacts(graph)
                facts = known
                let (output, fusedCount) = try fuse(
                    instanceNorm: (nodeIndex, node), first: (firstIndex, first), firstShape: firstShape,
                    second: (secondIndex, second), graph: &graph, index: index, facts: known, context: context)
                return Rewrite(
                    "InstanceNormalization GroupNorm fused into \(OnyxDomain.name)::GroupNorm", candidate: node.outputs[0],
                    detail: "\(fusedCount) nodes around \"\(node.name)\" to \"\(output)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    private func fuse(
        instanceNorm: (index: Int, node: Node), first: (index: Int, node: Node), firstShape: [Int64],
        second: (index: Int, node: Node), graph: inout Graph, index: GraphIndex, facts: ValueFacts, context: PassContext
    ) throws -> (String, Int) {
        let x = first.node.inputs[0]
        let declared = index.declaredShape(x)
        try require(firstShape[1] > 0 && firstShape[2] == -1, "the first Reshape's shape \(firstShape) is not [N, G, -1]")
        let groups = Int(firstShape[1])
        if firstShape[0] == 0 {
            try require(first.node.intAttribute("allowzero", default: 0) == 0, "the first Reshape has allowzero = 1")
        } else {
            try require(declared.map { !$0.isEmpty && Int64($0[0]) == firstShape[0] } == true,
                        "the first Reshape's batch size \(firstShape[0]) is not X's declared batch size")
        }
        var members: Set<Int> = [first.index, instanceNorm.index, second.index]
        let shapeInput = second.node.inputs.count == 2 ? second.node.inputs[1] : ""
        if let (shapeIndex, shapeNode) = index.producingNode(shapeInput), shapeNode.isOp("Shape"), shapeNode.inputs == [x],
           shapeNode.attribute("start") == nil, shapeNode.attribute("end") == nil
        {
            if index.soleReader(of: shapeInput)?.index == second.index { members.insert(shapeIndex) }
        } else {
            guard let constant = index.constant(shapeInput).flatMap({ try? $0.int64Values() }), let declared,
                  constant == declared.map({ Int64($0) })
            else { throw GuardFailure("the second Reshape does not restore X's shape (Shape(x) or X's declared shape)") }
        }
        guard let scale = index.constant(instanceNorm.node.inputs[1]), let bias = index.constant(instanceNorm.node.inputs[2]) else {
            throw GuardFailure("InstanceNormalization scale and bias are not constants")
        }
        try require(scale.count == groups && bias.count == groups, "InstanceNormalization parameters do not have \(groups) values")
        try require(NormPatterns.isAll(scale, 1) && NormPatterns.isAll(bias, 0),
                    "InstanceNormalization scale is not all ones or bias not all zeros (per-group values cannot become per-channel)")
        let type = scale.elementType
        try require(context.opset() >= 21 || type == .float,
                    "X is \(type): the standard-op form below opset 21 is written for float32 only")
        let epsilon = instanceNorm.node.floatAttribute("epsilon", default: 1e-5)

        var labelled = [("reshaped input", first.node.outputs[0]), ("instance-normalized value", instanceNorm.node.outputs[0])]
        var output = second.node.outputs[0]
        var gamma: Tensor?
        var beta: Tensor?
        if let reader = index.soleReader(of: output), reader.node.isOp("Mul"),
           let constant = index.constantOperand(of: reader.node, besides: output)
        {
            gamma = constant.tensor
            labelled.append(("normalized value", output))
            members.insert(reader.index)
            output = reader.node.outputs[0]
        }
        if let reader = index.soleReader(of: output), reader.node.isOp("Add"),
           let constant = index.constantOperand(of: reader.node, besides: output)
        {
            beta = constant.tensor
            labelled.append(("scaled value", output))
            members.insert(reader.index)
            output = reader.node.outputs[0]
        }
        for parameter in [gamma, beta].compactMap({ $0 }) {
            try require(parameter.elementType == type, "γ/β are \(parameter.elementType), X is \(type)")
        }
        let rank = facts.rank(x) ?? declared?.count
        let channels = try channelCount(gamma: gamma, beta: beta, declared: declared, rank: rank)
        try require(channels % groups == 0, "\(channels) channels do not split into \(groups) groups")
        for (label, name) in labelled {
            if let problem = index.privacyProblem(label, name, members: members) { throw GuardFailure(problem) }
        }
        let scaleValues = try gamma.map { try $0.doubleValues() }.map { $0.count == 1 ? [Double](repeating: $0[0], count: channels) : $0 }
            ?? [Double](repeating: 1, count: channels)
        let biasValues = try beta.map { try $0.doubleValues() }.map { $0.count == 1 ? [Double](repeating: $0[0], count: channels) : $0 }
            ?? [Double](repeating: 0, count: channels)
        let reserved = context.outerScope
        let scaleName = graph.addConstant(try Tensor.fromDoubles(scaleValues, shape: [channels], as: type),
                                          base: output + "_scale", reserved: reserved)
        let biasName = graph.addConstant(try Tensor.fromDoubles(biasValues, shape: [channels], as: type),
                                         base: output + "_bias", reserved: reserved)
        let node = Node(
            name: instanceNorm.node.name.isEmpty ? output + "_groupnorm" : instanceNorm.node.name + "_groupnorm",
            opType: "GroupNorm", domain: OnyxDomain.name, inputs: [x, scaleName, biasName], outputs: [output],
            attributes: [Attribute(name: "num_groups", value: .int(Int64(groups))), Attribute(name: "epsilon", value: .float(epsilon))])
        graph.replace(members, with: node)
        return (output, members.count)
    }

    /// C from γ or β (checked per-channel against X's rank), or X's declared dims.
    private func channelCount(gamma: Tensor?, beta: Tensor?, declared: [Int]?, rank: Int?) throws -> Int {
        var channels = declared.flatMap { $0.count >= 2 ? $0[1] : nil }
        for parameter in [gamma, beta].compactMap({ $0 }) {
            if parameter.count == 1 { continue }
            guard let rank, rank >= 2 else { throw GuardFailure("the rank of X is not known (γ/β cannot be checked per channel)") }
            let padded = [Int](repeating: 1, count: max(rank - parameter.shape.count, 0)) + parameter.shape
            try require(parameter.shape.count <= rank && padded.enumerated().allSatisfy { $0.offset == 1 || $0.element == 1 },
                        "γ/β of shape \(parameter.shape) is not per channel for X of rank \(rank)")
            try require(channels == nil || channels == padded[1], "γ/β have \(padded[1]) values, X \(channels ?? 0) channels")
            channels = padded[1]
        }
        guard let channels, channels > 0 else { throw GuardFailure("the channel count of X is not known") }
        return channels
    }
}
