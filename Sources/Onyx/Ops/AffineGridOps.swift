/// AffineGrid (opset 20): the sampling grid of `theta` (N, 2, 3) or
/// (N, 3, 4) over an output of `size` (N, C, H, W) or (N, C, D, H, W).
///
/// Output (N, H, W, 2) or (N, D, H, W, 3) in theta's type, each entry
/// `theta[n] · (x, y, [z,] 1)` with x along W, y along H, z along D. The base
/// coordinates span [-1, 1]: pixel centers `-1 + (2i + 1) / L` without
/// align_corners, `-1 + 2i / (L - 1)` with it; a length-1 axis has the single
/// coordinate 0 (as PyTorch). Computed in Double.
enum AffineGridOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("AffineGrid", since: 20) { context in
            let alignCorners = try context.int("align_corners", default: 0) != 0
            return ClosureKernel { inputs, _ in
                [.tensor(try affineGrid(try inputs.tensor(0), try inputs.tensor(1), alignCorners: alignCorners))]
            }
        }
    }

    static func affineGrid(_ theta: Tensor, _ size: Tensor, alignCorners: Bool) throws -> Tensor {
        guard [.float, .double, .float16, .bfloat16].contains(theta.elementType) else {
            throw OnyxError.wrongElementType("theta must be a float type, got \(theta.elementType)")
        }
        let sizes = try size.int64Values()
        guard size.shape.count == 1, sizes.count == 4 || sizes.count == 5 else {
            throw OnyxError.invalidModel("size must list 4 or 5 dimensions, got \(sizes)")
        }
        let rank = sizes.count - 2
        let batch = theta.shape.first ?? 0
        guard theta.shape == [batch, rank, rank + 1], Int(exactly: sizes[0]) == batch else {
            throw OnyxError.shapeMismatch("theta of shape \(theta.shape) does not fit size \(sizes)")
        }
        let spatial = try sizes[2...].map { value -> Int in
            guard value >= 0, let dim = Int(exactly: value) else { throw OnyxError.invalidModel("negative size \(value)") }
            return dim
        }
        let outShape = [batch] + spatial + [rank]
        let count = try Tensor.checkedCount(outShape)
        _ = try TensorAllocation.checkedBytes(.double, count: count)
        let axes = spatial.map { length in (0..<length).map { baseCoordinate($0, length, alignCorners) } }
        let matrices = try theta.doubleValues()
        let points = count / max(batch &* rank, 1)
        var result = [Double](repeating: 0, count: count)
        var homogeneous = [Double](repeating: 1, count: rank + 1)
        var index = [Int](repeating: 0, count: rank)
        var out = 0
        for n in 0..<batch {
            index.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            for _ in 0..<points {
                for axis in 0..<rank { homogeneous[rank - 1 - axis] = axes[axis][index[axis]] }
                for row in 0..<rank {
                    let base = (n &* rank &+ row) &* (rank + 1)
                    var sum = 0.0
                    for column in 0...rank { sum += matrices[base &+ column] * homogeneous[column] }
                    result[out] = sum
                    out &+= 1
                }
                var axis = rank - 1
                while axis >= 0 {
                    index[axis] &+= 1
                    if index[axis] < spatial[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return try Tensor.fromDoubles(result, shape: outShape, as: theta.elementType)
    }

    /// The normalized coordinate of pixel `i` of `length`, as the reference's `arange` computes it.
    static func baseCoordinate(_ i: Int, _ length: Int, _ alignCorners: Bool) -> Double {
        guard length > 1 else { return 0 }
        if alignCorners { return -1 + Double(i) * (2.0 / Double(length - 1)) }
        let step = 2.0 / Double(length)
        return (-1 + step / 2) + Double(i) * step
    }
}
