/// GridSample (opsets 16, 20, 22): samples `X` (N, C, D1..Dr) at the
/// normalized positions of `grid` (N, O1..Or, r), whose last axis lists
/// coordinates innermost dimension first (x, y, ...).
///
/// Opset 16 takes 4-D `X` only and names the modes bilinear / nearest /
/// bicubic; 20 and later take any r ≥ 1 and name them linear / nearest /
/// cubic (22 only widens the types). As in ONNX's reference (and PyTorch):
/// coordinates and weights are computed in the grid's precision (Float for
/// bfloat16); nearest rounds half to even; a coordinate beyond the border
/// interval ([-0.5, L-0.5], or [0, L-1] with align_corners) is clamped
/// (border) or reflected (reflection) before taps are taken, and each tap
/// index is then padded again (zeros: 0, border: clamped, reflection:
/// reflected). Cubic uses Keys' kernel with a = -0.75. NaN coordinates
/// sample as padding. Nearest copies elements of any type; linear and cubic
/// accumulate in Double and need real numbers.
enum GridSampleOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("GridSample", versions: [16, 20, 22]) { try GridSampleKernel($0) }
    }
}

struct GridSampleKernel: Kernel {
    enum Padding: String { case zeros, border, reflection }

    let mode: ResizeMode
    let padding: Padding
    let alignCorners: Bool
    let onlySpatial2D: Bool

    init(_ context: OpContext) throws {
        let names = context.opset < 20 ? ["bilinear", "nearest", "bicubic"] : ["linear", "nearest", "cubic"]
        let modeName = try context.string("mode", default: names[0])
        try context.check("mode", modeName, in: names)
        mode = modeName == names[0] ? .linear : modeName == names[1] ? .nearest : .cubic
        let paddingName = try context.string("padding_mode", default: "zeros")
        try context.check("padding_mode", paddingName, in: ["zeros", "border", "reflection"])
        padding = Padding(rawValue: paddingName) ?? .zeros
        alignCorners = try context.int("align_corners", default: 0) != 0
        onlySpatial2D = context.opset < 20
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let x = try inputs.tensor(0)
        let grid = try inputs.tensor(1)
        let rank = x.shape.count - 2
        guard rank >= 1, !onlySpatial2D || rank == 2 else {
            throw OnyxError.shapeMismatch("X of shape \(x.shape) must be \(onlySpatial2D ? "4-D" : "at least 3-D")")
        }
        guard grid.shape.count == rank + 2, grid.shape[0] == x.shape[0], grid.shape[rank + 1] == rank else {
            throw OnyxError.shapeMismatch("grid of shape \(grid.shape) does not match X of shape \(x.shape)")
        }
        guard grid.elementType.isFloatingPoint else {
            throw OnyxError.wrongElementType("grid must be floating-point, got \(grid.elementType)")
        }
        let spatial = Array(x.shape[2...])
        let outShape = [x.shape[0], x.shape[1]] + grid.shape[1...rank]
        let count = try Tensor.checkedCount(outShape)
        try SpatialSupport.checkOutput(.double, count: count)
        if count == 0 { return [.tensor(try Tensor.zeros(x.elementType, outShape))] }
        guard spatial.allSatisfy({ $0 > 0 }) else {
            throw OnyxError.shapeMismatch("cannot sample X of shape \(x.shape), which has an empty spatial axis")
        }
        if mode != .nearest, !SpatialSupport.isInterpolatable(x.elementType) {
            throw OnyxError.wrongElementType("\(mode.rawValue) grid sampling is not defined on \(x.elementType)")
        }
        let stencil: GridStencil
        switch grid.elementType {
        case .double: stencil = try GridStencil(try grid.doubleValues(), spatial: spatial, self)
        #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
        case .float16: stencil = try GridStencil(try grid.floatValues().map { Float16($0) }, spatial: spatial, self)
        #endif
        default: stencil = try GridStencil(try grid.floatValues(), spatial: spatial, self)
        }
        return [.tensor(try mode == .nearest
            ? stencil.gather(x, outShape: outShape) : stencil.interpolate(x, outShape: outShape))]
    }
}

/// For every grid point, `taps` (index, weight) pairs per spatial axis,
/// outermost axis first; index -1 stands for a zero-padded tap.
struct GridStencil {
    let rank: Int
    let taps: Int
    let points: Int
    let strides: [Int]
    var indices: [Int]
    var weights: [Double]

