// Range, EyeLike, OneHot and Trilu: tensors generated from a few scalars or
// from another tensor's shape. See ConstantOps.swift for the rest of the family.

extension ConstantOps {
    static func registerGenerators(into registry: inout OpRegistry) {
        registry.register("Range", versions: [11, 27]) { try range($0) }
        registry.register("EyeLike", versions: [9, 22]) { try eyeLike($0) }
        registry.register("OneHot", versions: [9, 11]) { try oneHot($0) }
        registry.register("Trilu", since: 14) { try trilu($0) }
    }

    /// Range: `count = max(ceil((limit - start) / delta), 0)` elements
    /// `start + i·delta`. Integers are exact (the count is computed in 128
    /// bits; delta 0 is an error). Floating-point types compute in Double,
    /// as numpy's `arange` does; float16 / bfloat16 (opset 27) compute in
    /// the `stash_type` precision (1 = float, 11 = double) and round back.
    static func range(_ context: OpContext) throws -> any Kernel {
        let stash: ElementType
        switch context.opset >= 27 ? try context.int("stash_type", default: 1) : 11 {
        case 1: stash = .float
        case 11: stash = .double
        case let other: throw OnyxError.unsupportedOperator("Range stash_type \(other) is not 1 (float) or 11 (double)")
        }
        return ClosureKernel { inputs, _ in
            let operands = try (0..<3).map { index -> Tensor in
                let tensor = try inputs.tensor(index)
                guard tensor.count == 1 else { throw OnyxError.shapeMismatch("Range input \(index) must be a scalar, got \(tensor)") }
                return tensor
            }
            let type = operands[0].elementType
            guard operands.allSatisfy({ $0.elementType == type }) else {
                throw OnyxError.wrongElementType("Range inputs must share one type, got \(operands.map(\.elementType))")
            }
            switch type {
            case .int16, .int32, .int64:
                return [.tensor(try integerRange(operands.map { try $0.int64Values()[0] }, type))]
            case .float, .double, .float16, .bfloat16:
                return [.tensor(try floatRange(operands.map { try $0.doubleValues()[0] }, type, stash: stash))]
            default:
                throw OnyxError.wrongElementType("Range is not defined on \(type)")
            }
        }
    }

    private static func integerRange(_ operands: [Int64], _ type: ElementType) throws -> Tensor {
        let (start, limit, delta) = (operands[0], operands[1], operands[2])
        guard delta != 0 else { throw OnyxError.invalidModel("Range delta is 0") }
        let span = Int128(limit) - Int128(start)
        var quotient = span / Int128(delta)
        if span % Int128(delta) != 0 && (span > 0) == (delta > 0) { quotient += 1 }
        guard let count = Int(exactly: Swift.max(quotient, 0)) else {
            throw OnyxError.resourceLimit("Range of \(quotient) elements is too large")
        }
        func make<T: FixedWidthInteger & TensorScalar>(_: T.Type) throws -> Tensor {
            try Tensor.make(T.self, [count]) { out in
                var value = start
                for index in 0..<count {
                    out[index] = T(truncatingIfNeeded: value)
                    value = value &+ delta
                }
            }
        }
        switch type {
        case .int16: return try make(Int16.self)
        case .int32: return try make(Int32.self)
        default: return try make(Int64.self)
        }
    }

    private static func floatRange(_ operands: [Double], _ type: ElementType, stash: ElementType) throws -> Tensor {
        let lowPrecision = type == .float16 || type == .bfloat16
        let useFloat = type == .float || (lowPrecision && stash == .float)
        let values = useFloat ? operands.map { Double(Float($0)) } : operands
        let (start, limit, delta) = (values[0], values[1], values[2])
        guard delta != 0 else { throw OnyxError.invalidModel("Range delta is 0") }
        let steps = ((limit - start) / delta).rounded(.up)
        guard steps.isFinite || steps == -.infinity else {
            throw OnyxError.invalidModel("Range(\(start), \(limit), \(delta)) has no finite element count")
        }
        guard steps < 0x1p62 else { throw OnyxError.resourceLimit("Range of \(steps) elements is too large") }
        let count = steps > 0 ? Int(steps) : 0
        switch type {
        case .float:
            return try Tensor.make(Float.self, [count]) { out in
                for index in 0..<count { out[index] = Float(start + Double(index) * delta) }
            }
        case .double:
            return try Tensor.make(Double.self, [count]) { out in
                for index in 0..<count { out[index] = start + Double(index) * delta }
            }
        default:
            _ = try TensorAllocation.checkedBytes(type, count: count)
            _ = try TensorAllocation.checkedBytes(.double, count: count)
            let elements: [Double]
            if useFloat {
                let (s, d) = (Float(start), Float(delta))
                elements = (0..<count).map { Double(s + Float($0) * d) }
            } else {
                elements = (0..<count).map { start + Double($0) * delta }
            }
            return try Tensor.fromDoubles(elements, shape: [count], as: type)
        }
    }

