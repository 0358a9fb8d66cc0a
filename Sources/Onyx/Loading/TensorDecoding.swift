import ONNXProto

/// Turns `TensorProto`s into ``Tensor``s, checking that the payload matches
/// the dims for every storage field, and taking over protobuf-c's copy of
/// `raw_data` instead of copying it again.
extension ProtoDecoder {
    /// Decodes `proto`; `raw_data` ownership moves into the returned tensor
    /// (the proto's pointer is cleared so `free_unpacked` leaves it alone).
    func decodeTensor(_ proto: UnsafeMutablePointer<Onnx__TensorProto>) throws -> Tensor {
        let name = cString(proto.pointee.name)
        do {
            return try decodeTensorPayload(proto)
        } catch let error as OnyxError {
            throw name.isEmpty ? error : error.forValue(name)
        }
    }

    private func decodeTensorPayload(_ proto: UnsafeMutablePointer<Onnx__TensorProto>) throws -> Tensor {
        let p = proto.pointee
        guard (p.has_data_type != 0), p.data_type != 0 else {
            throw OnyxError.invalidModel("tensor has no data type")
        }
        guard let type = ElementType(rawValue: p.data_type) else {
            throw OnyxError.invalidModel("tensor has unknown data type \(p.data_type)")
        }
        guard p.segment == nil else {
            throw OnyxError.invalidModel("segmented tensors are not supported")
        }
        var shape: [Int] = []
        shape.reserveCapacity(p.n_dims)
        for index in 0..<p.n_dims {
            let dim = p.dims[index]
            guard dim >= 0 else { throw OnyxError.invalidModel("tensor has negative dimension \(dim)") }
            shape.append(Int(dim))
        }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw OnyxError.invalidModel("tensor dims \(shape) overflow int64 when multiplied")
            }
            count = product
        }

        let fieldCounts: [(String, Int)] = [
            ("float_data", p.n_float_data), ("int32_data", p.n_int32_data), ("string_data", p.n_string_data),
            ("int64_data", p.n_int64_data), ("double_data", p.n_double_data), ("uint64_data", p.n_uint64_data),
        ]
        let usedFields = fieldCounts.filter { $0.1 > 0 }.map(\.0)
        let isExternal = (p.has_data_location != 0) && p.data_location == 1
        if (p.has_data_location != 0) && p.data_location != 0 && p.data_location != 1 {
            throw OnyxError.invalidModel("tensor has unknown data_location \(p.data_location)")
        }
        let storageFields = usedFields + ((p.has_raw_data != 0) && p.raw_data.len > 0 ? ["raw_data"] : [])
            + (isExternal ? ["external_data"] : [])
        guard storageFields.count <= 1 else {
            throw OnyxError.invalidModel("tensor stores its data in more than one field (\(storageFields.joined(separator: ", ")))")
        }

        if type == .string {
            guard !isExternal, !((p.has_raw_data != 0) && p.raw_data.len > 0), usedFields.allSatisfy({ $0 == "string_data" }) else {
                throw OnyxError.invalidModel("string tensor must use string_data")
            }
            guard p.n_string_data == count else {
                throw OnyxError.invalidModel("string_data has \(p.n_string_data) elements, dims \(shape) need \(count)")
            }
            var values: [[UInt8]] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                let item = p.string_data[index]
                values.append(item.len > 0 && item.data != nil ? Array(UnsafeBufferPointer(start: item.data, count: item.len)) : [])
            }
            return try Tensor(shape: shape, stringBytes: values)
        }

        guard let byteCount = type.byteCount(forElements: count) else {
            throw OnyxError.invalidModel("tensor dims \(shape) overflow when counting bytes")
        }
        if isExternal {
            let buffer = try externalData(proto, byteCount: byteCount)
            return try Tensor(elementType: type, shape: shape, buffer: buffer)
        }
        if (p.has_raw_data != 0) && p.raw_data.len > 0 {
            guard p.raw_data.len == byteCount else {
                throw OnyxError.invalidModel(
                    "raw_data has \(p.raw_data.len) bytes, \(type) dims \(shape) need \(byteCount)")
            }
            let buffer = TensorBuffer.adoptingMalloced(UnsafeMutableRawPointer(p.raw_data.data), byteCount: byteCount)
            proto.pointee.raw_data.data = nil
            proto.pointee.raw_data.len = 0
            return try Tensor(elementType: type, shape: shape, buffer: buffer)
        }
        if usedFields.isEmpty {
            guard count == 0 else {
                throw OnyxError.invalidModel("tensor of dims \(shape) has no data")
            }
            return try Tensor(elementType: type, shape: shape, buffer: .empty)
        }
        let buffer = try typedPayload(p, type: type, count: count, byteCount: byteCount, field: usedFields[0])
        return try Tensor(elementType: type, shape: shape, buffer: buffer)
    }

    /// Copies a typed repeated field into little-endian element bytes.
    private func typedPayload(
        _ p: Onnx__TensorProto, type: ElementType, count: Int, byteCount: Int, field: String
    ) throws -> TensorBuffer {
        // Which field holds this type, and how many values it must have.
        let (wanted, need): (String, Int)
        switch type {
        case .float: (wanted, need) = ("float_data", count)
        case .complex64: (wanted, need) = ("float_data", count * 2)
        case .double: (wanted, need) = ("double_data", count)
        case .complex128: (wanted, need) = ("double_data", count * 2)
        case .int64: (wanted, need) = ("int64_data", count)
        case .uint64, .uint32: (wanted, need) = ("uint64_data", count)
        // Sub-byte kinds: each int32 value holds one byte of packed elements.
        case .int4, .uint4, .float4e2m1, .int2, .uint2: (wanted, need) = ("int32_data", byteCount)
        case .string: (wanted, need) = ("string_data", count)
        default: (wanted, need) = ("int32_data", count)
        }
        let have = [
            "float_data": p.n_float_data, "int32_data": p.n_int32_data, "int64_data": p.n_int64_data,
            "double_data": p.n_double_data, "uint64_data": p.n_uint64_data, "string_data": p.n_string_data,
        ][field] ?? 0
        guard field == wanted else {
            throw OnyxError.invalidModel("\(field) cannot hold \(type) elements (expected \(wanted))")
        }
        guard have == need else {
            throw OnyxError.invalidModel("\(field) has \(have) values, \(type) dims need \(need)")
        }
        let buffer = TensorBuffer.zeroed(byteCount: byteCount)
        guard let out = buffer.baseAddress else { return buffer }
        switch type {
        case .float, .complex64:
            out.copyMemory(from: p.float_data, byteCount: need * 4)
        case .double, .complex128:
            out.copyMemory(from: p.double_data, byteCount: need * 8)
        case .int64:
            out.copyMemory(from: p.int64_data, byteCount: count * 8)
        case .uint64:
            out.copyMemory(from: p.uint64_data, byteCount: count * 8)
        case .uint32:
            let target = out.assumingMemoryBound(to: UInt32.self)
            for index in 0..<count { target[index] = UInt32(truncatingIfNeeded: p.uint64_data[index]) }
        case .int32:
            out.copyMemory(from: p.int32_data, byteCount: count * 4)
        case .int16, .uint16, .float16, .bfloat16:
            let target = out.assumingMemoryBound(to: UInt16.self)
            for index in 0..<count { target[index] = UInt16(truncatingIfNeeded: p.int32_data[index]) }
        case .int8, .uint8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            let target = out.assumingMemoryBound(to: UInt8.self)
            for index in 0..<count { target[index] = UInt8(truncatingIfNeeded: p.int32_data[index]) }
        case .int4, .uint4, .float4e2m1, .int2, .uint2:
            // Sub-byte kinds: each int32 value holds one byte of packed elements.
            let target = out.assumingMemoryBound(to: UInt8.self)
            for index in 0..<byteCount { target[index] = UInt8(truncatingIfNeeded: p.int32_data[index]) }
        case .string:
            throw OnyxError.invalidModel("string tensor must use string_data")
        }
        return buffer
    }

    /// Densifies a sparse tensor (COO, linear or per-axis indices).
    func densify(_ sparse: SparseTensor) throws -> Tensor {
        let shape = sparse.shape
        let count = try Tensor.checkedCount(shape)
        let type = sparse.values.elementType
        guard sparse.values.shape.count == 1 else {
            throw OnyxError.invalidModel("sparse tensor values must be 1-D, got \(sparse.values.shape)")
        }
        let nnz = sparse.values.shape[0]
        guard sparse.indices.elementType == .int64 else {
            throw OnyxError.invalidModel("sparse tensor indices must be int64, got \(sparse.indices.elementType)")
        }
        let indices = try sparse.indices.scalars(as: Int64.self)
        var linear = [Int](repeating: 0, count: nnz)
        if sparse.indices.shape == [nnz] {
            for (i, index) in indices.enumerated() {
                guard index >= 0, index < count else {
                    throw OnyxError.invalidModel("sparse index \(index) out of range for dims \(shape)")
                }
                linear[i] = Int(index)
            }
        } else if sparse.indices.shape == [nnz, shape.count] {
            for i in 0..<nnz {
                var offset = 0
                for axis in 0..<shape.count {
                    let index = indices[i * shape.count + axis]
                    guard index >= 0, index < shape[axis] else {
                        throw OnyxError.invalidModel("sparse index \(index) out of range on axis \(axis) of \(shape)")
                    }
                    offset = offset * shape[axis] + Int(index)
                }
                linear[i] = offset
            }
        } else {
            throw OnyxError.invalidModel("sparse indices shape \(sparse.indices.shape) fits neither [\(nnz)] nor [\(nnz), \(shape.count)]")
        }
        if type == .string {
            var values = [[UInt8]](repeating: [], count: count)
            let source = sparse.values.stringBytes ?? []
            for (i, offset) in linear.enumerated() { values[offset] = source[i] }
            return try Tensor(shape: shape, stringBytes: values)
        }
        guard type.bitWidth % 8 == 0, let byteCount = type.byteCount(forElements: count) else {
            throw OnyxError.invalidModel("sparse tensors of \(type) are not supported")
        }
        try budget.reserve(bytes: byteCount, what: "densified sparse tensor")
        let width = type.bitWidth / 8
        let buffer = TensorBuffer.zeroed(byteCount: byteCount)
        if let out = buffer.baseAddress {
            sparse.values.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                for (i, offset) in linear.enumerated() {
                    (out + offset * width).copyMemory(from: base + i * width, byteCount: width)
                }
            }
        }
        return try Tensor(elementType: type, shape: shape, buffer: buffer)
    }
}
