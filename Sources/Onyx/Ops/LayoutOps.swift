/// Transpose, DepthToSpace, SpaceToDepth, Expand and Tile: outputs that
/// permute or repeat the input's elements, each one table-driven copy.
///
/// - Transpose: `perm` defaults to reversing the axes; it must be a
///   permutation of 0..<rank.
/// - DepthToSpace: 4-D input; `mode` (opset 11+) DCR (default) or CRD.
/// - SpaceToDepth: 4-D input; `mode` (opset 28+) DCR (default) or CRD.
///   `blocksize` must be positive and divide the moved dimensions.
/// - Expand (opset 8+): the output shape is the bidirectional broadcast of
///   the input's shape and the `shape` input (a 1 in `shape` keeps the
///   input's dimension).
/// - Tile: from opset 6, `repeats` (int64, one non-negative entry per axis);
///   opset 1 takes scalar `tiles` and `axis` inputs and repeats one axis.
///   Output dimension i is `dim_i * repeats_i`, checked for overflow and
///   against the memory limit.
enum LayoutOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Transpose", since: 1) { context in
            let perm = try context.ints("perm")
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let rank = data.shape.count
                let order = perm ?? Array((0..<rank).reversed())
                guard order.count == rank, order.sorted() == Array(0..<rank) else {
                    throw OnyxError.invalidModel("perm \(order) is not a permutation of the \(rank) axes of \(data.shape)")
                }
                if order == Array(0..<rank) { return [.tensor(data)] }
                return [.tensor(try IndexedCopy.permuted(data, viewShape: data.shape, perm: order))]
            }
        }
        registry.register("DepthToSpace", since: 1) { context in
            let (block, crd) = try blockAttributes(context)
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let (b, c, h, w) = try dims4(data)
                let square = block &* block
                guard c % square == 0 else {
                    throw OnyxError.shapeMismatch("channels \(c) are not divisible by blocksize² = \(square)")
                }
                let depth = c / square
                let view = crd ? [b, depth, block, block, h, w] : [b, block, block, depth, h, w]
                let perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2]
                let moved = try IndexedCopy.permuted(data, viewShape: view, perm: perm)
                return [.tensor(try moved.reshaped([b, depth, h &* block, w &* block]))]
            }
        }
        registry.register("SpaceToDepth", since: 1) { context in
            let (block, crd) = try blockAttributes(context)
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let (b, c, h, w) = try dims4(data)
                guard h % block == 0, w % block == 0 else {
                    throw OnyxError.shapeMismatch("spatial size \(h)x\(w) is not divisible by blocksize \(block)")
                }
                let view = [b, c, h / block, block, w / block, block]
                let perm = crd ? [0, 1, 3, 5, 2, 4] : [0, 3, 5, 1, 2, 4]
                let moved = try IndexedCopy.permuted(data, viewShape: view, perm: perm)
                return [.tensor(try moved.reshaped([b, c &* block &* block, h / block, w / block]))]
            }
        }
        registry.register("Expand", since: 8) { _ in
            ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let shape = try inputs.tensor(1).indexValues("shape")
                for dim in shape where dim < 0 { throw OnyxError.invalidModel("shape \(shape) has a negative dimension") }
                return [.tensor(try expand(data, to: try Broadcast.shape([data.shape, shape])))]
            }
        }
        registry.register("Tile", since: 1) { _ in
            ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let tiles = try inputs.tensor(1).int64Values()
                let axes = try inputs.tensor(2).int64Values()
                guard tiles.count == 1, axes.count == 1 else {
                    throw OnyxError.invalidModel("tiles and axis must each hold one value")
                }
                let axis = try normalizeAxis(Int(axes[0]), rank: data.shape.count)
                var repeats = [Int](repeating: 1, count: data.shape.count)
                guard axis < repeats.count else { throw OnyxError.shapeMismatch("cannot tile a scalar") }
                repeats[axis] = Int(tiles[0])
                return [.tensor(try tile(data, repeats))]
            }
        }
        registry.register("Tile", since: 6) { _ in
            ClosureKernel { inputs, _ in
                [.tensor(try tile(try inputs.tensor(0), try inputs.tensor(1).indexValues("repeats")))]
            }
        }
    }

    private static func blockAttributes(_ context: OpContext) throws -> (block: Int, crd: Bool) {
        guard let block = try context.int("blocksize") else {
            throw OnyxError.invalidModel("attribute \"blocksize\" is required")
        }
        guard block > 0, block <= Int(Int32.max) else {
            throw OnyxError.invalidModel("blocksize \(block) must be positive")
        }
        let mode = try context.string("mode", default: "DCR")
        try context.check("mode", mode, in: ["DCR", "CRD"])
        return (block, mode == "CRD")
    }

    private static func dims4(_ data: Tensor) throws -> (Int, Int, Int, Int) {
        guard data.shape.count == 4 else {
            throw OnyxError.shapeMismatch("input must be 4-D (N, C, H, W), got shape \(data.shape)")
        }
        return (data.shape[0], data.shape[1], data.shape[2], data.shape[3])
    }

    static func expand(_ data: Tensor, to outShape: [Int]) throws -> Tensor {
        if outShape == data.shape { return data }
        let strides = Broadcast.strides(of: data.shape, broadcastTo: outShape)
        return try IndexedCopy.build(data, outShape: outShape) {
            outShape.indices.map { IndexedCopy.arithmetic(count: outShape[$0], stride: strides[$0]) }
        }
    }

    /// Tiling is a copy over the view `[r0, d0, r1, d1, ...]`, whose
    /// row-major order is the output's; the repeat axes read stride 0.
    static func tile(_ data: Tensor, _ repeats: [Int]) throws -> Tensor {
        let rank = data.shape.count
        guard repeats.count == rank else {
            throw OnyxError.shapeMismatch("repeats has \(repeats.count) entries for input of shape \(data.shape)")
        }
        var outShape: [Int] = []
        var view: [Int] = []
        for (axis, count) in repeats.enumerated() {
            guard count >= 0 else { throw OnyxError.invalidModel("repeats \(repeats) has a negative entry") }
            let (product, overflow) = data.shape[axis].multipliedReportingOverflow(by: count)
            guard !overflow else { throw OnyxError.resourceLimit("tiled dimension overflows") }
            outShape.append(product)
            view += [count, data.shape[axis]]
        }
        let strides = Tensor.strides(data.shape)
        return try IndexedCopy.build(data, outShape: outShape, view: view) {
            repeats.indices.flatMap { axis in
                [[Int](repeating: 0, count: repeats[axis]),
                 IndexedCopy.arithmetic(count: data.shape[axis], stride: strides[axis])]
            }
        }
    }
}
