/// `fuse-matmul-add`: `Add(MatMul(A, B), c)` with a constant 2-D float B
/// and a constant bias `c` along the last axis becomes one
/// `ai.onyx::FusedMatMul(A, B, bias)` node (the bias added in the GEMM's
/// epilogue), keeping the Add's output name and the MatMul's node name.
///
/// Guards (each refusal is a decline with its reason):
/// - opset ≥ 7 (older Adds broadcast by attributes);
/// - B is a constant float initializer (not overridable) of rank 2, `[K, N]`;
/// - the Add's other operand (either side) is a constant float initializer
///   with one value, or shape `[N]` / `[1, …, 1, N]`; a bias of rank ≥ 2
///   needs the MatMul output's rank known and at least the bias's (so the
///   Add neither broadcasts along another axis nor grows the output);
/// - the MatMul's output has the Add as its only reader, is not a graph
///   output and is not read by a subgraph.
public struct FuseMatMulAddPass: GraphPass {
    public let name = "fuse-matmul-add"

    public init() {}

    public func rewrite(_ graph: inout Graph, _ context: inout PassContext) throws -> Rewrite? {
        let index = GraphIndex(graph, context)
        var facts: ValueFacts?
        for (nodeIndex, node) in graph.nodes.enumerated() where node.isOp("Add") && node.inputs.count == 2 {
            guard let productSlot = [0, 1].first(where: { index.producingNode(node.inputs[$0])?.node.isOp("MatMul") == true }),
                  let (matMulIndex, matMul) = index.producingNode(node.inputs[productSlot]), matMul.inputs.count == 2,
                  node.outputs.count == 1, !node.outputs[0].isEmpty
            else { continue }
            let biasInput = node.inputs[1 - productSlot]
            do {
                try require(context.opset() >= 7, "opset \(context.opset()) uses legacy broadcasting")
                guard let weight = index.constant(matMul.inputs[1]), weight.elementType == .float, weight.shape.count == 2 else {
                    throw GuardFailure("MatMul B \"\(matMul.inputs[1])\" is not a constant 2-D float initializer")
                }
                guard let constant = index.constant(biasInput), constant.elementType == .float else {
                    throw GuardFailure("the Add's other operand \"\(biasInput)\" is not a constant float initializer")
                }
                let columns = weight.shape[1]
                let shape = constant.shape
                let alongLastAxis = shape.dropLast().allSatisfy { $0 == 1 } && (constant.count == 1 || shape.last == columns)
                try require(alongLastAxis, "bias of shape \(shape) is not a vector along the last axis of size \(columns)")
                if shape.count >= 2 {
                    let known = facts ?? ValueFacts(graph)
                    facts = known
                    let rank = known.rank(matMul.outputs[0])
                    try require(rank.map { $0 >= shape.count } ?? false,
                                "bias of rank \(shape.count) may broadcast the MatMul output (of rank \(rank.map(String.init) ?? "unknown")) to a higher rank")
                }
                if let problem = index.soleReaderProblem(node.inputs[productSlot], consumer: nodeIndex) {
                    throw GuardFailure("MatMul output \(problem)")
                }
                let output = node.outputs[0]
                var biasName = biasInput
                if shape != [columns] {
                    let values = try constant.scalars(as: Float.self)
                    let expanded = values.count == 1 ? [Float](repeating: values[0], count: columns) : values
                    biasName = Graph.uniqueName(output + "_bias", notIn: graph.allNames().union(context.outerScope))
                    graph.constants[biasName] = try Tensor(shape: [columns], scalars: expanded)
                }
                graph.nodes[matMulIndex] = Node(
                    name: matMul.name, opType: "FusedMatMul", domain: OnyxDomain.name,
                    inputs: [matMul.inputs[0], matMul.inputs[1], biasName], outputs: [output])
                graph.nodes.remove(at: nodeIndex)
                return Rewrite(
                    "MatMul and Add fused into FusedMatMul", candidate: output,
                    detail: "\"\(matMul.name)\" + \"\(node.name)\"")
            } catch let failure as GuardFailure {
                context.decline(node, failure.reason)
            }
        }
        return nil
    }
}
