/// Helpers shared by the kernels that run subgraphs (If, Loop, Scan,
/// SequenceMap) and by the sequence kernels: reading condition and
/// position scalars, and shaping a scan output when no iteration ran.
enum ControlFlowSupport {
    /// The value of a one-element bool tensor (a condition).
    static func truth(_ tensor: Tensor, _ what: String) throws -> Bool {
        guard tensor.elementType == .bool else {
            throw OnyxError.wrongElementType("\(what) must be bool, got \(tensor.elementType)")
        }
        guard tensor.count == 1 else {
            throw OnyxError.shapeMismatch("\(what) must hold one element, got shape \(tensor.shape)")
        }
        return tensor.withUnsafeBytes { $0.first.map { $0 != 0 } ?? false }
    }

    /// The value of a one-element integer tensor.
    static func integer(_ tensor: Tensor, _ what: String) throws -> Int64 {
        guard tensor.elementType.isInteger else {
            throw OnyxError.wrongElementType("\(what) must be an integer tensor, got \(tensor.elementType)")
        }
        guard tensor.count == 1, let value = try tensor.int64Values().first else {
            throw OnyxError.shapeMismatch("\(what) must hold one element, got shape \(tensor.shape)")
        }
        return value
    }

    /// A position into a sequence of `count` items, in `[-count, count - 1]`
    /// (or `[-count, count]` when `allowEnd`), resolved to `0...count`.
    static func position(_ tensor: Tensor, count: Int, allowEnd: Bool = false) throws -> Int {
        guard tensor.elementType == .int32 || tensor.elementType == .int64 else {
            throw OnyxError.wrongElementType("position must be int32 or int64, got \(tensor.elementType)")
        }
        let raw = try integer(tensor, "position")
        let upper = Int64(allowEnd ? count : count - 1)
        guard raw >= -Int64(count), raw <= upper else {
            throw OnyxError.invalidModel("position \(raw) is out of range for a sequence of \(count) tensors")
        }
        return Int(raw < 0 ? raw + Int64(count) : raw)
    }

    /// The element type and shape of one scan-output element when the
    /// loop produced none: from the body's declared output type when it
    /// gives the element type and every dimension, else from `probe` (the
    /// body's outputs for one trial iteration, nil when that failed), else
    /// from whatever the declared type gives (unknown dimensions as 0, an
    /// unknown rank as a scalar).
    static func elementTemplate(
        declared: ValueType?, probe: () -> Value?, what: String
    ) throws -> (ElementType, [Int]) {
        let declaredType = declared?.elementType
        let declaredShape = declared?.shape
        if let declaredType, let declaredShape {
            let dims = declaredShape.compactMap(\.value)
            if dims.count == declaredShape.count { return (declaredType, dims) }
        }
        if case .tensor(let tensor)? = probe() { return (tensor.elementType, tensor.shape) }
        guard let declaredType else {
            throw OnyxError.invalidModel(
                "\(what) has no iterations and its element type cannot be determined (the body declares none)")
        }
        return (declaredType, declaredShape?.map { $0.value ?? 0 } ?? [])
    }

    /// An empty tensor of `type` whose shape is `elementShape` with a 0
    /// inserted at `axis`.
    static func emptyStack(_ type: ElementType, _ elementShape: [Int], axis: Int) throws -> Tensor {
        var shape = elementShape
        shape.insert(0, at: min(max(axis, 0), shape.count))
        return try Tensor.zeros(type, shape)
    }

    /// Fails unless `graph` (attribute `name`) has `inputs` inputs and at
    /// least `outputs` outputs.
    static func checkSignature(_ graph: Graph, _ name: String, inputs: Int?, outputs: Int) throws {
        if let inputs, graph.inputs.count != inputs {
            throw OnyxError.invalidModel("\(name) takes \(graph.inputs.count) inputs, expected \(inputs)")
        }
        guard graph.outputs.count >= outputs else {
            throw OnyxError.invalidModel("\(name) yields \(graph.outputs.count) outputs, expected \(outputs)")
        }
    }
}

extension Value {
    /// The element type a sequence or tensor carries, when known.
    var carriedElementType: ElementType? {
        switch self {
        case .tensor(let tensor): return tensor.elementType
        case .sequence(let items, let type): return type ?? items.first?.elementType
        case .none: return nil
        }
    }
}
