import ONNXProto

extension ProtoDecoder {
    /// Decodes one attribute. The declared `type` must agree with the field
    /// that carries the value; files from IR version 1 omit `type`, so it is
    /// then inferred from the one field that is set.
    func decodeAttribute(_ proto: UnsafeMutablePointer<Onnx__AttributeProto>, depth: Int) throws -> Attribute {
        let p = proto.pointee
        let name = cString(p.name)
        guard !name.isEmpty else { throw OnyxError.invalidModel("attribute has no name") }
        let reference = p.ref_attr_name.map { String(cString: $0) }
        var kind = (p.has_type != 0) ? p.type : 0
        if kind == 0 {
            kind = inferredKind(p)
            if kind == 0 {
                if reference != nil { return Attribute(name: name, value: nil, reference: reference, docString: cString(p.doc_string)) }
                throw OnyxError.invalidModel("attribute \"\(name)\" has no type and no value")
            }
        }
        let value: AttributeValue
        do {
            value = try decodeValue(p, kind: kind, depth: depth)
        } catch let error as OnyxError {
            var error = error
            error.message = "attribute \"\(name)\": " + error.message
            throw error
        }
        return Attribute(name: name, value: value, reference: reference, docString: cString(p.doc_string))
    }

    /// The attribute type a typeless (IR v1) attribute must have, or 0 when
    /// no single field is set.
    private func inferredKind(_ p: Onnx__AttributeProto) -> Int32 {
        var kinds: [Int32] = []
        if (p.has_f != 0) { kinds.append(1) }
        if (p.has_i != 0) { kinds.append(2) }
        if (p.has_s != 0) { kinds.append(3) }
        if p.t != nil { kinds.append(4) }
        if p.g != nil { kinds.append(5) }
        if p.sparse_tensor != nil { kinds.append(11) }
        if p.tp != nil { kinds.append(13) }
        if p.n_floats > 0 { kinds.append(6) }
        if p.n_ints > 0 { kinds.append(7) }
        if p.n_strings > 0 { kinds.append(8) }
        if p.n_tensors > 0 { kinds.append(9) }
        if p.n_graphs > 0 { kinds.append(10) }
        if p.n_sparse_tensors > 0 { kinds.append(12) }
        if p.n_type_protos > 0 { kinds.append(14) }
        return kinds.count == 1 ? kinds[0] : 0
    }

    private func decodeValue(_ p: Onnx__AttributeProto, kind: Int32, depth: Int) throws -> AttributeValue {
        func graph(_ g: UnsafeMutablePointer<Onnx__GraphProto>) throws -> Graph {
            try decodeGraph(g, depth: depth + 1)
        }
        switch kind {
        case 1: return .float(p.f)
        case 2: return .int(p.i)
        case 3: return .string(bytes(p.s))
        case 4:
            guard let t = p.t else { throw OnyxError.invalidModel("type TENSOR but no tensor") }
            return .tensor(try decodeTensor(t))
        case 5:
            guard let g = p.g else { throw OnyxError.invalidModel("type GRAPH but no graph") }
            return .graph(try graph(g))
        case 11:
            guard let s = p.sparse_tensor else { throw OnyxError.invalidModel("type SPARSE_TENSOR but no sparse tensor") }
            return .sparseTensor(try decodeSparse(s))
        case 13:
            guard let tp = p.tp else { throw OnyxError.invalidModel("type TYPE_PROTO but no type") }
            return .type(try decodeType(tp, depth: 0))
        case 6:
            return .floats(p.n_floats > 0 ? Array(UnsafeBufferPointer(start: p.floats, count: p.n_floats)) : [])
        case 7:
            return .ints(p.n_ints > 0 ? Array(UnsafeBufferPointer(start: p.ints, count: p.n_ints)) : [])
        case 8:
            return .strings(p.n_strings > 0 ? (0..<p.n_strings).map { bytes(p.strings[$0]) } : [])
        case 9:
            return .tensors(try messages(p.n_tensors, p.tensors).map { try decodeTensor($0) })
        case 10:
            return .graphs(try messages(p.n_graphs, p.graphs).map(graph))
        case 12:
            return .sparseTensors(try messages(p.n_sparse_tensors, p.sparse_tensors).map(decodeSparse))
        case 14:
            return .types(try messages(p.n_type_protos, p.type_protos).map { try decodeType($0, depth: 0) })
        default:
            throw OnyxError.invalidModel("unknown attribute type \(kind)")
        }
    }
}
