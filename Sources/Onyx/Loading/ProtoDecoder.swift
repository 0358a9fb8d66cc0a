import ONNXProto

/// Caps the bytes the loader may allocate beyond what the file itself holds
/// (today: densified sparse tensors), so a tiny file cannot demand gigabytes.
struct AllocationBudget {
    var remaining: Int

    mutating func reserve(bytes: Int, what: String) throws {
        guard bytes <= remaining else {
            throw OnyxError.resourceLimit("\(what) needs \(bytes) bytes, over the loader's memory limit")
        }
        remaining -= bytes
    }
}

/// Converts protobuf-c's unpacked structs into the Swift IR.
///
/// Checks here what protobuf-c cannot: known data and attribute types,
/// payload sizes against dims, and a bound on subgraph nesting.
final class ProtoDecoder {
    let external: ExternalDataResolver
    var budget: AllocationBudget
    let maxGraphDepth: Int

    init(external: ExternalDataResolver, memoryLimit: Int, maxGraphDepth: Int) {
        self.external = external
        self.budget = AllocationBudget(remaining: memoryLimit)
        self.maxGraphDepth = maxGraphDepth
    }

    // MARK: - C helpers

    func cString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        return String(cString: pointer)
    }

    func strings(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String] {
        guard let pointer else { return [] }
        return (0..<count).map { cString(pointer[$0]) }
    }

    func messages<T>(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) -> [UnsafeMutablePointer<T>] {
        guard let pointer else { return [] }
        return (0..<count).compactMap { pointer[$0] }
    }

    func stringPairs(_ count: Int, _ pointer: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__StringStringEntryProto>?>?) -> [StringPair] {
        messages(count, pointer).map { StringPair(key: cString($0.pointee.key), value: cString($0.pointee.value)) }
    }

    func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let base = data.data else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: data.len))
    }

    // MARK: - Model

    func decodeModel(_ proto: UnsafeMutablePointer<Onnx__ModelProto>) throws -> Model {
        let p = proto.pointee
        guard (p.has_ir_version != 0), p.ir_version > 0 else {
            throw OnyxError.invalidModel("model has no ir_version")
        }
        guard let graphProto = p.graph else {
            throw OnyxError.invalidModel("model has no graph")
        }
        let opsets = messages(p.n_opset_import, p.opset_import).map(decodeOpset)
        let graph = try decodeGraph(graphProto, depth: 0)
        let functions = try messages(p.n_functions, p.functions).map(decodeFunction)
        return Model(
            irVersion: Int(p.ir_version), opsetImports: opsets, producerName: cString(p.producer_name),
            producerVersion: cString(p.producer_version), domain: cString(p.domain),
            modelVersion: Int(p.model_version), docString: cString(p.doc_string), graph: graph,
            functions: functions, metadata: stringPairs(p.n_metadata_props, p.metadata_props))
    }

    func decodeOpset(_ proto: UnsafeMutablePointer<Onnx__OperatorSetIdProto>) -> OpsetImport {
        OpsetImport(domain: cString(proto.pointee.domain), version: Int(proto.pointee.version))
    }

    func decodeFunction(_ proto: UnsafeMutablePointer<Onnx__FunctionProto>) throws -> Function {
        let p = proto.pointee
        let name = cString(p.name)
        do {
            return Function(
                name: name, domain: cString(p.domain), overload: cString(p.overload),
                inputs: strings(p.n_input, p.input), outputs: strings(p.n_output, p.output),
                attributeNames: strings(p.n_attribute, p.attribute),
                attributeDefaults: try messages(p.n_attribute_proto, p.attribute_proto).map { try decodeAttribute($0, depth: 0) },
                nodes: try messages(p.n_node, p.node).map { try decodeNode($0, depth: 0) },
                opsetImports: messages(p.n_opset_import, p.opset_import).map(decodeOpset),
                valueInfo: try messages(p.n_value_info, p.value_info).map(decodeValueInfo),
                docString: cString(p.doc_string), metadata: stringPairs(p.n_metadata_props, p.metadata_props))
        } catch let error as OnyxError {
            var error = error
            error.message = "function \"\(name)\": " + error.message
            throw error
        }
    }

    // MARK: - Graph

    func decodeGraph(_ proto: UnsafeMutablePointer<Onnx__GraphProto>, depth: Int) throws -> Graph {
        guard depth <= maxGraphDepth else {
            throw OnyxError.resourceLimit("subgraphs nest deeper than \(maxGraphDepth) levels")
        }
        let p = proto.pointee
        var graph = Graph(name: cString(p.name), docString: cString(p.doc_string))
        graph.metadata = stringPairs(p.n_metadata_props, p.metadata_props)
        for initializer in messages(p.n_initializer, p.initializer) {
            let name = cString(initializer.pointee.name)
            guard !name.isEmpty else { throw OnyxError.invalidModel("graph \"\(graph.name)\" has an unnamed initializer") }
            guard graph.constants[name] == nil else {
                throw OnyxError.invalidModel("initializer \"\(name)\" is defined more than once")
            }
            graph.constants[name] = try decodeTensor(initializer)
        }
        for sparse in messages(p.n_sparse_initializer, p.sparse_initializer) {
            let name = sparse.pointee.values.map { cString($0.pointee.name) } ?? ""
            guard !name.isEmpty else { throw OnyxError.invalidModel("graph \"\(graph.name)\" has an unnamed sparse initializer") }
            guard graph.constants[name] == nil else {
                throw OnyxError.invalidModel("initializer \"\(name)\" is defined more than once")
            }
            do {
                graph.constants[name] = try densify(try decodeSparse(sparse))
            } catch let error as OnyxError {
                throw error.forValue(name)
            }
        }
        graph.inputs = try messages(p.n_input, p.input).map(decodeValueInfo)
        graph.outputs = try messages(p.n_output, p.output).map(decodeValueInfo)
        graph.valueInfo = try messages(p.n_value_info, p.value_info).map(decodeValueInfo)
        graph.nodes = try messages(p.n_node, p.node).map { try decodeNode($0, depth: depth) }
        return graph
    }

    func decodeNode(_ proto: UnsafeMutablePointer<Onnx__NodeProto>, depth: Int) throws -> Node {
        let p = proto.pointee
        var node = Node(
            name: cString(p.name), opType: cString(p.op_type), domain: cString(p.domain),
            overload: cString(p.overload), inputs: strings(p.n_input, p.input),
            outputs: strings(p.n_output, p.output), docString: cString(p.doc_string),
            metadata: stringPairs(p.n_metadata_props, p.metadata_props))
        let context = OnyxError.NodeContext(name: node.name, opType: node.opType, domain: node.domain)
        guard !node.opType.isEmpty else {
            throw OnyxError.invalidModel("node has no op_type").atNode(context)
        }
        do {
            node.attributes = try messages(p.n_attribute, p.attribute).map { try decodeAttribute($0, depth: depth) }
        } catch let error as OnyxError {
            throw error.atNode(context)
        }
        var seen = Set<String>()
        for attribute in node.attributes where !seen.insert(attribute.name).inserted {
            throw OnyxError.invalidModel("attribute \"\(attribute.name)\" appears more than once").atNode(context)
        }
        return node
    }

    func decodeValueInfo(_ proto: UnsafeMutablePointer<Onnx__ValueInfoProto>) throws -> ValueInfo {
        let p = proto.pointee
        let name = cString(p.name)
        do {
            return ValueInfo(
                name: name, type: try p.type.flatMap { try decodeType($0, depth: 0) },
                docString: cString(p.doc_string), denotation: p.type.map { cString($0.pointee.denotation) } ?? "",
                metadata: stringPairs(p.n_metadata_props, p.metadata_props))
        } catch let error as OnyxError {
            throw error.forValue(name)
        }
    }

    // MARK: - Types

    func elementType(_ raw: Int32, what: String) throws -> ElementType? {
        if raw == 0 { return nil }
        guard let type = ElementType(rawValue: raw) else {
            throw OnyxError.invalidModel("\(what) has unknown data type \(raw)")
        }
        return type
    }

    func decodeShape(_ proto: UnsafeMutablePointer<Onnx__TensorShapeProto>?) throws -> [Dim]? {
        guard let proto else { return nil }
        return try messages(proto.pointee.n_dim, proto.pointee.dim).map { dim -> Dim in
            switch dim.pointee.value_case {
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE:
                let value = dim.pointee.dim_value
                guard value >= 0 else { throw OnyxError.invalidModel("shape has negative dimension \(value)") }
                return .known(Int(value))
            case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM:
                let name = cString(dim.pointee.dim_param)
                return name.isEmpty ? .unknown : .symbolic(name)
            default:
                return .unknown
            }
        }
    }

    func decodeType(_ proto: UnsafeMutablePointer<Onnx__TypeProto>, depth: Int) throws -> ValueType? {
        guard depth < 64 else { throw OnyxError.resourceLimit("type nests deeper than 64 levels") }
        let p = proto.pointee
        switch p.value_case {
        case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
            guard let tensor = p.tensor_type else { return nil }
            return .tensor(
                elementType: try elementType(tensor.pointee.elem_type, what: "tensor type"),
                shape: try decodeShape(tensor.pointee.shape))
        case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
            guard let tensor = p.sparse_tensor_type else { return nil }
            return .sparseTensor(
                elementType: try elementType(tensor.pointee.elem_type, what: "sparse tensor type"),
                shape: try decodeShape(tensor.pointee.shape))
        case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE:
            return .sequence(try p.sequence_type?.pointee.elem_type.flatMap { try decodeType($0, depth: depth + 1) })
        case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE:
            return .optional(try p.optional_type?.pointee.elem_type.flatMap { try decodeType($0, depth: depth + 1) })
        case ONNX__TYPE_PROTO__VALUE_MAP_TYPE:
            guard let map = p.map_type else { return nil }
            return .map(
                key: try elementType(map.pointee.key_type, what: "map key type"),
                value: try map.pointee.value_type.flatMap { try decodeType($0, depth: depth + 1) })
        default:
            return nil
        }
    }

    func decodeSparse(_ proto: UnsafeMutablePointer<Onnx__SparseTensorProto>) throws -> SparseTensor {
        let p = proto.pointee
        guard let values = p.values, let indices = p.indices else {
            throw OnyxError.invalidModel("sparse tensor lacks values or indices")
        }
        var shape: [Int] = []
        for index in 0..<p.n_dims {
            guard p.dims[index] >= 0 else { throw OnyxError.invalidModel("sparse tensor has negative dimension \(p.dims[index])") }
            shape.append(Int(p.dims[index]))
        }
        _ = try Tensor.checkedCount(shape)
        return SparseTensor(shape: shape, values: try decodeTensor(values), indices: try decodeTensor(indices))
    }
}
