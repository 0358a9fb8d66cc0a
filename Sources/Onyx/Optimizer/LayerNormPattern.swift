/// The decomposed LayerNorm as PyTorch, TensorFlow and Keras export it,
/// matched from its first ReduceMean:
///
/// ```
/// mean = ReduceMean(x)            d = Sub(x, mean)
/// sq   = Pow(d, 2) | Mul(d, d)    var = ReduceMean(sq)
/// s    = Sqrt(Add(var, ε))        n = Div(d, s) | Mul(d, Reciprocal(s))
/// y    = Add(Mul(n, γ), β)        (γ and β optional, either operand order)
/// ```
///
/// ``match(_:in:opset:)`` returns nil when the nodes do not have this shape
/// (no decline: an ordinary ReduceMean), and throws ``GuardFailure`` when
/// they do but the rewrite would be wrong.
struct LayerNormPattern {
    /// The normalized input.
    var x: String
    /// The reduced axes as written (checked equal in both ReduceMeans).
    var axes: [Int]
    var epsilon: Float
    /// The element type of x (that of the ε constant, which Add binds to x's).
    var elementType: ElementType
    /// Constant γ and β (name and value), when the pattern has them.
    var gamma: (name: String, tensor: Tensor)?
    var beta: (name: String, tensor: Tensor)?
    /// The value the last matched node writes.
    var output: String
    /// Every matched node.
    var members: Set<Int>
    /// The anchor (first ReduceMean) node.
    var anchor: Node

    static func match(_ anchorIndex: Int, in index: GraphIndex, opset: Int) throws -> LayerNormPattern? {
        let graph = index.graph
        let first = graph.nodes[anchorIndex]
        guard first.isOp("ReduceMean"), first.outputs.count == 1, let x = first.inputs.first, !x.isEmpty else { return nil }
        let mean = first.outputs[0]
        guard let sub = index.reader(of: mean, "Sub", where: { $0.inputs == [x, mean] }) else { return nil }
        let d = sub.node.outputs[0]
        var exponent: Tensor?
        let square = index.reader(of: d, "Mul", where: { $0.inputs == [d, d] })
            ?? index.reader(of: d, "Pow", where: { node in
                guard node.inputs.count == 2, node.inputs[0] == d, let constant = index.constant(node.inputs[1]) else { return false }
                exponent = constant
                return true
            })
        guard let square else { return nil }
        let sq = square.node.outputs[0]
        guard let second = index.reader(of: sq, "ReduceMean", where: { $0.inputs.first == sq }) else { return nil }
        let variance = second.node.outputs[0]
        guard let addEps = index.reader(of: variance, "Add", where: { index.constantOperand(of: $0, besides: variance) != nil }),
              let eps = index.constantOperand(of: addEps.node, besides: variance)
        else { return nil }
        let shifted = addEps.node.outputs[0]
        guard let sqrt = index.reader(of: shifted, "Sqrt") else { return nil }
        let s = sqrt.node.outputs[0]
        var members: Set<Int> = [anchorIndex, sub.index, square.index, second.index, addEps.index, sqrt.index]
        var labelled: [(String, String)] = [
            ("mean", mean), ("centered value", d), ("square", sq), ("variance", variance), ("variance + ε", shifted),
            ("standard deviation", s),
        ]
        let normalized: (index: Int, node: Node)
        if let div = index.reader(of: s, "Div", where: { $0.inputs == [d, s] }) {
            normalized = div
        } else if let reciprocal = index.reader(of: s, "Reciprocal"),
                  let mul = index.reader(of: reciprocal.node.outputs[0], "Mul", where: {
                      Set($0.inputs) == [d, reciprocal.node.outputs[0]] && $0.inputs.count == 2
                  })
        {
            members.insert(reciprocal.index)
            labelled.append(("reciprocal", reciprocal.node.outputs[0]))
            normalized = mul
        } else {
            return nil
        }
        members.insert(normalized.index)
        var output = normalized.node.outputs[0]

        // From here on the nodes are a LayerNorm: refusals are declines.
        var pattern = LayerNormPattern(
            x: x, axes: [], epsilon: 0, elementType: eps.tensor.elementType, gamma: nil, beta: nil, output: output,
            members: members, anchor: first)
        if let reader = index.soleReader(of: output), reader.node.isOp("Mul"),
           let gamma = index.constantOperand(of: reader.node, besides: output)
        {
            pattern.gamma = gamma
            labelled.append(("normalized value", output))
            members.insert(reader.index)
            output = reader.node.outputs[0]
        }
        if let reader = index.soleReader(of: output), reader.node.isOp("Add"),
           let beta = index.constantOperand(of: reader.node, besides: output)
        {
            pattern.beta = beta
            labelled.append((pattern.gamma == nil ? "normalized value" : "scaled value", output))
            members.insert(reader.index)
            output = reader.node.outputs[0]
        }
        pattern.output = output
        pattern.members = members

        if let exponent {
            try require(exponent.count == 1 && (try? exponent.doubleValues()) == [2], "Pow exponent is not 2")
        }
        for node in [first, second.node] {
            try require(node.intAttribute("keepdims", default: 1) == 1, "ReduceMean \"\(node.name)\" has keepdims = 0")
        }
        guard let axes = NormPatterns.reduceAxes(first, index: index, opset: opset),
              let axes2 = NormPatterns.reduceAxes(second.node, index: index, opset: opset)
        else { throw GuardFailure("the ReduceMean axes are not constant") }
        try require(Set(axes) == Set(axes2), "the ReduceMeans reduce different axes (\(axes) and \(axes2))")
        pattern.axes = axes
        try require(eps.tensor.count == 1 && eps.tensor.isFoldableFloat, "ε \"\(eps.name)\" is not a float scalar")
        guard let epsilon = try eps.tensor.doubleValues().first, epsilon.isFinite, epsilon >= 0 else {
            throw GuardFailure("ε \"\(eps.name)\" is not a finite non-negative number")
        }
        pattern.epsilon = Float(epsilon)
        for parameter in [pattern.gamma, pattern.beta].compactMap({ $0 }) {
            try require(parameter.tensor.elementType == pattern.elementType,
                        "\"\(parameter.name)\" is \(parameter.tensor.elementType), X is \(pattern.elementType)")
        }
        for (label, name) in labelled {
            if let problem = index.privacyProblem(label, name, members: members) { throw GuardFailure(problem) }
        }
        return pattern
    }
}
