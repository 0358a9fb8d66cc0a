import Foundation
import ONNXProto

/// Builds protobuf-c structs from the IR for packing.
///
/// Every struct, array and string lives in C memory this encoder owns and
/// frees on deinit; tensor payloads are not copied: `raw_data` points into
/// the tensors' own buffers, which the encoder retains while it lives.
final class ProtoEncoder {
    private var allocations: [UnsafeMutableRawPointer] = []
    private var retained: [TensorBuffer] = []

    deinit {
        for pointer in allocations { free(pointer) }
    }

    // MARK: - C memory

    private func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride) ?? UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    private func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(string.utf8)
        let pointer = allocate(CChar.self, count: utf8.count + 1)
        for (index, byte) in utf8.enumerated() { pointer[index] = CChar(bitPattern: byte) }
        pointer[utf8.count] = 0
        return pointer
    }

    /// nil for "" so that empty optional strings are omitted.
    private func optionalString(_ string: String) -> UnsafeMutablePointer<CChar>? {
        string.isEmpty ? nil : cString(string)
    }

    private func stringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        guard !strings.isEmpty else { return nil }
        let array = allocate(UnsafeMutablePointer<CChar>?.self, count: strings.count)
        for (index, string) in strings.enumerated() { array[index] = cString(string) }
        return array
    }

    private func messageArray<T, Item>(_ items: [Item], _ make: (Item) throws -> UnsafeMutablePointer<T>) rethrows
        -> UnsafeMutablePointer<UnsafeMutablePointer<T>?>?
    {
        guard !items.isEmpty else { return nil }
        let array = allocate(UnsafeMutablePointer<T>?.self, count: items.count)
        for (index, item) in items.enumerated() { array[index] = try make(item) }
        return array
    }

    private func values<T>(_ items: [T]) -> UnsafeMutablePointer<T>? {
        guard !items.isEmpty else { return nil }
        let array = allocate(T.self, count: items.count)
        for (index, item) in items.enumerated() { array[index] = item }
        return array
    }

    private func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        guard !bytes.isEmpty else { return ProtobufCBinaryData(len: 0, data: nil) }
        let pointer = allocate(UInt8.self, count: bytes.count)
        pointer.update(from: bytes, count: bytes.count)
        return ProtobufCBinaryData(len: bytes.count, data: pointer)
    }

    private func stringPairs(_ pairs: [StringPair]) -> UnsafeMutablePointer<UnsafeMutablePointer<Onnx__StringStringEntryProto>?>? {
        messageArray(pairs) { pair in
            let entry = allocate(Onnx__StringStringEntryProto.self)
            onnx__string_string_entry_proto__init(entry)
            entry.pointee.key = cString(pair.key)
            entry.pointee.value = cString(pair.value)
            return entry
        }
    }

    private func opsets(_ imports: [OpsetImport]) -> UnsafeMutablePointer<UnsafeMutablePointer<Onnx__OperatorSetIdProto>?>? {
        messageArray(imports) { opset in
            let entry = allocate(Onnx__OperatorSetIdProto.self)
            onnx__operator_set_id_proto__init(entry)
            entry.pointee.domain = cString(opset.domain)
            entry.pointee.has_version = 1
            entry.pointee.version = Int64(opset.version)
            return entry
        }
    }

    // MARK: - Messages

    func encodeModel(_ model: Model) throws -> UnsafeMutablePointer<Onnx__ModelProto> {
        let proto = allocate(Onnx__ModelProto.self)
        onnx__model_proto__init(proto)
        proto.pointee.has_ir_version = 1
        proto.pointee.ir_version = Int64(model.irVersion)
        proto.pointee.n_opset_import = model.opsetImports.count
        proto.pointee.opset_import = opsets(model.opsetImports)
        proto.pointee.producer_name = optionalString(model.producerName)
        proto.pointee.producer_version = optionalString(model.producerVersion)
        proto.pointee.domain = optionalString(model.domain)
        if model.modelVersion != 0 {
            proto.pointee.has_model_version = 1
            proto.pointee.model_version = Int64(model.modelVersion)
        }
        proto.pointee.doc_string = optionalString(model.docString)
        proto.pointee.graph = try encodeGraph(model.graph)
        proto.pointee.n_metadata_props = model.metadata.count
        proto.pointee.metadata_props = stringPairs(model.metadata)
        proto.pointee.n_functions = model.functions.count
        proto.pointee.functions = try messageArray(model.functions, encodeFunction)
        return proto
    }

    func encodeFunction(_ function: Function) throws -> UnsafeMutablePointer<Onnx__FunctionProto> {
        let proto = allocate(Onnx__FunctionProto.self)
        onnx__function_proto__init(proto)
        proto.pointee.name = cString(function.name)
        proto.pointee.domain = cString(function.domain)
        proto.pointee.overload = optionalString(function.overload)
        proto.pointee.n_input = function.inputs.count
        proto.pointee.input = stringArray(function.inputs)
        proto.pointee.n_output = function.outputs.count
        proto.pointee.output = stringArray(function.outputs)
        proto.pointee.n_attribute = function.attributeNames.count
        proto.pointee.attribute = stringArray(function.attributeNames)
        proto.pointee.n_attribute_proto = function.attributeDefaults.count
        proto.pointee.attribute_proto = try messageArray(function.attributeDefaults, encodeAttribute)
        proto.pointee.n_node = function.nodes.count
        proto.pointee.node = try messageArray(function.nodes, encodeNode)
        proto.pointee.doc_string = optionalString(function.docString)
        proto.pointee.n_opset_import = function.opsetImports.count
        proto.pointee.opset_import = opsets(function.opsetImports)
        proto.pointee.n_value_info = function.valueInfo.count
        proto.pointee.value_info = messageArray(function.valueInfo, encodeValueInfo)
        proto.pointee.n_metadata_props = function.metadata.count
        proto.pointee.metadata_props = stringPairs(function.metadata)
        return proto
    }

    func encodeGraph(_ graph: Graph) throws -> UnsafeMutablePointer<Onnx__GraphProto> {
        let proto = allocate(Onnx__GraphProto.self)
        onnx__graph_proto__init(proto)
        proto.pointee.name = optionalString(graph.name)
        proto.pointee.doc_string = optionalString(graph.docString)
        proto.pointee.n_node = graph.nodes.count
        proto.pointee.node = try messageArray(graph.nodes, encodeNode)
        let constants = Array(graph.constants)
        proto.pointee.n_initializer = constants.count
        proto.pointee.initializer = messageArray(constants) { encodeTensor($0.value, name: $0.key) }
        proto.pointee.n_input = graph.inputs.count
        proto.pointee.input = messageArray(graph.inputs, encodeValueInfo)
        proto.pointee.n_output = graph.outputs.count
        proto.pointee.output = messageArray(graph.outputs, encodeValueInfo)
        proto.pointee.n_value_info = graph.valueInfo.count
        proto.pointee.value_info = messageArray(graph.valueInfo, encodeValueInfo)
        proto.pointee.n_metadata_props = graph.metadata.count
        proto.pointee.metadata_props = stringPairs(graph.metadata)
        return proto
    }

    func encodeNode(_ node: Node) throws -> UnsafeMutablePointer<Onnx__NodeProto> {
        let proto = allocate(Onnx__NodeProto.self)
        onnx__node_proto__init(proto)
        proto.pointee.n_input = node.inputs.count
        proto.pointee.input = stringArray(node.inputs)
        proto.pointee.n_output = node.outputs.count
        proto.pointee.output = stringArray(node.outputs)
        proto.pointee.name = optionalString(node.name)
        proto.pointee.op_type = cString(node.opType)
        proto.pointee.domain = optionalString(node.domain)
        proto.pointee.overload = optionalString(node.overload)
        proto.pointee.n_attribute = node.attributes.count
        proto.pointee.attribute = try messageArray(node.attributes, encodeAttribute)
        proto.pointee.doc_string = optionalString(node.docString)
        proto.pointee.n_metadata_props = node.metadata.count
        proto.pointee.metadata_props = stringPairs(node.metadata)
        return proto
    }

    func encodeValueInfo(_ info: ValueInfo) -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
        let proto = allocate(Onnx__ValueInfoProto.self)
        onnx__value_info_proto__init(proto)
        proto.pointee.name = cString(info.name)
        if let type = info.type {
            let typeProto = encodeType(type)
            typeProto.pointee.denotation = optionalString(info.denotation)
            proto.pointee.type = typeProto
        }
        proto.pointee.doc_string = optionalString(info.docString)
        proto.pointee.n_metadata_props = info.metadata.count
        proto.pointee.metadata_props = stringPairs(info.metadata)
        return proto
    }

    private func encodeShape(_ shape: [Dim]?) -> UnsafeMutablePointer<Onnx__TensorShapeProto>? {
        guard let shape else { return nil }
        let proto = allocate(Onnx__TensorShapeProto.self)
        onnx__tensor_shape_proto__init(proto)
        proto.pointee.n_dim = shape.count
        proto.pointee.dim = messageArray(shape) { dim in
            let entry = allocate(Onnx__TensorShapeProto__Dimension.self)
            onnx__tensor_shape_proto__dimension__init(entry)
            switch dim {
            case .known(let size):
                entry.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                entry.pointee.dim_value = Int64(size)
            case .symbolic(let name):
                entry.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                entry.pointee.dim_param = cString(name)
            case .unknown:
                break
            }
            return entry
        }
        return proto
    }

    func encodeType(_ type: ValueType) -> UnsafeMutablePointer<Onnx__TypeProto> {
        let proto = allocate(Onnx__TypeProto.self)
        onnx__type_proto__init(proto)
        switch type {
        case .tensor(let elementType, let shape):
            let tensor = allocate(Onnx__TypeProto__Tensor.self)
            onnx__type_proto__tensor__init(tensor)
            if let elementType {
                tensor.pointee.has_elem_type = 1
                tensor.pointee.elem_type = elementType.rawValue
            }
            tensor.pointee.shape = encodeShape(shape)
            proto.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            proto.pointee.tensor_type = tensor
        case .sparseTensor(let elementType, let shape):
            let tensor = allocate(Onnx__TypeProto__SparseTensor.self)
            onnx__type_proto__sparse_tensor__init(tensor)
            if let elementType {
                tensor.pointee.has_elem_type = 1
                tensor.pointee.elem_type = elementType.rawValue
            }
            tensor.pointee.shape = encodeShape(shape)
            proto.pointee.value_case = ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE
            proto.pointee.sparse_tensor_type = tensor
        case .sequence(let inner):
            let sequence = allocate(Onnx__TypeProto__Sequence.self)
            onnx__type_proto__sequence__init(sequence)
            sequence.pointee.elem_type = inner.map(encodeType)
            proto.pointee.value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE
            proto.pointee.sequence_type = sequence
        case .optional(let inner):
            let optional = allocate(Onnx__TypeProto__Optional.self)
            onnx__type_proto__optional__init(optional)
            optional.pointee.elem_type = inner.map(encodeType)
            proto.pointee.value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
            proto.pointee.optional_type = optional
        case .map(let key, let value):
            let map = allocate(Onnx__TypeProto__Map.self)
            onnx__type_proto__map__init(map)
            if let key {
                map.pointee.has_key_type = 1
                map.pointee.key_type = key.rawValue
            }
            map.pointee.value_type = value.map(encodeType)
            proto.pointee.value_case = ONNX__TYPE_PROTO__VALUE_MAP_TYPE
            proto.pointee.map_type = map
        }
        return proto
    }

    /// Numeric payloads go out as `raw_data` pointing at the tensor's buffer.
    func encodeTensor(_ tensor: Tensor, name: String) -> UnsafeMutablePointer<Onnx__TensorProto> {
        let proto = allocate(Onnx__TensorProto.self)
        onnx__tensor_proto__init(proto)
        proto.pointee.name = optionalString(name)
        proto.pointee.n_dims = tensor.shape.count
        proto.pointee.dims = values(tensor.shape.map { Int64($0) })
        proto.pointee.has_data_type = 1
        proto.pointee.data_type = tensor.elementType.rawValue
        switch tensor.storage {
        case .strings(let strings):
            proto.pointee.n_string_data = strings.count
            proto.pointee.string_data = values(strings.map(binary))
        case .bytes(let buffer):
            retained.append(buffer)
            proto.pointee.has_raw_data = 1
            proto.pointee.raw_data = ProtobufCBinaryData(
                len: buffer.byteCount, data: buffer.baseAddress?.assumingMemoryBound(to: UInt8.self))
        }
        return proto
    }

    private func encodeSparse(_ sparse: SparseTensor) -> UnsafeMutablePointer<Onnx__SparseTensorProto> {
        let proto = allocate(Onnx__SparseTensorProto.self)
        onnx__sparse_tensor_proto__init(proto)
        proto.pointee.values = encodeTensor(sparse.values, name: "")
        proto.pointee.indices = encodeTensor(sparse.indices, name: "")
        proto.pointee.n_dims = sparse.shape.count
        proto.pointee.dims = values(sparse.shape.map { Int64($0) })
        return proto
    }

    func encodeAttribute(_ attribute: Attribute) throws -> UnsafeMutablePointer<Onnx__AttributeProto> {
        let proto = allocate(Onnx__AttributeProto.self)
        onnx__attribute_proto__init(proto)
        proto.pointee.name = cString(attribute.name)
        proto.pointee.ref_attr_name = attribute.reference.map(cString)
        proto.pointee.doc_string = optionalString(attribute.docString)
        guard let value = attribute.value else { return proto }
        proto.pointee.has_type = 1
        switch value {
        case .float(let f):
            proto.pointee.type = 1; proto.pointee.has_f = 1; proto.pointee.f = f
        case .int(let i):
            proto.pointee.type = 2; proto.pointee.has_i = 1; proto.pointee.i = i
        case .string(let s):
            proto.pointee.type = 3; proto.pointee.has_s = 1; proto.pointee.s = binary(s)
        case .tensor(let t):
            proto.pointee.type = 4; proto.pointee.t = encodeTensor(t, name: "")
        case .graph(let g):
            proto.pointee.type = 5; proto.pointee.g = try encodeGraph(g)
        case .sparseTensor(let s):
            proto.pointee.type = 11; proto.pointee.sparse_tensor = encodeSparse(s)
        case .type(let t):
            proto.pointee.type = 13
            proto.pointee.tp = t.map(encodeType) ?? emptyType()
        case .floats(let list):
            proto.pointee.type = 6; proto.pointee.n_floats = list.count; proto.pointee.floats = values(list)
        case .ints(let list):
            proto.pointee.type = 7; proto.pointee.n_ints = list.count; proto.pointee.ints = values(list)
        case .strings(let list):
            proto.pointee.type = 8; proto.pointee.n_strings = list.count; proto.pointee.strings = values(list.map(binary))
        case .tensors(let list):
            proto.pointee.type = 9; proto.pointee.n_tensors = list.count
            proto.pointee.tensors = messageArray(list) { encodeTensor($0, name: "") }
        case .graphs(let list):
            proto.pointee.type = 10; proto.pointee.n_graphs = list.count
            proto.pointee.graphs = try messageArray(list, encodeGraph)
        case .sparseTensors(let list):
            proto.pointee.type = 12; proto.pointee.n_sparse_tensors = list.count
            proto.pointee.sparse_tensors = messageArray(list, encodeSparse)
        case .types(let list):
            proto.pointee.type = 14; proto.pointee.n_type_protos = list.count
            proto.pointee.type_protos = messageArray(list) { $0.map(encodeType) ?? emptyType() }
        }
        return proto
    }

    private func emptyType() -> UnsafeMutablePointer<Onnx__TypeProto> {
        let proto = allocate(Onnx__TypeProto.self)
        onnx__type_proto__init(proto)
        return proto
    }
}
