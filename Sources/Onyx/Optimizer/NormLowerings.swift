/// The standard-op forms of the fused normalization ops (`FusedNormOps`),
/// used when `onyx optimize` writes a file without `--allow-custom-ops`.
///
/// - `LayerNormalization`: the standard op from opset 17; below, the
///   decomposition ReduceMean, Sub, Mul, ReduceMean, Add ε, Sqrt, Div,
///   Mul Scale, Add B over the axes `[axis, −1]` (axis must be negative, as
///   `fuse-layernorm` writes it; ε is a float32 scalar, so float32 only).
/// - `SkipLayerNorm`: Add, then the LayerNormalization form above.
/// - `GroupNorm`: GroupNormalization (opset 21 semantics) from opset 21;
///   below, Reshape to `[0, G, −1]`, InstanceNormalization with ones and
///   zeros (float32), Reshape to `[0, C, −1]` (C from `Shape(scale)`),
///   Mul and Add by scale and bias reshaped to `[C, 1]`, and Reshape back
///   to `Shape(X)`.
enum NormLowerings {
    static let layerNorm = CustomOpLowering(opType: "LayerNormalization") { node, context in
        guard node.outputs.count == 1 || node.outputs.dropFirst().allSatisfy(\.isEmpty) else {
            throw OnyxError.invalidModel(
                "node \"\(node.name)\" (\(OnyxDomain.name)::LayerNormalization) writes Mean/InvStdDev, which have no standard form before opset 17")
        }
        return try layerNormNodes(
            x: node.inputs[0], scale: node.inputs.count > 1 ? node.inputs[1] : "", bias: node.inputs.count > 2 ? node.inputs[2] : "",
            node: node, output: node.outputs[0], context: &context)
    }

    static let skipLayerNorm = CustomOpLowering(opType: "SkipLayerNorm") { node, context in
        guard node.inputs.count >= 3, node.outputs.count >= 1 else {
            throw OnyxError.invalidModel("node \"\(node.name)\" (\(OnyxDomain.name)::SkipLayerNorm) needs A, B and Scale")
        }
        let sum = node.outputs.count > 1 && !node.outputs[1].isEmpty ? node.outputs[1] : context.fresh(node.outputs[0] + "_sum")
        let add = Node(name: node.name + "_add", opType: "Add", inputs: [node.inputs[0], node.inputs[1]], outputs: [sum])
        return [add] + (try layerNormNodes(
            x: sum, scale: node.inputs[2], bias: node.inputs.count > 3 ? node.inputs[3] : "", node: node,
            output: node.outputs[0], context: &context))
    }

    static let groupNorm = CustomOpLowering(opType: "GroupNorm") { node, context in
        guard node.inputs.count == 3, node.outputs.count == 1, case .int(let groups)? = node.attribute("num_groups")?.value,
              groups > 0
        else {
            throw OnyxError.invalidModel("node \"\(node.name)\" (\(OnyxDomain.name)::GroupNorm) needs X, scale, bias and num_groups")
        }
        let (x, scale, bias) = (node.inputs[0], node.inputs[1], node.inputs[2])
        let epsilon = Attribute(name: "epsilon", value: .float(node.floatAttribute("epsilon", default: 1e-5)))
        if context.opset >= 21 {
            return [Node(
                name: node.name, opType: "GroupNormalization", inputs: node.inputs, outputs: node.outputs,
                attributes: [Attribute(name: "num_groups", value: .int(groups)), epsilon])]
        }
        let base = node.outputs[0]
        let name = node.name.isEmpty ? base : node.name
        func int64s(_ label: String, _ values: [Int64]) throws -> String {
            context.constant(base + label, try Tensor.fromInt64s(values, shape: [values.count], as: .int64))
        }
        let count = Int(groups)
        let ones = context.constant(base + "_ones", try NormPatterns.filled(1, shape: [count], as: .float))
        let zeros = context.constant(base + "_zeros", try NormPatterns.filled(0, shape: [count], as: .float))
        let grouped = context.fresh(base + "_grouped"), normalized = context.fresh(base + "_normalized")
        let channelShape = context.fresh(base + "_channel_shape"), scaleShape = context.fresh(base + "_scale_shape")
        let perChannel = context.fresh(base + "_per_channel"), scaled = context.fresh(base + "_scaled")
        let shifted = context.fresh(base + "_shifted"), column = context.fresh(base + "_scale_column")
        let biasColumn = context.fresh(base + "_bias_column"), xShape = context.fresh(base + "_x_shape")
        let groupShape = try int64s("_group_shape", [0, groups, -1])
        let columnShape = try int64s("_column_shape", [-1, 1])
        return [
            Node(name: name + "_group", opType: "Reshape", inputs: [x, groupShape], outputs: [grouped]),
            Node(name: name + "_instancenorm", opType: "InstanceNormalization", inputs: [grouped, ones, zeros],
                 outputs: [normalized], attributes: [epsilon]),
            Node(name: name + "_scale_shape", opType: "Shape", inputs: [scale], outputs: [scaleShape]),
            Node(name: name + "_channel_shape", opType: "Concat",
                 inputs: [try int64s("_zero", [0]), scaleShape, try int64s("_rest", [-1])], outputs: [channelShape],
                 attributes: [Attribute(name: "axis", value: .int(0))]),
            Node(name: name + "_ungroup", opType: "Reshape", inputs: [normalized, channelShape], outputs: [perChannel]),
            Node(name: name + "_scale_column", opType: "Reshape", inputs: [scale, columnShape], outputs: [column]),
            Node(name: name + "_bias_column", opType: "Reshape", inputs: [bias, columnShape], outputs: [biasColumn]),
            Node(name: name + "_scale", opType: "Mul", inputs: [perChannel, column], outputs: [scaled]),
            Node(name: name + "_shift", opType: "Add", inputs: [scaled, biasColumn], outputs: [shifted]),
            Node(name: name + "_x_shape", opType: "Shape", inputs: [x], outputs: [xShape]),
            Node(name: name + "_restore", opType: "Reshape", inputs: [shifted, xShape], outputs: node.outputs),
        ]
    }

