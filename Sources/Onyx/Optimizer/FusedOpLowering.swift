/// The standard-op forms of the fused kernels in `FusedOps.swift`: the
/// base op writing a fresh value, then the activation's nodes
/// (``FusedActivation/lower(input:output:name:context:)``) writing the
/// fused node's output.
///
/// - FusedConv → Conv, then Add of the residual when there is one;
///   FusedGemm → Gemm (attributes kept, less the activation's);
/// - FusedMatMul → MatMul, then Add of the bias when there is one (with
///   `broadcast = 1` before opset 7);
/// - ChannelAffine → `BatchNormalization(X, scale, bias, mean = 0,
///   var = 1, epsilon = 0)` from opset 7 on (`is_test = 1` at opset 6), so
///   a written file keeps a BatchNormalization where the model had one;
///   before opset 6, `Add(Mul(X, scale), bias)` with the legacy
///   `broadcast = 1, axis = 1`.
enum FusedOpLowering {
    static let fusedConv = CustomOpLowering(opType: "FusedConv") { node, context in
        try withActivation(node, context: &context) { output, context in
            guard node.inputs.count > 3, !node.inputs[3].isEmpty else {
                return [Node(
                    name: node.name, opType: "Conv", inputs: node.inputs, outputs: [output], attributes: baseAttributes(node))]
            }
            let convolved = context.fresh(output + "_conv")
            let legacy = context.opset < 7 ? [Attribute(name: "broadcast", value: .int(1))] : []
            return [
                Node(name: node.name, opType: "Conv", inputs: Array(node.inputs.prefix(3)), outputs: [convolved],
                     attributes: baseAttributes(node)),
                Node(name: node.name + "_residual", opType: "Add", inputs: [convolved, node.inputs[3]], outputs: [output],
                     attributes: legacy),
            ]
        }
    }

    static let fusedGemm = CustomOpLowering(opType: "FusedGemm") { node, context in
        try withActivation(node, context: &context) { output, _ in
            [Node(name: node.name, opType: "Gemm", inputs: node.inputs, outputs: [output], attributes: baseAttributes(node))]
        }
    }

    static let fusedMatMul = CustomOpLowering(opType: "FusedMatMul") { node, context in
        try withActivation(node, context: &context) { output, context in
            let operands = Array(node.inputs.prefix(2))
            guard node.inputs.count > 2, !node.inputs[2].isEmpty else {
                return [Node(name: node.name, opType: "MatMul", inputs: operands, outputs: [output])]
            }
            let product = context.fresh(output + "_product")
            let legacy = context.opset < 7 ? [Attribute(name: "broadcast", value: .int(1))] : []
            return [
                Node(name: node.name, opType: "MatMul", inputs: operands, outputs: [product]),
                Node(name: node.name + "_bias", opType: "Add", inputs: [product, node.inputs[2]], outputs: [output],
                     attributes: legacy),
            ]
        }
    }

    static let channelAffine = CustomOpLowering(opType: "ChannelAffine") { node, context in
        guard node.inputs.count == 3 else {
            throw OnyxError.invalidModel("\(OnyxDomain.name)::ChannelAffine \"\(node.name)\" needs 3 inputs")
        }
        return try withActivation(node, context: &context) { output, context in
            let (x, scale, bias) = (node.inputs[0], node.inputs[1], node.inputs[2])
            if context.opset < 6 {
                let legacy = [Attribute(name: "broadcast", value: .int(1)), Attribute(name: "axis", value: .int(1))]
                let scaled = context.fresh(output + "_scaled")
                return [
                    Node(name: node.name + "_scale", opType: "Mul", inputs: [x, scale], outputs: [scaled], attributes: legacy),
                    Node(name: node.name + "_shift", opType: "Add", inputs: [scaled, bias], outputs: [output], attributes: legacy),
                ]
            }
            guard let channels = context.existingConstant(scale)?.count else {
                throw OnyxError.invalidModel(
                    "\(OnyxDomain.name)::ChannelAffine \"\(node.name)\": scale \"\(scale)\" is not a constant")
            }
            let zeros = [Float](repeating: 0, count: channels)
            let ones = [Float](repeating: 1, count: channels)
            let mean = context.constant(output + "_mean", try Tensor(shape: [channels], scalars: zeros))
            let variance = context.constant(output + "_var", try Tensor(shape: [channels], scalars: ones))
            var attributes = [Attribute(name: "epsilon", value: .float(0))]
            if context.opset < 7 { attributes.append(Attribute(name: "is_test", value: .int(1))) }
            return [Node(
                name: node.name, opType: "BatchNormalization", inputs: [x, scale, bias, mean, variance],
                outputs: [output], attributes: attributes)]
        }
    }

    /// The node's attributes less the activation's.
    private static func baseAttributes(_ node: Node) -> [Attribute] {
        node.attributes.filter { $0.name != "activation" && $0.name != "activation_params" }
    }

    /// `base(name, &context)` writing `name`, then the activation: `name` is
    /// the fused node's output when it has no activation, else a fresh value.
    private static func withActivation(
        _ node: Node, context: inout LoweringContext, _ base: (String, inout LoweringContext) throws -> [Node]
    ) throws -> [Node] {
        guard node.outputs.count == 1, !node.outputs[0].isEmpty else {
            throw OnyxError.invalidModel("\(OnyxDomain.name)::\(node.opType) \"\(node.name)\" needs one output")
        }
        let output = node.outputs[0]
        guard let activation = try FusedActivation(attributesOf: node) else { return try base(output, &context) }
        let before = context.fresh(output + "_linear")
        return try base(before, &context)
            + activation.lower(input: before, output: output, name: node.name, context: &context)
    }
}
