/// QLinearMatMul (opsets 10, 21): a matrix product of quantized operands,
/// requantized to the output's scale and zero point.
///
/// The zero points are subtracted (per tensor, per row of A, per column of
/// B), the product accumulates exactly in int32, and each element is scaled
/// by a_scale · b_scale / y_scale (the factor computed in Float, as the
/// scales' type; per-row and per-column scales are honoured), rounded half
/// to even, shifted by y_zero_point and saturated to its 8-bit type.
enum QLinearMatMulOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("QLinearMatMul", versions: [10, 21]) { _ in
            ClosureKernel { inputs, _ in
                let a = try inputs.tensor(0)
                let b = try inputs.tensor(3)
                let product = try MatrixProduct(a.shape, b.shape)
                let x = try MatMulOps.shifted(a, by: try inputs.optionalTensor(2), vectorShape: [product.m, 1])
                let y = try MatMulOps.shifted(b, by: try inputs.optionalTensor(5), vectorShape: [1, product.n])
                var sums = try TensorAllocation.array(repeating: 0 as Int32, shape: product.outputShape)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeBufferPointer { yp in
                        sums.withUnsafeMutableBufferPointer { out in product.integers(xp, yp, out) }
                    }
                }
                let aScales = try inputs.tensor(1).floatValues()
                let bScales = try inputs.tensor(4).floatValues()
                let yScale = try inputs.tensor(6).floatValues().first ?? 1
                let yZero = try inputs.optionalTensor(7)
                let type = yZero?.elementType ?? a.elementType
                guard let range = QuantizeOps.integerRanges[type] else {
                    throw OnyxError.wrongElementType("QLinearMatMul output must be an integer quantized type, got \(type)")
                }
                guard aScales.count == 1 || aScales.count == product.m, bScales.count == 1 || bScales.count == product.n else {
                    throw OnyxError.shapeMismatch("a_scale must have 1 or \(product.m) values and b_scale 1 or \(product.n)")
                }
                let zero = Double(try yZero?.int64Values().first ?? 0)
                let (m, n) = (product.m, product.n)
                let quantized = sums.indices.map { index -> Int64 in
                    let row = (index / max(n, 1)) % max(m, 1)
                    let column = index % max(n, 1)
                    let factor = aScales[aScales.count == 1 ? 0 : row] * bScales[bScales.count == 1 ? 0 : column] / yScale
                    let value = (Double(sums[index]) * Double(factor)).rounded(.toNearestOrEven) + zero
                    return Int64(max(Double(range.0), min(Double(range.1), value.isNaN ? 0 : value)))
                }
                return [.tensor(try Tensor.fromInt64s(quantized, shape: product.outputShape, as: type))]
            }
        }
    }
}