    /// LayerNormalization of `x` into `output` with `node`'s axis and
    /// epsilon: the standard op from opset 17, else the decomposition.
    private static func layerNormNodes(
        x: String, scale: String, bias: String, node: Node, output: String, context: inout LoweringContext
    ) throws -> [Node] {
        let axis = node.intAttribute("axis", default: -1)
        let epsilon = node.floatAttribute("epsilon", default: 1e-5)
        let name = node.name.isEmpty ? output : node.name
        if context.opset >= 17 {
            return [Node(
                name: name + "_layernorm", opType: "LayerNormalization", inputs: bias.isEmpty ? [x, scale] : [x, scale, bias],
                outputs: [output], attributes: [Attribute(name: "axis", value: .int(axis)), Attribute(name: "epsilon", value: .float(epsilon))])]
        }
        guard axis < 0 else {
            throw OnyxError.invalidModel(
                "node \"\(node.name)\" (\(OnyxDomain.name)::\(node.opType)) has axis \(axis); its standard form before opset 17 needs a negative axis")
        }
        let axes = Array(axis...(-1))
        func reduceMean(_ input: String, _ out: String, _ suffix: String) throws -> Node {
            var reduce = Node(name: name + suffix, opType: "ReduceMean", inputs: [input], outputs: [out],
                              attributes: [Attribute(name: "keepdims", value: .int(1))])
            if context.opset >= 18 {
                reduce.inputs.append(context.constant(output + "_axes", try Tensor.fromInt64s(axes, shape: [axes.count], as: .int64)))
            } else {
                reduce.attributes.append(Attribute(name: "axes", value: .ints(axes)))
            }
            return reduce
        }
        let mean = context.fresh(output + "_mean"), centered = context.fresh(output + "_centered")
        let square = context.fresh(output + "_square"), variance = context.fresh(output + "_variance")
        let shifted = context.fresh(output + "_variance_eps"), deviation = context.fresh(output + "_stddev")
        let normalized = context.fresh(output + "_normalized")
        let epsilonName = context.constant(output + "_epsilon", try Tensor.fromDoubles([Double(epsilon)], shape: [], as: .float))
        var nodes = [
            try reduceMean(x, mean, "_mean"),
            Node(name: name + "_center", opType: "Sub", inputs: [x, mean], outputs: [centered]),
            Node(name: name + "_square", opType: "Mul", inputs: [centered, centered], outputs: [square]),
            try reduceMean(square, variance, "_variance"),
            Node(name: name + "_eps", opType: "Add", inputs: [variance, epsilonName], outputs: [shifted]),
            Node(name: name + "_sqrt", opType: "Sqrt", inputs: [shifted], outputs: [deviation]),
            Node(name: name + "_normalize", opType: "Div", inputs: [centered, deviation], outputs: [normalized]),
        ]
        if bias.isEmpty {
            nodes.append(Node(name: name + "_scale", opType: "Mul", inputs: [normalized, scale], outputs: [output]))
        } else {
            let scaled = context.fresh(output + "_scaled")
            nodes.append(Node(name: name + "_scale", opType: "Mul", inputs: [normalized, scale], outputs: [scaled]))
            nodes.append(Node(name: name + "_shift", opType: "Add", inputs: [scaled, bias], outputs: [output]))
        }
        return nodes
    }
}
