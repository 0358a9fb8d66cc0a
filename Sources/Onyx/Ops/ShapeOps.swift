/// Reshape, Flatten, Squeeze and Unsqueeze: the element order never
/// changes, so every output shares the input's storage (`reshaped`).
///
/// - Reshape: opset 1 takes the shape as an attribute, from 5 as an input.
///   A 0 copies the input's dimension at that position unless `allowzero`
///   = 1 (opset 14+), where it means an empty dimension (and then -1 may not
///   appear with it); one -1 is inferred from the remaining elements.
/// - Flatten: `axis` in [-r, r] (negative from opset 11).
/// - Squeeze / Unsqueeze: `axes` attribute through opset 12, input from 13.
///   Squeeze without axes (or, as an attribute, an empty list) drops every
///   dimension of size 1; a named axis whose size is not 1 is an error. Unsqueeze's axes index the output.
enum ShapeOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Reshape", since: 1) { context in
            guard let shape = try context.ints("shape") else {
                throw OnyxError.invalidModel("attribute \"shape\" is required")
            }
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                return [.tensor(try data.reshaped(try reshapeTarget(data.shape, shape, allowZero: false)))]
            }
        }
        registry.register("Reshape", since: 5) { context in
            let allowZero = try context.int("allowzero", default: 0) != 0
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let shape = try inputs.tensor(1).indexValues("shape")
                return [.tensor(try data.reshaped(try reshapeTarget(data.shape, shape, allowZero: allowZero)))]
            }
        }
        registry.register("Flatten", since: 1) { context in
            let axis = try context.int("axis", default: 1)
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let rank = data.shape.count
                let split = axis < 0 ? axis + rank : axis
                guard split >= 0, split <= rank else {
                    throw OnyxError.invalidModel("axis \(axis) is out of range for rank \(rank)")
                }
                let outer = try Tensor.checkedCount(Array(data.shape[..<split]))
                let inner = try Tensor.checkedCount(Array(data.shape[split...]))
                return [.tensor(try data.reshaped([outer, inner]))]
            }
        }
        registry.register("Squeeze", versions: [1, 11]) { context in
            let listed = try context.ints("axes")
            let axes = listed?.isEmpty == true ? nil : listed
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                return [.tensor(try data.reshaped(try squeezed(data.shape, axes)))]
            }
        }
        registry.register("Squeeze", since: 13) { _ in
            ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let axes = try inputs.optionalTensor(1)?.indexValues("axes")
                return [.tensor(try data.reshaped(try squeezed(data.shape, axes)))]
            }
        }
        registry.register("Unsqueeze", versions: [1, 11]) { context in
            guard let axes = try context.ints("axes") else {
                throw OnyxError.invalidModel("attribute \"axes\" is required")
            }
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                return [.tensor(try data.reshaped(try unsqueezed(data.shape, axes)))]
            }
        }
        registry.register("Unsqueeze", since: 13) { _ in
            ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let axes = try inputs.tensor(1).indexValues("axes")
                return [.tensor(try data.reshaped(try unsqueezed(data.shape, axes)))]
            }
        }
    }

    /// The output shape of Reshape of `input` to `requested`.
    static func reshapeTarget(_ input: [Int], _ requested: [Int], allowZero: Bool) throws -> [Int] {
        var shape = requested
        var inferred: Int?
        for (axis, dim) in requested.enumerated() {
            switch dim {
            case -1:
                guard inferred == nil else { throw OnyxError.invalidModel("shape \(requested) has more than one -1") }
                inferred = axis
            case 0 where !allowZero:
                guard axis < input.count else {
                    throw OnyxError.shapeMismatch("shape \(requested) copies dimension \(axis) of rank-\(input.count) input")
                }
                shape[axis] = input[axis]
            case ..<0:
                throw OnyxError.invalidModel("shape \(requested) has invalid dimension \(dim)")
            default: break
            }
        }
        let count = try Tensor.checkedCount(input)
        if let inferred {
            if allowZero && requested.contains(0) {
                throw OnyxError.invalidModel("shape \(requested) has both 0 and -1 with allowzero = 1")
            }
            shape[inferred] = 1
            let known = try Tensor.checkedCount(shape)
            guard known > 0, count % known == 0 else {
                throw OnyxError.shapeMismatch("cannot reshape \(input) to \(requested)")
            }
            shape[inferred] = count / known
        }
        guard try Tensor.checkedCount(shape) == count else {
            throw OnyxError.shapeMismatch("cannot reshape \(input) (\(count) elements) to \(requested)")
        }
        return shape
    }

    static func squeezed(_ shape: [Int], _ axes: [Int]?) throws -> [Int] {
        guard let axes else { return shape.filter { $0 != 1 } }
        guard !shape.isEmpty || axes.isEmpty else { throw OnyxError.invalidModel("cannot squeeze a scalar") }
        let resolved = try axes.map { try normalizeAxis($0, rank: shape.count) }
        guard Set(resolved).count == resolved.count else { throw OnyxError.invalidModel("axes \(axes) repeat an axis") }
        for axis in resolved where shape[axis] != 1 {
            throw OnyxError.shapeMismatch("cannot squeeze axis \(axis) of size \(shape[axis]) in \(shape)")
        }
        return shape.enumerated().filter { !resolved.contains($0.offset) }.map(\.element)
    }

    static func unsqueezed(_ shape: [Int], _ axes: [Int]) throws -> [Int] {
        let rank = shape.count + axes.count
        let resolved = try axes.map { try normalizeAxis($0, rank: rank) }
        guard Set(resolved).count == resolved.count else { throw OnyxError.invalidModel("axes \(axes) repeat an axis") }
        var result: [Int] = []
        var next = shape.makeIterator()
        for axis in 0..<rank {
            if resolved.contains(axis) {
                result.append(1)
            } else if let dim = next.next() {
                result.append(dim)
            }
        }
        return result
    }
}
