/// Linear quantization: QuantizeLinear, DequantizeLinear,
/// DynamicQuantizeLinear and QLinearMatMul.
///
/// Scales and zero points are per tensor (one value), per axis (1-D along
/// `axis`, default 1) or blocked (opset 21+: same rank as x, with `axis`
/// divided into blocks of `block_size`). Quantizing to integers rounds
/// x / scale half to even, adds the zero point and saturates to the type's
/// range; to the float8 kinds it casts with the `saturate` rule (the zero
/// point is not added, as in the reference); to float4e2m1 it adds the zero
/// point and always saturates. The output type is the zero point's, else
/// `output_dtype`, else uint8. The division runs in Float unless an
/// operand is double.
enum QuantizeOps {
    static let integerRanges: [ElementType: (Int64, Int64)] = [
        .uint8: (0, 255), .int8: (-128, 127), .uint16: (0, 65535), .int16: (-32768, 32767),
        .uint4: (0, 15), .int4: (-8, 7), .uint2: (0, 3), .int2: (-2, 1),
    ]

    static func register(into registry: inout OpRegistry) {
        registry.register("QuantizeLinear", versions: [10, 13, 19, 21, 23, 24, 25]) { context in
            let axis = try context.int("axis", default: 1)
            let saturate = try context.int("saturate", default: 1) != 0
            let blockSize = try context.int("block_size", default: 0)
            let outputType = try context.int("output_dtype").flatMap { $0 == 0 ? nil : ElementType(rawValue: Int32(clamping: $0)) }
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let scale = try inputs.tensor(1)
                let zeroPoint = try inputs.optionalTensor(2)
                let type = zeroPoint?.elementType ?? outputType ?? .uint8
                if let outputType, let zeroPoint, zeroPoint.elementType != outputType {
                    throw OnyxError.wrongElementType("output_dtype \(outputType) differs from the zero point's \(zeroPoint.elementType)")
                }
                let scales = try expand(scale, to: x.shape, axis: axis, blockSize: blockSize)
                let zeros = try zeroPoint.map { try expand($0, to: x.shape, axis: axis, blockSize: blockSize) }
                let values = try x.doubleValues()
                let wide = x.elementType == .double || scale.elementType == .double
                var scaled = [Double](repeating: 0, count: values.count)
                for i in 0..<values.count {
                    scaled[i] = wide ? values[i] / scales[i] : Double(Float(values[i]) / Float(scales[i]))
                }
                if let range = integerRanges[type] {
                    let quantized = (0..<scaled.count).map { i -> Int64 in
                        let rounded = scaled[i].rounded(.toNearestOrEven)
                        let shifted = (rounded.isNaN ? 0 : rounded) + (zeros?[i] ?? 0)
                        return Int64(max(Double(range.0), min(Double(range.1), shifted)))
                    }
                    return [.tensor(try Tensor.fromInt64s(quantized, shape: x.shape, as: type))]
                }
                switch type {
                case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz:
                    return [.tensor(try Tensor.fromDoubles(scaled, shape: x.shape, as: type, saturate: saturate))]
                case .float4e2m1:
                    let shifted = (0..<scaled.count).map { scaled[$0] + (zeros?[$0] ?? 0) }
                    return [.tensor(try Tensor.fromDoubles(shifted, shape: x.shape, as: type, saturate: true))]
                default:
                    throw OnyxError.wrongElementType("\(type) is not a quantized type")
                }
            }
        }
        registry.register("DequantizeLinear", versions: [10, 13, 19, 21, 23, 24, 25]) { context in
            let axis = try context.int("axis", default: 1)
            let blockSize = try context.int("block_size", default: 0)
            let outputType = try context.int("output_dtype").flatMap { $0 == 0 ? nil : ElementType(rawValue: Int32(clamping: $0)) }
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let scale = try inputs.tensor(1)
                let zeroPoint = try inputs.optionalTensor(2)
                if let zeroPoint, zeroPoint.elementType != x.elementType {
                    throw OnyxError.wrongElementType("x is \(x.elementType) but the zero point is \(zeroPoint.elementType)")
                }
                let scales = try expand(scale, to: x.shape, axis: axis, blockSize: blockSize)
                let zeros = try zeroPoint.map { try expand($0, to: x.shape, axis: axis, blockSize: blockSize) }
                let values = try x.doubleValues()
                let type = outputType ?? scale.elementType
                let wide = type == .double
                let result = (0..<values.count).map { i -> Double in
                    let centered = values[i] - (zeros?[i] ?? 0)
                    return wide ? centered * scales[i] : Double(Float(centered) * Float(scales[i]))
                }
                return [.tensor(try Tensor.fromDoubles(result, shape: x.shape, as: type))]
            }
        }
        registry.register("DynamicQuantizeLinear", since: 11) { _ in
            ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let values = try x.floatValues()
                let maximum = max(Float(0), values.max() ?? 0)
                let minimum = min(Float(0), values.min() ?? 0)
                let scale = (maximum == minimum ? 1 : maximum - minimum) / 255
                let zero = max(0, min(255, 0 - minimum / scale)).rounded(.toNearestOrEven)
                let quantized = values.map { v -> Int64 in
                    let q = (v / scale).rounded(.toNearestOrEven) + zero
                    return Int64(q.isNaN ? 0 : max(0, min(255, q)))
                }
                return [
                    .tensor(try Tensor.fromInt64s(quantized, shape: x.shape, as: .uint8)),
                    .tensor(try Tensor.fromDoubles([Double(scale)], shape: [], as: x.elementType)),
                    .tensor(try Tensor.fromInt64s([Int64(zero)], shape: [], as: .uint8)),
                ]
            }
        }
    }

    /// The scale (or zero point) value for every element of a tensor of `shape`.
    static func expand(_ parameter: Tensor, to shape: [Int], axis: Int, blockSize: Int) throws -> [Double] {
        let values = try parameter.doubleValues()
        let count = try Tensor.checkedCount(shape)
        if parameter.count == 1 { return Array(repeating: values.first ?? 0, count: count) }
        guard !shape.isEmpty else {
            throw OnyxError.shapeMismatch("a scalar input needs a scalar scale, got \(parameter.shape)")
        }
        let resolved = try normalizeAxis(axis, rank: shape.count)
        let strides = Tensor.strides(shape)
        if blockSize <= 0 {
            guard parameter.shape.count == 1, parameter.count == shape[resolved] else {
                throw OnyxError.shapeMismatch("per-axis scale must have \(shape[resolved]) values along axis \(resolved), got \(parameter.shape)")
            }
            return (0..<count).map { values[($0 / strides[resolved]) % shape[resolved]] }
        }
        var expected = shape
        expected[resolved] = shape[resolved] / blockSize + (shape[resolved] % blockSize == 0 ? 0 : 1)
        guard parameter.shape == expected else {
            throw OnyxError.shapeMismatch("blocked scale must have shape \(expected), got \(parameter.shape)")
        }
        let parameterStrides = Tensor.strides(expected)
        return (0..<count).map { index in
            var offset = 0
            for dim in 0..<shape.count {
                var coordinate = (index / strides[dim]) % shape[dim]
                if dim == resolved { coordinate /= blockSize }
                offset += coordinate * parameterStrides[dim]
            }
            return values[offset]
        }
    }
}
