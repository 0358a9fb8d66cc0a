/// ConvInteger and QLinearConv: convolution on 8-bit integers.
///
/// Both subtract the zero points first (w's per output channel when it is
/// 1-D), so padding contributes zero, and accumulate exactly (in Double,
/// which holds every int32 sum exactly). ConvInteger returns the int32
/// accumulators. QLinearConv adds the int32 bias, scales by
/// x_scale · w_scale / y_scale (w_scale per output channel when 1-D), rounds
/// half to even, adds y_zero_point and saturates to its type.
enum QuantizedConvOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("ConvInteger", since: 10) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let group = try context.int("group", default: 1)
            return ClosureKernel { inputs, _ in
                let accumulators = try integerConv(
                    x: try inputs.tensor(0), xZero: try inputs.optionalTensor(2),
                    w: try inputs.tensor(1), wZero: try inputs.optionalTensor(3),
                    bias: nil, attributes: attributes, group: group)
                let values = try accumulators.scalars(as: Double.self).map { ElementCodec.IntegerConversion.saturatingInt64($0) }
                return [.tensor(try Tensor.fromInt64s(values, shape: accumulators.shape, as: .int32))]
            }
        }
        registry.register("QLinearConv", since: 10) { context in
            let attributes = try ConvGeometry.Attributes(context)
            let group = try context.int("group", default: 1)
            return ClosureKernel { inputs, _ in
                let w = try inputs.tensor(3)
                let yZero = try inputs.optionalTensor(7)
                let accumulators = try integerConv(
                    x: try inputs.tensor(0), xZero: try inputs.optionalTensor(2),
                    w: w, wZero: try inputs.optionalTensor(5),
                    bias: try inputs.optionalTensor(8), attributes: attributes, group: group)
                let xScale = try inputs.tensor(1).doubleValues().first ?? 1
                let wScales = try inputs.tensor(4).doubleValues()
                let yScale = try inputs.tensor(6).doubleValues().first ?? 1
                let zero = try yZero?.doubleValues().first ?? 0
                let type = yZero?.elementType ?? .uint8
                guard let range = QuantizeOps.integerRanges[type] else {
                    throw OnyxError.wrongElementType("y_zero_point must be an 8-bit integer, got \(type)")
                }
                let filters = w.shape[0]
                guard wScales.count == 1 || wScales.count == filters else {
                    throw OnyxError.shapeMismatch("w_scale must have 1 or \(filters) values, got \(wScales.count)")
                }
                let positions = accumulators.shape[2...].reduce(1, *)
                let sums = try accumulators.scalars(as: Double.self)
                let quantized = sums.indices.map { i -> Int64 in
                    let filter = (i / max(positions, 1)) % filters
                    let multiplier = Double(Float(xScale) * Float(wScales.count == 1 ? wScales[0] : wScales[filter]) / Float(yScale))
                    let value = (Double(Float(sums[i]) * Float(multiplier))).rounded(.toNearestOrEven) + zero
                    return Int64(max(Double(range.0), min(Double(range.1), value.isNaN ? 0 : value)))
                }
                return [.tensor(try Tensor.fromInt64s(quantized, shape: accumulators.shape, as: type))]
            }
        }
    }

    /// The convolution of (x − x_zero) and (w − w_zero) plus `bias`, exact, as a Double tensor.
    static func integerConv(
        x: Tensor, xZero: Tensor?, w: Tensor, wZero: Tensor?, bias: Tensor?,
        attributes: ConvGeometry.Attributes, group: Int
    ) throws -> Tensor {
        guard x.shape.count >= 3, w.shape.count == x.shape.count else {
            throw OnyxError.shapeMismatch("X must have rank ≥ 3 and W the same rank, got \(x.shape) and \(w.shape)")
        }
        for (name, tensor) in [("X", x), ("W", w)] where tensor.elementType != .int8 && tensor.elementType != .uint8 {
            throw OnyxError.wrongElementType("\(name) must be int8 or uint8, got \(tensor.elementType)")
        }
        let xOffset = try xZero?.doubleValues().first ?? 0
        let xs = try x.doubleValues().map { $0 - xOffset }
        let wZeros = try wZero?.doubleValues() ?? [0]
        let filters = w.shape[0]
        guard wZeros.count == 1 || wZeros.count == filters else {
            throw OnyxError.shapeMismatch("w_zero_point must have 1 or \(filters) values, got \(wZeros.count)")
        }
        let perFilter = w.count / max(filters, 1)
        let ws = try w.doubleValues().enumerated().map { index, value in
            value - (wZeros.count == 1 ? wZeros[0] : wZeros[index / max(perFilter, 1)])
        }
        let biasValues = try bias.map { try Tensor(shape: $0.shape, scalars: try $0.doubleValues()) }
        return try ConvOps.conv(
            try Tensor(shape: x.shape, scalars: xs), try Tensor(shape: w.shape, scalars: ws), biasValues,
            attributes: attributes, group: group)
    }
}
