/// `batchnorm-to-affine`: rewrites an inference-mode BatchNormalization as
/// `Add(Mul(X, s), t)` with per-channel constants
/// `s = scale / sqrt(var + epsilon)` and `t = B − mean · s` (Float64, then
/// written in X's element type), shaped `[C, 1, …]` to broadcast over axis
/// 1 (opset < 7: shaped `[C]` with the legacy `broadcast = 1, axis = 1`).
/// The Add keeps the BatchNormalization's output name. Standard ops, so a
/// written file stays standard ONNX.
///
/// In the pipeline it runs after `fold-batchnorm`, so it only meets the
/// BatchNormalizations that could not fold (after Concat, a graph input, a
/// Relu…); alone it rewrites every one it can. It is off by default
/// (`enabledPasses`, `--enable-pass batchnorm-to-affine`): Onyx runs the
/// two elementwise nodes slower than one BatchNormalization kernel, so the
/// rewrite pays only for later folds or fused kernels.
///
/// Guards: the inference-mode guards of `fold-batchnorm` (no optional
/// outputs, `training_mode` 0, `spatial` 1, constant `[C]` parameters with
/// `var + epsilon > 0`); X's rank is known and at least 2, and X's element
/// type is known to be float or double (float16 would round twice where the
/// kernel rounds once).
public struct BatchNormAffinePass: GraphPass {
    public let name = "batchnorm-to-affine"
    public let enabledByDefault = false

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("BatchNormalization") {
            do {
                let opset = context.opset()
                let (scale, shift) = try BatchNormFolding.affine(of: node, index: index, opset: opset)
                let known = facts ?? ValueFacts(graph)
                facts = known
                let x = node.inputs[0]
                guard let rank = known.rank(x), rank >= 2 else {
                    throw GuardFailure("the rank of X \"\(x)\" is not known")
                }
                let type = BatchNormFolding.inputElementType(of: node, facts: known, index: index, opset: opset)
                guard let type, type == .float || type == .double else {
                    throw GuardFailure("X \"\(x)\" is not known to be float or double")
                }
                let legacyBroadcast = opset < 7
                let shape = legacyBroadcast ? [scale.count] : [scale.count] + [Int](repeating: 1, count: rank - 2)
                let output = node.outputs[0]
                var taken = graph.allNames().union(context.outerScope)
                func fresh(_ suffix: String) -> String {
                    let name = Graph.uniqueName(output + suffix, notIn: taken)
                    taken.insert(name)
                    return name
                }
                let scaleName = fresh("_scale")
                let shiftName = fresh("_shift")
                let scaledName = fresh("_scaled")
                graph.constants[scaleName] = try Tensor.fromDoubles(scale, shape: shape, as: type)
                graph.constants[shiftName] = try Tensor.fromDoubles(shift, shape: shape, as: type)
                let prefix = node.name.isEmpty ? output : node.name
                let attributes = legacyBroadcast
                    ? [Attribute(name: "broadcast", value: .int(1)), Attribute(name: "axis", value: .int(1))] : []
                graph.nodes[nodeIndex] = Node(
                    name: prefix + "_scale", opType: "Mul", inputs: [x, scaleName], outputs: [scaledName],
                    attributes: attributes)
                graph.nodes.insert(
                    Node(name: prefix + "_shift", opType: "Add", inputs: [scaledName, shiftName], outputs: [output],
                         attributes: attributes),
                    at: nodeIndex + 1)
                return Rewrite(
                    "BatchNormalization rewritten as Mul and Add", candidate: output, detail: "\"\(node.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }
}
