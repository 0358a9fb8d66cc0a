/// Who produces and who reads each value of one graph, built fresh for each
/// scan of a pass (rewrites invalidate it).
///
/// A value counts as read when a node lists it as an input, when a subgraph
/// of a node reads it from the enclosing scope, or when it is a graph output.
///
/// An initializer is a constant unless a graph input of the same name lets
/// a caller override it. Models of IR version < 4 had to list every
/// initializer as an input, so there (as in onnxruntime) initializers are
/// constants regardless.
struct GraphIndex {
    let graph: Graph
    /// The node index that produces each value.
    private(set) var producer: [String: Int] = [:]
    /// Node indices reading each value as an input, once per input slot.
    private(set) var readers: [String: [Int]] = [:]
    /// Node indices whose subgraphs read each value from this scope.
    private(set) var subgraphReaders: [String: [Int]] = [:]
    let outputNames: Set<String>
    let inputNames: Set<String>
    /// Graph inputs that make an initializer of the same name overridable.
    let overridable: Set<String>

    init(_ graph: Graph, _ context: PassContext) {
        self.graph = graph
        outputNames = Set(graph.outputs.map(\.name))
        inputNames = Set(graph.inputs.map(\.name))
        overridable = context.initializersAreConstant ? [] : inputNames
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty { producer[output] = index }
            for input in node.inputs where !input.isEmpty { readers[input, default: []].append(index) }
            for subgraph in node.subgraphs {
                for name in GraphValidation.freeVariables(of: subgraph) {
                    subgraphReaders[name, default: []].append(index)
                }
            }
        }
    }

    /// How many times `name` is read: input slots, subgraph captures and graph outputs.
    func useCount(_ name: String) -> Int {
        (readers[name]?.count ?? 0) + (subgraphReaders[name]?.count ?? 0) + (outputNames.contains(name) ? 1 : 0)
    }

    /// True when nothing reads `name`.
    func isUnused(_ name: String) -> Bool { useCount(name) == 0 }

    /// Why `name` (the output of a producer about to be absorbed) cannot
    /// be rewired to disappear, or nil when `consumer` is its only reader.
    func soleReaderProblem(_ name: String, consumer: Int) -> String? {
        if outputNames.contains(name) { return "\"\(name)\" is a graph output" }
        if subgraphReaders[name] != nil { return "\"\(name)\" is read by a subgraph" }
        let reads = readers[name] ?? []
        if reads.count != 1 || reads.first != consumer {
            return "\"\(name)\" has \(reads.count) readers, not only this node"
        }
        return nil
    }

    /// The value of initializer `name`, unless a graph input of the same
    /// name lets a caller override it.
    func constant(_ name: String) -> Tensor? {
        guard !name.isEmpty, !overridable.contains(name) else { return nil }
        return graph.constants[name]
    }

    /// The node producing `name`, with its index.
    func producingNode(_ name: String) -> (index: Int, node: Node)? {
        guard let index = producer[name] else { return nil }
        return (index, graph.nodes[index])
    }

    /// True when initializer `name` is read only by node `index` (once) and
    /// may be replaced in place.
    func isPrivateConstant(_ name: String, of index: Int) -> Bool {
        constant(name) != nil && !outputNames.contains(name) && subgraphReaders[name] == nil
            && (readers[name] ?? []) == [index]
    }
}

extension Graph {
    /// Every value name defined in this graph and its subgraphs.
    func allNames() -> Set<String> {
        var names = Set(inputs.map(\.name)).union(constants.keys).union(outputs.map(\.name))
        forEachNode { node, _ in
            names.formUnion(node.outputs)
            names.formUnion(node.inputs)
        }
        return names
    }

    /// `base`, or `base_N` with the smallest N, whichever `used` lacks.
    static func uniqueName(_ base: String, notIn used: Set<String>) -> String {
        if !used.contains(base) { return base }
        var counter = 1
        while used.contains("\(base)_\(counter)") { counter += 1 }
        return "\(base)_\(counter)"
    }

    /// Replaces every input `old` of this graph's own nodes with `new`.
    mutating func renameReads(of old: String, to new: String) {
        for index in nodes.indices {
            for slot in nodes[index].inputs.indices where nodes[index].inputs[slot] == old {
                nodes[index].inputs[slot] = new
            }
        }
    }
}

extension Tensor {
    /// True for the float element types passes fold numerically.
    var isFoldableFloat: Bool {
        elementType == .float || elementType == .double || elementType == .float16
    }
}
