/// Structural checks of a graph and its subgraphs, and topological sorting.
///
/// A graph is valid when every value has exactly one definition (graph
/// input, initializer or node output), every node input and graph output is
/// defined here or in an enclosing graph, and the nodes form no cycle.
/// Nodes are reordered topologically (stable: file order where free), since
/// files may list them out of order. A node's dependencies include the
/// outer-scope values its subgraphs read.
enum GraphValidation {
    /// Validates and sorts `graph` in place. `outerScope` holds the names
    /// visible from enclosing graphs.
    static func validate(_ graph: inout Graph, outerScope: Set<String> = [], depth: Int = 0, maxDepth: Int) throws {
        guard depth <= maxDepth else {
            throw OnyxError.resourceLimit("subgraphs nest deeper than \(maxDepth) levels")
        }
        var defined = Set<String>()
        for input in graph.inputs {
            guard !input.name.isEmpty else { throw OnyxError.invalidModel("graph \"\(graph.name)\" has an unnamed input") }
            guard defined.insert(input.name).inserted else {
                throw OnyxError.invalidModel("graph input is listed more than once", value: input.name)
            }
        }
        for name in graph.constants.keys { defined.insert(name) }

        var producer: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty {
                if defined.contains(output) || producer[output] != nil {
                    throw OnyxError.invalidModel("defined more than once (by a graph input, an initializer or another node)", value: output)
                        .atNode(context(node))
                }
                producer[output] = index
            }
        }

        // Everything defined in this graph, for its subgraphs' outer scope.
        let visible = outerScope.union(defined).union(producer.keys)
        var dependencies: [[Int]] = []
        dependencies.reserveCapacity(graph.nodes.count)
        for index in graph.nodes.indices {
            var node = graph.nodes[index]
            var reads = node.inputs.filter { !$0.isEmpty }
            if !node.subgraphs.isEmpty {
                for attributeIndex in node.attributes.indices {
                    switch node.attributes[attributeIndex].value {
                    case .graph(var subgraph):
                        try validateSubgraph(&subgraph, of: node, visible: visible, depth: depth, maxDepth: maxDepth)
                        reads.append(contentsOf: freeVariables(of: subgraph))
                        node.attributes[attributeIndex].value = .graph(subgraph)
                    case .graphs(var subgraphs):
                        for subIndex in subgraphs.indices {
                            try validateSubgraph(&subgraphs[subIndex], of: node, visible: visible, depth: depth, maxDepth: maxDepth)
                            reads.append(contentsOf: freeVariables(of: subgraphs[subIndex]))
                        }
                        node.attributes[attributeIndex].value = .graphs(subgraphs)
                    default: break
                    }
                }
                graph.nodes[index] = node
            }
            var edges: [Int] = []
            for name in reads {
                if let from = producer[name] {
                    if from == index {
                        throw OnyxError.invalidModel("node reads its own output (a cycle)", value: name).atNode(context(node))
                    }
                    edges.append(from)
                } else if !defined.contains(name) && !outerScope.contains(name) {
                    throw OnyxError.invalidModel("input is undefined (no graph input, initializer or node output has this name)", value: name)
                        .atNode(context(node))
                }
            }
            dependencies.append(edges)
        }

        for output in graph.outputs {
            guard !output.name.isEmpty else { throw OnyxError.invalidModel("graph \"\(graph.name)\" has an unnamed output") }
            guard producer[output.name] != nil || defined.contains(output.name) || outerScope.contains(output.name) else {
                throw OnyxError.invalidModel("graph output is undefined (nothing produces it)", value: output.name)
            }
        }

        graph.nodes = try topologicalOrder(graph.nodes, dependencies: dependencies)
    }

    private static func validateSubgraph(
        _ subgraph: inout Graph, of node: Node, visible: Set<String>, depth: Int, maxDepth: Int
    ) throws {
        do {
            try validate(&subgraph, outerScope: visible, depth: depth + 1, maxDepth: maxDepth)
        } catch let error as OnyxError {
            if error.kind == .resourceLimit { throw error }
            var wrapped = error
            if let inner = error.node {
                wrapped.message = "in subgraph of node \"\(node.name)\" (\(node.opType)): node \"\(inner.name)\" (\(inner.opType)): \(error.message)"
                wrapped.node = nil
            } else {
                wrapped.message = "in subgraph of node \"\(node.name)\" (\(node.opType)): \(error.message)"
            }
            throw wrapped
        }
    }

    /// Names a graph (with its subgraphs) reads but does not define.
    static func freeVariables(of graph: Graph) -> Set<String> {
        var defined = Set(graph.inputs.map(\.name)).union(graph.constants.keys)
        for node in graph.nodes { defined.formUnion(node.outputs) }
        var free = Set<String>()
        for node in graph.nodes {
            for input in node.inputs where !input.isEmpty && !defined.contains(input) { free.insert(input) }
            for subgraph in node.subgraphs {
                for name in freeVariables(of: subgraph) where !defined.contains(name) { free.insert(name) }
            }
        }
        for output in graph.outputs where !defined.contains(output.name) { free.insert(output.name) }
        return free
    }

    /// Kahn's algorithm, taking the lowest file index among ready nodes so an
    /// already sorted graph keeps its order.
    private static func topologicalOrder(_ nodes: [Node], dependencies: [[Int]]) throws -> [Node] {
        var pending = dependencies.map { Set($0).count }
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (index, edges) in dependencies.enumerated() {
            for from in Set(edges) { consumers[from].append(index) }
        }
        var ready = Heap<Int>()
        for index in nodes.indices where pending[index] == 0 { ready.insert(index) }
        var order: [Node] = []
        order.reserveCapacity(nodes.count)
        while let index = ready.popMin() {
            order.append(nodes[index])
            for consumer in consumers[index] {
                pending[consumer] -= 1
                if pending[consumer] == 0 { ready.insert(consumer) }
            }
        }
        guard order.count == nodes.count else {
            let stuck = nodes.indices.first { pending[$0] > 0 }.map { nodes[$0] }
            var error = OnyxError.invalidModel("the graph has a cycle")
            if let stuck { error = error.atNode(context(stuck)) }
            throw error
        }
        return order
    }

    static func context(_ node: Node) -> OnyxError.NodeContext {
        OnyxError.NodeContext(name: node.name, opType: node.opType, domain: node.domain)
    }
}

import HeapModule
