/// Constant, Identity, ConstantOfShape, Shape and Size; Range, EyeLike,
/// OneHot and Trilu are in `ConstantOps+Generators.swift`.
///
/// - Constant: exactly one of `value`, `value_float(s)`, `value_int(s)`,
///   `value_string(s)` (opset 12+) or `sparse_value` (opset 11+, densified
///   when the plan is built). The tensor is made once; every run returns it.
/// - Identity: the input value (tensor, sequence or optional) unchanged, no copy.
/// - ConstantOfShape: the `value` attribute (a one-element tensor of any
///   type, default float 0) repeated over the shape given by the int64 input.
/// - Shape: the dimensions as int64; from opset 15 `start`/`end` slice them
///   (negative values count from the back, then both clamp to [0, rank]).
/// - Size: the element count as an int64 scalar.
enum ConstantOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Constant", since: 1) { try constant($0) }
        registry.register("Identity", since: 1) { _ in identity() }
        registry.register("ConstantOfShape", since: 9) { try constantOfShape($0) }
        registry.register("Shape", versions: [1, 15]) { try shape($0) }
        registry.register("Size", since: 1) { _ in size() }
        registerGenerators(into: &registry)
    }

    static let constantAttributes = [
        "value", "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings",
        "sparse_value",
    ]

    static func constant(_ context: OpContext) throws -> any Kernel {
        let present = constantAttributes.filter { context.hasAttribute($0) }
        guard present.count == 1, let name = present.first, let attribute = context.attributeValue(name) else {
            throw OnyxError.invalidModel(
                "Constant needs exactly one of \(constantAttributes.joined(separator: ", ")); got \(present)")
        }
        let tensor: Tensor
        switch (name, attribute) {
        case ("value", .tensor(let value)): tensor = value
        case ("value_float", .float(let value)): tensor = Tensor(scalar: value)
        case ("value_floats", .floats(let values)): tensor = try Tensor(shape: [values.count], scalars: values)
        case ("value_int", .int(let value)): tensor = Tensor(scalar: value)
        case ("value_ints", .ints(let values)): tensor = try Tensor(shape: [values.count], scalars: values)
        case ("value_string", .string(let bytes)): tensor = try Tensor(shape: [], stringBytes: [bytes])
        case ("value_strings", .strings(let list)): tensor = try Tensor(shape: [list.count], stringBytes: list)
        case ("sparse_value", .sparseTensor(let sparse)): tensor = try densify(sparse)
        default:
            throw OnyxError.invalidModel("Constant attribute \"\(name)\" has the wrong kind \(attribute.kindName)")
        }
        return ClosureKernel { _, _ in [.tensor(tensor)] }
    }

    /// The dense form of a COO sparse tensor (indices `[nnz]` linear or
    /// `[nnz, rank]`); unlisted elements are zero (empty for strings).
    static func densify(_ sparse: SparseTensor) throws -> Tensor {
        let shape = sparse.shape
        let count = try Tensor.checkedCount(shape)
        let values = sparse.values
        guard values.shape.count == 1 else {
            throw OnyxError.invalidModel("sparse values must be 1-D, got \(values.shape)")
        }
        let nnz = values.shape[0]
        guard sparse.indices.elementType == .int64 else {
            throw OnyxError.invalidModel("sparse indices must be int64, got \(sparse.indices.elementType)")
        }
        let indices = try sparse.indices.scalars(as: Int64.self)
        var linear = [Int](repeating: 0, count: nnz)
        if sparse.indices.shape == [nnz] {
            for (i, index) in indices.enumerated() {
                guard index >= 0, index < count else {
                    throw OnyxError.invalidModel("sparse index \(index) is out of range for shape \(shape)")
                }
                linear[i] = Int(index)
            }
        } else if sparse.indices.shape == [nnz, shape.count] {
            for i in 0..<nnz {
                var offset = 0
                for axis in shape.indices {
                    let index = indices[i * shape.count + axis]
                    guard index >= 0, index < shape[axis] else {
                        throw OnyxError.invalidModel("sparse index \(index) is out of range on axis \(axis) of \(shape)")
                    }
                    offset = offset * shape[axis] + Int(index)
                }
                linear[i] = offset
            }
        } else {
            throw OnyxError.invalidModel(
                "sparse indices of shape \(sparse.indices.shape) fit neither [\(nnz)] nor [\(nnz), \(shape.count)]")
        }
        if let strings = values.stringBytes {
            _ = try TensorAllocation.checkedBytes(.int64, count: count)
            var dense = [[UInt8]](repeating: [], count: count)
            for (i, offset) in linear.enumerated() { dense[offset] = strings[i] }
            return try Tensor(shape: shape, stringBytes: dense)
        }
        guard let width = values.elementSize else {
            throw OnyxError.unsupportedOperator("sparse tensors of \(values.elementType) are not supported")
        }
        return try Tensor.make(values.elementType, shape) { out in
            values.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                for (i, offset) in linear.enumerated() {
                    (out + offset * width).copyMemory(from: base + i * width, byteCount: width)
                }
            }
        }
    }

    static func identity() -> any Kernel {
        ClosureKernel { inputs, _ in
            guard let value = inputs.first ?? nil else { throw OnyxError.invalidModel("input 0 is required") }
            return [value]
        }
    }

    static func constantOfShape(_ context: OpContext) throws -> any Kernel {
        let value = try context.tensor("value") ?? Tensor(scalar: Float(0))
        guard value.count == 1 else {
            throw OnyxError.invalidModel("attribute \"value\" must hold exactly one element, got shape \(value.shape)")
        }
        return ClosureKernel { inputs, _ in
            let shape = try dimensions(try inputs.tensor(0), name: "shape")
            return [.tensor(try ElementBytes.filled(with: value, index: 0, shape: shape))]
        }
    }

    /// A 1-D integer tensor read as dimensions, each checked non-negative.
    static func dimensions(_ tensor: Tensor, name: String) throws -> [Int] {
        guard tensor.elementType.isInteger, tensor.shape.count <= 1 else {
            throw OnyxError.invalidModel("\(name) must be a 1-D integer tensor, got \(tensor)")
        }
        return try tensor.int64Values().map { dim in
            guard dim >= 0, let value = Int(exactly: dim) else {
                throw OnyxError.invalidModel("\(name) has the negative dimension \(dim)")
            }
            return value
        }
    }

    static func shape(_ context: OpContext) throws -> any Kernel {
        let start = context.opset >= 15 ? try context.int("start", default: 0) : 0
        let end = context.opset >= 15 ? try context.int("end") : nil
        return ClosureKernel { inputs, _ in
            let dims = try inputs.tensor(0).shape
            let rank = dims.count
            func clamp(_ value: Int) -> Int { Swift.min(Swift.max(value < 0 ? value &+ rank : value, 0), rank) }
            let lower = clamp(start)
            let upper = Swift.max(end.map(clamp) ?? rank, lower)
            let slice = dims[lower..<upper].map { Int64($0) }
            return [.tensor(try Tensor(shape: [slice.count], scalars: slice))]
        }
    }

    static func size() -> any Kernel {
        ClosureKernel { inputs, _ in [.tensor(Tensor(scalar: Int64(try inputs.tensor(0).count)))] }
    }
}

