/// Matching helpers shared by the normalization fusion passes
/// (`fuse-layernorm`, `fuse-groupnorm`, `fuse-skip-layernorm`).
extension GraphIndex {
    /// The first node of the default domain with op type `opType` that reads
    /// `name`, with its index, or nil.
    func reader(of name: String, _ opType: String, where accept: (Node) -> Bool = { _ in true }) -> (index: Int, node: Node)? {
        for index in readers[name] ?? [] {
            let node = graph.nodes[index]
            if node.isOp(opType), node.outputs.count >= 1, !node.outputs[0].isEmpty, accept(node) { return (index, node) }
        }
        return nil
    }

    /// The only node reading `name`, when exactly one node reads it (in any
    /// number of slots) and it is neither a graph output nor read by a subgraph.
    func soleReader(of name: String) -> (index: Int, node: Node)? {
        guard !outputNames.contains(name), subgraphReaders[name] == nil, let reads = readers[name],
              let first = reads.first, reads.allSatisfy({ $0 == first })
        else { return nil }
        return (first, graph.nodes[first])
    }

    /// Why `name` cannot disappear in a fusion: it is a graph output, read
    /// by a subgraph, or read by nodes outside `members`; nil when private.
    func privacyProblem(_ label: String, _ name: String, members: Set<Int>) -> String? {
        if outputNames.contains(name) { return "\(label) \"\(name)\" is a graph output" }
        if subgraphReaders[name] != nil { return "\(label) \"\(name)\" is read by a subgraph" }
        let outside = (readers[name] ?? []).filter { !members.contains($0) }
        if !outside.isEmpty {
            return "\(label) \"\(name)\" has other readers (\(outside.map { "\"\(graph.nodes[$0].name)\"" }.joined(separator: ", ")))"
        }
        return nil
    }

    /// For a binary node reading `name`, the other operand when it is a
    /// constant (not overridable), with its name.
    func constantOperand(of node: Node, besides name: String) -> (name: String, tensor: Tensor)? {
        guard node.inputs.count == 2 else { return nil }
        let other = node.inputs[0] == name ? node.inputs[1] : node.inputs[1] == name ? node.inputs[0] : nil
        guard let other, other != name, let tensor = constant(other) else { return nil }
        return (other, tensor)
    }

    /// The declared dims of value `name` (graph inputs, outputs, value_info),
    /// nil when none are declared.
    func declaredDims(_ name: String) -> [Dim]? {
        for info in graph.inputs + graph.valueInfo + graph.outputs where info.name == name {
            if case .tensor(_, let shape?)? = info.type { return shape }
        }
        return nil
    }

    /// The declared shape of `name` when every dim is a known number.
    func declaredShape(_ name: String) -> [Int]? {
        guard let dims = declaredDims(name) else { return nil }
        let sizes = dims.compactMap { dim -> Int? in if case .known(let size) = dim { return size } else { return nil } }
        return sizes.count == dims.count ? sizes : nil
    }
}

enum NormPatterns {
    /// The axes a ReduceMean reduces over as written (attribute before
    /// opset 18, constant input from 18), or nil when they are not known
    /// statically. An empty list means all axes (unless noop_with_empty_axes).
    static func reduceAxes(_ node: Node, index: GraphIndex, opset: Int) -> [Int]? {
        if opset >= 18 {
            guard node.inputs.count >= 2, !node.inputs[1].isEmpty else {
                return node.intAttribute("noop_with_empty_axes", default: 0) == 0 ? [] : nil
            }
            guard let tensor = index.constant(node.inputs[1]), let values = try? tensor.int64Values() else { return nil }
            return values.map { Int(truncatingIfNeeded: $0) }
        }
        if case .ints(let axes)? = node.attribute("axes")?.value { return axes.map { Int(truncatingIfNeeded: $0) } }
        return node.attribute("axes") == nil ? [] : nil
    }

    /// The number of trailing axes `axes` covers, when they are exactly the
    /// last `k` axes of a tensor of rank `rank` (nil rank: only negative
    /// axes can be judged), or a ``GuardFailure`` saying why not.
    static func trailingCount(_ axes: [Int], rank: Int?) throws -> Int {
        try require(!axes.isEmpty, "no reduced axes")
        let normalized: [Int]
        if axes.allSatisfy({ $0 < 0 }) {
            normalized = axes.sorted()
            try require(normalized == Array((-axes.count)...(-1)), "axes \(axes) are not the trailing axes")
            if let rank { try require(axes.count <= rank, "axes \(axes) exceed rank \(rank)") }
        } else {
            guard let rank else {
                throw GuardFailure("axes \(axes) are non-negative and the rank of the input is not known")
            }
            normalized = axes.map { $0 < 0 ? $0 + rank : $0 }.sorted()
            try require(normalized == Array((rank - axes.count)..<rank), "axes \(axes) are not the trailing axes of rank \(rank)")
        }
        try require(Set(normalized).count == normalized.count, "axes \(axes) repeat")
        return axes.count
    }

    /// The shape `shape` with leading 1s dropped.
    static func trimmed(_ shape: [Int]) -> [Int] { Array(shape.drop { $0 == 1 }) }

    /// `tensor` broadcast to `shape` (unidirectionally), in its own element type.
    static func broadcast(_ tensor: Tensor, to shape: [Int]) throws -> Tensor {
        if tensor.shape == shape { return tensor }
        guard NormalizationSupport.broadcastable(tensor.shape, to: shape) else {
            throw GuardFailure("a parameter of shape \(tensor.shape) does not broadcast to \(shape)")
        }
        let values = try tensor.doubleValues()
        let count = try Tensor.checkedCount(shape)
        var out = [Double](repeating: 0, count: count)
        let strides = [Broadcast.strides(of: tensor.shape, broadcastTo: shape)]
        Broadcast.forEach(shape, strides: strides) { i, offsets in out[i] = values[offsets[0]] }
        return try Tensor.fromDoubles(out, shape: shape, as: tensor.elementType)
    }

    /// A constant of `shape` filled with `value`, in `type`.
    static func filled(_ value: Double, shape: [Int], as type: ElementType) throws -> Tensor {
        try Tensor.fromDoubles([Double](repeating: value, count: try Tensor.checkedCount(shape)), shape: shape, as: type)
    }

    /// True when every element of `tensor` equals `value`.
    static func isAll(_ tensor: Tensor, _ value: Double) -> Bool {
        guard let values = try? tensor.doubleValues() else { return false }
        return values.allSatisfy { $0 == value }
    }
}

extension Graph {
    /// Adds `tensor` as a constant under a fresh name from `base` (unused in
    /// this graph and `reserved`), or reuses `existing` when it already holds
    /// exactly that tensor. Returns the name.
    mutating func addConstant(_ tensor: Tensor, base: String, existing: String? = nil, reserved: Set<String>) -> String {
        if let existing, constants[existing] == tensor { return existing }
        let name = Graph.uniqueName(base, notIn: allNames().union(reserved))
        constants[name] = tensor
        return name
    }

    /// Removes the nodes at `indices` and puts `node` where the last of them was.
    mutating func replace(_ indices: Set<Int>, with node: Node) {
        guard let last = indices.max() else { return }
        nodes[last] = node
        for index in indices.sorted(by: >) where index != last { nodes.remove(at: index) }
    }
}
