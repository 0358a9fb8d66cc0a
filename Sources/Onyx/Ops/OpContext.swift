/// What a kernel builder knows about its node when the plan is built:
/// attributes (with typed accessors that name the attribute in errors),
/// the opset, which inputs are constants, and how to compile subgraphs.
struct OpContext {
    let node: Node
    /// The opset version imported for the node's domain.
    let opset: Int
    /// Constant values of inputs known when planning (initializers), by input index.
    let constantInputs: [Tensor?]
    /// Element types of inputs where known when planning, by input index.
    let inputTypes: [ValueType?]
    /// Compiles a subgraph attribute; names of this graph are its outer scope.
    let compileSubgraph: (Graph) throws -> GraphPlan

    var inputCount: Int { node.inputs.count }
    var outputCount: Int { node.outputs.count }

    /// True when input `index` is present (not omitted with an empty name).
    func hasInput(_ index: Int) -> Bool {
        index < node.inputs.count && !node.inputs[index].isEmpty
    }

    /// True when output `index` is requested (present with a non-empty name).
    func hasOutput(_ index: Int) -> Bool {
        index < node.outputs.count && !node.outputs[index].isEmpty
    }

    // MARK: - Attributes

    func attributeValue(_ name: String) -> AttributeValue? {
        node.attribute(name)?.value
    }

    func hasAttribute(_ name: String) -> Bool { node.attribute(name)?.value != nil }

    private func mismatch(_ name: String, _ expected: String) -> OnyxError {
        OnyxError.invalidModel("attribute \"\(name)\" must be \(expected), got \(attributeValue(name)?.kindName ?? "nothing")")
    }

    func int(_ name: String) throws -> Int? {
        guard let value = attributeValue(name) else { return nil }
        guard case .int(let i) = value else { throw mismatch(name, "INT") }
        guard let converted = Int(exactly: i) else { throw mismatch(name, "a representable INT") }
        return converted
    }

    func int(_ name: String, default fallback: Int) throws -> Int { try int(name) ?? fallback }

    func float(_ name: String) throws -> Float? {
        guard let value = attributeValue(name) else { return nil }
        switch value {
        case .float(let f): return f
        case .int(let i): return Float(i)
        default: throw mismatch(name, "FLOAT")
        }
    }

    func float(_ name: String, default fallback: Float) throws -> Float { try float(name) ?? fallback }

    func string(_ name: String) throws -> String? {
        guard let value = attributeValue(name) else { return nil }
        guard case .string(let bytes) = value else { throw mismatch(name, "STRING") }
        return String(decoding: bytes, as: UTF8.self)
    }

    func string(_ name: String, default fallback: String) throws -> String { try string(name) ?? fallback }

    func ints(_ name: String) throws -> [Int]? {
        guard let value = attributeValue(name) else { return nil }
        switch value {
        case .ints(let list): return list.map { Int($0) }
        case .int(let i): return [Int(i)]
        default: throw mismatch(name, "INTS")
        }
    }

    func floats(_ name: String) throws -> [Float]? {
        guard let value = attributeValue(name) else { return nil }
        switch value {
        case .floats(let list): return list
        case .float(let f): return [f]
        default: throw mismatch(name, "FLOATS")
        }
    }

    func strings(_ name: String) throws -> [String]? {
        guard let value = attributeValue(name) else { return nil }
        switch value {
        case .strings(let list): return list.map { String(decoding: $0, as: UTF8.self) }
        case .string(let s): return [String(decoding: s, as: UTF8.self)]
        default: throw mismatch(name, "STRINGS")
        }
    }

    func tensor(_ name: String) throws -> Tensor? {
        guard let value = attributeValue(name) else { return nil }
        guard case .tensor(let tensor) = value else { throw mismatch(name, "TENSOR") }
        return tensor
    }

    func graph(_ name: String) throws -> Graph? {
        guard let value = attributeValue(name) else { return nil }
        guard case .graph(let graph) = value else { throw mismatch(name, "GRAPH") }
        return graph
    }

    /// A required graph attribute, compiled.
    func subgraph(_ name: String) throws -> GraphPlan {
        guard let graph = try graph(name) else {
            throw OnyxError.invalidModel("attribute \"\(name)\" (a graph) is required")
        }
        return try compileSubgraph(graph)
    }

    /// Fails unless `value` is one of `allowed`.
    func check(_ name: String, _ value: String, in allowed: [String]) throws {
        guard allowed.contains(value) else {
            throw OnyxError.unsupportedOperator(
                "attribute \"\(name)\" = \"\(value)\" is not one of \(allowed.joined(separator: ", "))")
        }
    }
}