    /// EyeLike: a 2-D tensor shaped like the input (1-D gives a square
    /// matrix, as the reference allows) with ones on diagonal `k` (positive:
    /// above the main diagonal) and zeros elsewhere; type `dtype` or the input's.
    static func eyeLike(_ context: OpContext) throws -> any Kernel {
        let dtype = try context.int("dtype").map(ConstantOps.elementType(code:))
        let k = try context.int("k", default: 0)
        return ClosureKernel { inputs, _ in
            let input = try inputs.tensor(0)
            let type = dtype ?? input.elementType
            let shape: [Int]
            switch input.shape.count {
            case 1: shape = [input.shape[0], input.shape[0]]
            case 2: shape = input.shape
            default: throw OnyxError.shapeMismatch("EyeLike needs a 2-D input, got \(input.shape)")
            }
            guard type != .string, type != .complex64, type != .complex128, let width = type.byteCount(forElements: 1),
                  type.bitWidth == width * 8 else {
                throw OnyxError.wrongElementType("EyeLike cannot produce \(type)")
            }
            let one = try Tensor.fromInt64s([1], shape: [], as: type)
            let (rows, columns) = (shape[0], shape[1])
            let offset = Swift.min(Swift.max(k, -rows), columns)
            return [.tensor(try Tensor.make(type, shape) { out in
                one.withUnsafeBytes { pattern in
                    guard let element = pattern.baseAddress else { return }
                    for row in 0..<rows {
                        let column = row + offset
                        guard column >= 0, column < columns else { continue }
                        (out + (row * columns + column) * width).copyMemory(from: element, byteCount: width)
                    }
                }
            })]
        }
    }

    /// OneHot: output shape is the indices' shape with `depth` inserted at
    /// `axis`; `values` = [off, on] of any type (strings included). Indices
    /// of any numeric type are truncated toward zero; from opset 11 an index
    /// in [-depth, -1] counts from the back; anything else out of range
    /// leaves its whole line `off`. `depth` (any numeric scalar) is truncated
    /// and must be non-negative.
    static func oneHot(_ context: OpContext) throws -> any Kernel {
        let axis = try context.int("axis", default: -1)
        let negativeIndices = context.opset >= 11
        return ClosureKernel { inputs, _ in
            let indices = try inputs.tensor(0)
            let depthTensor = try inputs.tensor(1)
            let values = try inputs.tensor(2)
            guard depthTensor.count == 1, let depthValue = try depthTensor.doubleValues().first,
                  depthValue.isFinite, depthValue >= 0, depthValue < 0x1p62 else {
                throw OnyxError.invalidModel("OneHot depth must be a non-negative scalar, got \(depthTensor)")
            }
            let depth = Int(depthValue)
            guard values.count == 2 else {
                throw OnyxError.shapeMismatch("OneHot values must hold [off, on], got shape \(values.shape)")
            }
            let rank = indices.shape.count
            let position = try normalizeAxis(axis, rank: rank + 1)
            var shape = indices.shape
            shape.insert(depth, at: position)
            let type = values.elementType == .string ? ElementType.int64 : values.elementType
            _ = try TensorAllocation.checkedBytes(type, count: try Tensor.checkedCount(shape))
            let inner = indices.shape[position...].reduce(1, *)
            let positions = try oneHotIndices(indices).map { index -> Int in
                let wrapped = negativeIndices && index < 0 ? index &+ Int64(depth) : index
                return wrapped >= 0 && wrapped < depth ? Int(wrapped) : -1
            }
            var targets: [Int] = []
            targets.reserveCapacity(positions.count)
            for (flat, index) in positions.enumerated() where index >= 0 {
                let (outer, within) = flat.quotientAndRemainder(dividingBy: Swift.max(inner, 1))
                targets.append((outer * depth + index) * inner + within)
            }
            return [.tensor(try ElementBytes.filled(with: values, index: 0, shape: shape, placing: 1, at: targets))]
        }
    }