/// Whole-element copies for kernels that move elements without looking at
/// their values (any byte-sized type, strings, and for fills the packed
/// 4- and 2-bit types).
enum ElementBytes {
    /// A tensor of `shape` whose every element equals element `index` of
    /// `source`, except that the elements at `positions` (checked by the
    /// caller to be in range) equal element `other` of `source`.
    static func filled(
        with source: Tensor, index: Int, shape: [Int], placing other: Int? = nil, at positions: [Int] = []
    ) throws -> Tensor {
        let count = try Tensor.checkedCount(shape)
        for element in [index, other ?? index] where element < 0 || element >= source.count {
            throw OnyxError.invalidModel("element \(element) is out of range for \(source)")
        }
        let foreground = other ?? index
        if let strings = source.stringBytes {
            _ = try TensorAllocation.checkedBytes(.int64, count: count)
            var result = Array(repeating: strings[index], count: count)
            for position in positions { result[position] = strings[foreground] }
            return try Tensor(shape: shape, stringBytes: result)
        }
        let type = source.elementType
        if let width = source.elementSize {
            return try Tensor.make(type, shape) { out in
                source.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress else { return }
                    fill(out, count: count, width: width, pattern: base + index * width)
                    for position in positions {
                        (out + position * width).copyMemory(from: base + foreground * width, byteCount: width)
                    }
                }
            }
        }
        let bits = type.bitWidth
        guard bits == 2 || bits == 4, positions.isEmpty else {
            throw OnyxError.wrongElementType("cannot fill a tensor of \(type)")
        }
        let field = source.withUnsafeBytes { ElementCodec.SubByte.field($0, index: index, bitWidth: bits) }
        var pattern: UInt8 = 0
        for slot in 0..<(8 / bits) { pattern |= field << UInt8(slot * bits) }
        return try Tensor.make(type, shape) { out in
            let byteCount = (count * bits + 7) / 8
            out.initializeMemory(as: UInt8.self, repeating: pattern, count: byteCount)
            let used = (count * bits) % 8
            if used != 0 {
                let last = out.load(fromByteOffset: byteCount - 1, as: UInt8.self)
                out.storeBytes(of: last & UInt8((1 << used) - 1), toByteOffset: byteCount - 1, as: UInt8.self)
            }
        }
    }

    /// Writes `count` copies of the `width`-byte element at `pattern` to
    /// `out`, doubling the filled prefix with each copy.
    static func fill(_ out: UnsafeMutableRawPointer, count: Int, width: Int, pattern: UnsafeRawPointer) {
        guard count > 0 else { return }
        out.copyMemory(from: pattern, byteCount: width)
        var filled = 1
        while filled < count {
            let chunk = Swift.min(filled, count - filled)
            (out + filled * width).copyMemory(from: out, byteCount: chunk * width)
            filled += chunk
        }
    }
}
