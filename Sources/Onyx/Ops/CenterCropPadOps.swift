/// CenterCropPad (opset 18): crops or zero-pads each listed axis (all
/// axes when `axes` is absent; negative axes count from the back) to the
/// length in `shape`, keeping the content centered. An odd surplus puts the
/// extra element on the right: a crop starts at `floor((L - S) / 2)`, a pad
/// inserts `floor((S - L) / 2)` elements before. Any element type (padding
/// is zero, false or the empty string).
enum CenterCropPadOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("CenterCropPad", since: 18) { context in
            let axes = try context.ints("axes")
            return ClosureKernel { inputs, _ in
                [.tensor(try centerCropPad(try inputs.tensor(0), try inputs.tensor(1), axes: axes))]
            }
        }
    }

    static func centerCropPad(_ x: Tensor, _ shape: Tensor, axes given: [Int]?) throws -> Tensor {
        guard shape.elementType == .int64 || shape.elementType == .int32 else {
            throw OnyxError.wrongElementType("shape must be int32 or int64, got \(shape.elementType)")
        }
        let rank = x.shape.count
        let axes = try given.map { try $0.map { try normalizeAxis($0, rank: rank, name: "axes entry") } } ?? Array(0..<rank)
        guard Set(axes).count == axes.count else { throw OnyxError.invalidModel("axes \(axes) repeat an axis") }
        let targets = try shape.int64Values()
        guard targets.count == axes.count else {
            throw OnyxError.invalidModel("shape has \(targets.count) entries for \(axes.count) axes")
        }
        var outShape = x.shape
        for (axis, target) in zip(axes, targets) {
            guard target >= 0, let length = Int(exactly: target) else {
                throw OnyxError.invalidModel("negative target length \(target)")
            }
            // Each axis gets an index map of its target length, even when
            // another axis makes the output empty.
            _ = try TensorAllocation.checkedBytes(.int64, count: length)
            outShape[axis] = length
        }
        try SpatialSupport.checkOutput(x.elementType, count: try Tensor.checkedCount(outShape))
        let maps = zip(x.shape, outShape).map { length, target -> [Int] in
            if target <= length {
                let start = (length - target) / 2
                return Array(start..<(start + target))
            }
            let before = (target - length) / 2
            return (0..<target).map { $0 >= before && $0 - before < length ? $0 - before : -1 }
        }
        let plan = SpatialSupport.separablePlan(inputShape: x.shape, maps: maps)
        return try SpatialSupport.gather(x, shape: outShape, outer: plan.outer, inner: plan.inner)
    }
}