    /// Indices as Int64: floats truncated toward zero, uint64 above Int64.max
    /// mapped to Int64.max (out of range for any depth).
    private static func oneHotIndices(_ indices: Tensor) throws -> [Int64] {
        guard indices.elementType.isInteger || indices.elementType.isFloatingPoint else {
            throw OnyxError.wrongElementType("OneHot indices cannot be \(indices.elementType)")
        }
        if indices.elementType == .uint64 {
            return try indices.scalars(as: UInt64.self).map { Int64(exactly: $0) ?? .max }
        }
        return try indices.int64Values()
    }

    /// Trilu: keeps the upper (`upper` = 1, the default: column − row ≥ k) or
    /// lower (column − row ≤ k) triangle of each of the last two dimensions,
    /// zeroing (empty strings) the rest. `k` is an optional int64 scalar input.
    static func trilu(_ context: OpContext) throws -> any Kernel {
        let upper = try context.int("upper", default: 1) != 0
        return ClosureKernel { inputs, _ in
            let input = try inputs.tensor(0)
            var k = 0
            if let kTensor = try inputs.optionalTensor(1) {
                guard kTensor.count == 1, kTensor.elementType.isInteger, let value = try kTensor.int64Values().first else {
                    throw OnyxError.invalidModel("Trilu k must be an int64 scalar, got \(kTensor)")
                }
                k = Int(truncatingIfNeeded: Swift.min(Swift.max(value, -(1 << 62)), 1 << 62))
            }
            let rank = input.shape.count
            guard rank >= 2 else { throw OnyxError.shapeMismatch("Trilu needs rank ≥ 2, got \(input.shape)") }
            let (rows, columns) = (input.shape[rank - 2], input.shape[rank - 1])
            let offset = Swift.min(Swift.max(k, -rows - 1), columns + 1)
            let kept: (Int) -> Range<Int> = { row in
                let edge = Swift.min(Swift.max(row + offset, 0), columns)
                if upper { return edge..<columns }
                return 0..<Swift.min(Swift.max(row + offset + 1, 0), columns)
            }
            let matrices = rows * columns == 0 ? 0 : input.count / (rows * columns)
            if let strings = input.stringBytes {
                var result = [[UInt8]](repeating: [], count: input.count)
                for matrix in 0..<matrices {
                    for row in 0..<rows {
                        let base = (matrix * rows + row) * columns
                        for column in kept(row) { result[base + column] = strings[base + column] }
                    }
                }
                return [.tensor(try Tensor(shape: input.shape, stringBytes: result))]
            }
            guard let width = input.elementSize else {
                throw OnyxError.wrongElementType("Trilu is not defined on \(input.elementType)")
            }
            return [.tensor(try Tensor.make(input.elementType, input.shape) { out in
                input.withUnsafeBytes { source in
                    guard let base = source.baseAddress else { return }
                    for matrix in 0..<matrices {
                        for row in 0..<rows {
                            let span = kept(row)
                            let start = ((matrix * rows + row) * columns + span.lowerBound) * width
                            (out + start).copyMemory(from: base + start, byteCount: span.count * width)
                        }
                    }
                }
            })]
        }
    }
}

extension ConstantOps {
    /// The element type with ONNX number `code` (a `dtype` or `to` attribute).
    static func elementType(code: Int) throws -> ElementType {
        guard let raw = Int32(exactly: code), let type = ElementType(rawValue: raw) else {
            throw OnyxError.unsupportedOperator("element type \(code) is not supported")
        }
        return type
    }
}