    init<C: BinaryFloatingPoint>(_ grid: [C], spatial: [Int], _ op: GridSampleKernel) throws {
        rank = spatial.count
        taps = op.mode == .nearest ? 1 : op.mode == .linear ? 2 : 4
        points = grid.count / rank
        strides = Tensor.strides(spatial)
        let (total, overflow) = grid.count.multipliedReportingOverflow(by: taps)
        guard !overflow else { throw OnyxError.resourceLimit("grid of \(grid.count) values is too large") }
        _ = try TensorAllocation.checkedBytes(.double, count: total)
        indices = [Int](repeating: -1, count: total)
        weights = [Double](repeating: 0, count: total)
        var coefficients = [C](repeating: 0, count: taps)
        for point in 0..<points {
            for axis in 0..<rank {
                let length = spatial[axis]
                let (low, high) = op.alignCorners ? (0.0, Double(length - 1)) : (-0.5, Double(length) - 0.5)
                let g = grid[point &* rank &+ rank &- 1 &- axis]
                var x = op.alignCorners ? (g + 1) / 2 * C(length - 1) : ((g + 1) * C(length) - 1) / 2
                if op.mode == .nearest { x = x.rounded(.toNearestOrEven) }
                guard !x.isNaN else {
                    if op.padding != .zeros { fill(point, axis, index: 0, count: taps) }
                    continue
                }
                if Double(x) < low || Double(x) > high {
                    if op.padding == .border { x = min(max(x, 0), C(length - 1)) }
                    if op.padding == .reflection { x = C(Self.reflect(Double(x), low, high)) }
                }
                guard abs(x) < 1e15 else { continue }
                let base = op.mode == .nearest ? x.rounded(.towardZero) : x.rounded(.down)
                let t = x - base
                let first = Int(base) &- (op.mode == .cubic ? 1 : 0)
                Self.coefficients(&coefficients, t, op.mode)
                for k in 0..<taps {
                    let slot = (point &* rank &+ axis) &* taps &+ k
                    indices[slot] = Self.pad(first &+ k, length, low, high, op.padding)
                    weights[slot] = Double(coefficients[k])
                }
            }
        }
    }

    private mutating func fill(_ point: Int, _ axis: Int, index: Int, count: Int) {
        for k in 0..<count {
            indices[(point &* rank &+ axis) &* taps &+ k] = index
            weights[(point &* rank &+ axis) &* taps &+ k] = k == 0 ? 1 : 0
        }
    }

    private static func coefficients<C: BinaryFloatingPoint>(_ c: inout [C], _ t: C, _ mode: ResizeMode) {
        switch mode {
        case .nearest:
            c[0] = 1
        case .linear:
            c[0] = 1 - t
            c[1] = t
        case .cubic:
            let a: C = -0.75
            c[0] = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
            c[1] = ((a + 2) * t - (a + 3)) * t * t + 1
            c[2] = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
            c[3] = ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a
        }
    }

    /// Reflects `x` off `low` and `high` until it lies between them.
    static func reflect(_ x: Double, _ low: Double, _ high: Double) -> Double {
        let span = high - low
        guard span > 0, x.isFinite else { return low }
        if x < low {
            let distance = low - x
            let turns = (distance / span).rounded(.towardZero)
            let rest = distance - turns * span
            return turns.truncatingRemainder(dividingBy: 2) == 0 ? low + rest : high - rest
        }
        if x > high {
            let distance = x - high
            let turns = (distance / span).rounded(.towardZero)
            let rest = distance - turns * span
            return turns.truncatingRemainder(dividingBy: 2) == 0 ? high - rest : low + rest
        }
        return x
    }

    private static func pad(_ index: Int, _ length: Int, _ low: Double, _ high: Double, _ padding: GridSampleKernel.Padding) -> Int {
        if index >= 0 && index < length { return index }
        switch padding {
        case .zeros: return -1
        case .border: return min(max(index, 0), length - 1)
        case .reflection:
            let reflected = reflect(Double(index), low, high).rounded(.towardZero)
            return min(max(Int(reflected), 0), length - 1)
        }
    }

    /// The flat spatial offset of a point's nearest tap, or -1 for padding.
    private func nearestOffset(_ point: Int) -> Int {
        var offset = 0
        for axis in 0..<rank {
            let index = indices[point &* rank &+ axis]
            if index < 0 { return -1 }
            offset &+= index &* strides[axis]
        }
        return offset
    }

    func gather(_ x: Tensor, outShape: [Int]) throws -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let plane = x.count / max(batch &* channels, 1)
        let perBatch = points / max(batch, 1)
        var sources: [Int] = []
        sources.reserveCapacity(batch &* channels &* perBatch)
        for n in 0..<batch {
            let offsets = (0..<perBatch).map { nearestOffset(n &* perBatch &+ $0) }
            for c in 0..<channels {
                let base = (n &* channels &+ c) &* plane
                for offset in offsets { sources.append(offset < 0 ? -1 : base &+ offset) }
            }
        }
        return try SpatialSupport.gather(x, shape: outShape, outer: [0], inner: sources)
    }

    func interpolate(_ x: Tensor, outShape: [Int]) throws -> Tensor {
        let (batch, channels) = (x.shape[0], x.shape[1])
        let plane = x.count / max(batch &* channels, 1)
        let perBatch = points / max(batch, 1)
        let data = try x.doubleValues()
        var result = try TensorAllocation.array(repeating: 0 as Double, shape: outShape)
        data.withUnsafeBufferPointer { source in
            indices.withUnsafeBufferPointer { index in
                weights.withUnsafeBufferPointer { weight in
                    func accumulate(_ point: Int, _ axis: Int, _ offset: Int) -> Double {
                        var sum = 0.0
                        for k in 0..<taps {
                            let slot = (point &* rank &+ axis) &* taps &+ k
                            guard index[slot] >= 0 else { continue }
                            let next = offset &+ index[slot] &* strides[axis]
                            let value = axis == rank - 1 ? source[next] : accumulate(point, axis + 1, next)
                            sum += weight[slot] * value
                        }
                        return sum
                    }
                    var out = 0
                    for n in 0..<batch {
                        for c in 0..<channels {
                            let base = (n &* channels &+ c) &* plane
                            for p in 0..<perBatch {
                                result[out] = accumulate(n &* perBatch &+ p, 0, base)
                                out &+= 1
                            }
                        }
                    }
                }
            }
        }
        return try SpatialSupport.encode(result, shape: outShape, as: x.elementType)
    }
}
