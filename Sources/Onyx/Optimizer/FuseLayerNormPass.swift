/// `fuse-layernorm`: replaces the decomposed LayerNorm (`LayerNormPattern`:
/// ReduceMean, Sub, Pow or Mul, ReduceMean, Add ε, Sqrt, Div or
/// Reciprocal + Mul, then optional Mul γ and Add β) by one
/// `LayerNormalization` node writing the pattern's last output.
///
/// - Opset ≥ 17: the standard op, `axis = −k` for the `k` reduced axes,
///   `epsilon` from the constant, Scale and B constants of the normalized
///   shape (γ/β broadcast to it; ones for a missing γ, no B for a missing β).
///   The normalized shape comes from X's declared dims, else from γ or β
///   when they have `k` dims after leading 1s; otherwise the pass declines.
/// - Opset < 17: `ai.onyx::LayerNormalization` (same semantics); when the
///   normalized shape is unknown, γ and β are kept as they broadcast
///   (a missing γ becomes a scalar 1). Its standard-op form is the
///   decomposition again (`NormLowerings`), written for float32 only, so
///   other element types decline there.
///
/// Guards (declines name the first ReduceMean): both ReduceMeans have
/// keepdims = 1 and the same constant axes (attribute before opset 18,
/// constant input from 18), which are the trailing axes (negative axes
/// need no rank; non-negative ones need X's rank from `ValueFacts`);
/// Pow's exponent is 2; ε is a finite non-negative float scalar; γ and β
/// are constants of X's element type that do not broadcast over the
/// leading (non-normalized) axes; every intermediate value is read only
/// inside the pattern and is not a graph output.
public struct FuseLayerNormPass: GraphPass {
    public let name = "fuse-layernorm"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        let opset = context.opset()
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("ReduceMean") {
            do {
                guard let pattern = try LayerNormPattern.match(nodeIndex, in: index, opset: opset) else { continue }
                let known = facts ?? ValueFacts(graph)
                facts = known
                let fused = try fuse(pattern, graph: &graph, index: index, rank: known.rank(pattern.x), context: context)
                return Rewrite(
                    "decomposed LayerNorm fused into \(fused)", candidate: node.outputs[0],
                    detail: "\(pattern.members.count) nodes from \"\(node.name)\" to \"\(pattern.output)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }

    /// Rewrites the matched nodes; returns the new op's qualified name.
    private func fuse(_ pattern: LayerNormPattern, graph: inout Graph, index: GraphIndex, rank: Int?, context: PassContext) throws -> String {
        let declared = index.declaredShape(pattern.x)
        let k = try NormPatterns.trailingCount(pattern.axes, rank: rank ?? declared?.count)
        let standard = context.opset() >= 17
        try require(standard || pattern.elementType == .float,
                    "X is \(pattern.elementType): the ai.onyx form (opset < 17) is written back for float32 only")
        for parameter in [pattern.gamma, pattern.beta].compactMap({ $0 }) {
            try require(NormPatterns.trimmed(parameter.tensor.shape).count <= k,
                        "\"\(parameter.name)\" of shape \(parameter.tensor.shape) varies along non-normalized axes")
        }
        var normalizedShape: [Int]?
        if let declared, declared.count >= k {
            normalizedShape = Array(declared.suffix(k))
        } else if let gamma = pattern.gamma?.tensor, NormPatterns.trimmed(gamma.shape).count == k {
            normalizedShape = NormPatterns.trimmed(gamma.shape)
        } else if let beta = pattern.beta?.tensor, NormPatterns.trimmed(beta.shape).count == k {
            normalizedShape = NormPatterns.trimmed(beta.shape)
        }
        if standard && normalizedShape == nil {
            throw GuardFailure("the normalized shape is unknown (X's dims are not declared and γ/β do not give it)")
        }
        let reserved = context.outerScope
        let base = pattern.output
        let scaleName: String
        var biasName = ""
        if let shape = normalizedShape {
            let gamma = try pattern.gamma.map { try NormPatterns.broadcast($0.tensor, to: shape) }
                ?? NormPatterns.filled(1, shape: shape, as: pattern.elementType)
            scaleName = graph.addConstant(gamma, base: base + "_scale", existing: pattern.gamma?.name, reserved: reserved)
            if let beta = pattern.beta {
                let value = try NormPatterns.broadcast(beta.tensor, to: shape)
                biasName = graph.addConstant(value, base: base + "_bias", existing: beta.name, reserved: reserved)
            }
        } else {
            if let gamma = pattern.gamma {
                scaleName = gamma.name
            } else {
                let one = try NormPatterns.filled(1, shape: [1], as: pattern.elementType)
                scaleName = graph.addConstant(one, base: base + "_scale", reserved: reserved)
            }
            biasName = pattern.beta?.name ?? ""
        }
        let node = Node(
            name: pattern.anchor.name.isEmpty ? base + "_layernorm" : pattern.anchor.name + "_layernorm",
            opType: "LayerNormalization", domain: standard ? "" : OnyxDomain.name,
            inputs: biasName.isEmpty ? [pattern.x, scaleName] : [pattern.x, scaleName, biasName], outputs: [pattern.output],
            attributes: [Attribute(name: "axis", value: .int(Int64(-k))), Attribute(name: "epsilon", value: .float(pattern.epsilon))])
        graph.replace(pattern.members, with: node)
        return standard ? "LayerNormalization" : "\(OnyxDomain.name)::LayerNormalization"
    }
}
