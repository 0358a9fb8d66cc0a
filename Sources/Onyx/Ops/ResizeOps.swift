/// Resize (opsets 10, 11, 13, 18, 19) and Upsample (7, 9).
///
/// Follows ONNX's reference, which resamples one axis at a time in Double
/// (the filters are separable, so this equals the N-D weighted sum): output
/// length `floor(scale * length)` from `scales` (the ROI does not shrink it,
/// as in onnxruntime and shape inference), or `sizes` with
/// `keep_aspect_ratio_policy`; taps beyond the axis repeat the edge element.
/// Opset differences: Resize-10 and Upsample have no attributes beyond
/// `mode` (nearest / linear) and sample at `x / scale`, taking the floor
/// when upsampling and the ceiling when downsampling (onnxruntime's rule);
/// `tf_half_pixel_for_nn` exists only before 13; `axes`, `antialias` and
/// `keep_aspect_ratio_policy` from 18; `half_pixel_symmetric` from 19.
/// `pytorch_half_pixel` maps a length-1 output to 0, as the spec says.
/// Nearest mode copies elements (any type, strings too); linear and cubic
/// need real numbers: integers round half to even and saturate.
enum ResizeOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Resize", versions: [10, 11, 13, 18, 19]) { try ResizeKernel($0, upsample: false) }
        registry.register("Upsample", versions: [7, 9]) { try ResizeKernel($0, upsample: true) }
        registry.register("Upsample", since: 10) { _ in
            throw OnyxError.unsupportedOperator("Upsample is deprecated from opset 10; use Resize")
        }
    }
}

enum ResizeAspectPolicy: String, Sendable {
    case stretch
    case notLarger = "not_larger"
    case notSmaller = "not_smaller"
}

/// A Resize / Upsample node's attributes and input layout.
struct ResizeSettings: Sendable {
    var mode = ResizeMode.nearest
    var nearestMode = ResizeNearestMode.legacy
    var coordinateMode = ResizeCoordinateMode.asymmetric
    var cubicA = -0.75
    var excludeOutside = false
    var extrapolation = 0.0
    var antialias = false
    var axes: [Int]?
    var aspectPolicy = ResizeAspectPolicy.stretch
}

struct ResizeKernel: Kernel {
    let settings: ResizeSettings
    let roiInput: Int?
    let scalesInput: Int?
    let sizesInput: Int?
    /// Upsample-7's `scales` attribute.
    let fixedScales: [Double]?
    let upsample: Bool

    init(_ context: OpContext, upsample: Bool) throws {
        var s = ResizeSettings()
        let legacy = upsample || context.opset < 11
        let modeName = try context.string("mode", default: "nearest")
        try context.check("mode", modeName, in: legacy ? ["nearest", "linear"] : ["nearest", "linear", "cubic"])
        s.mode = ResizeMode(rawValue: modeName) ?? .nearest
        self.upsample = upsample
        fixedScales = upsample && context.opset < 9 ? try Self.scalesAttribute(context) : nil
        if legacy {
            (roiInput, scalesInput, sizesInput) = (nil, fixedScales == nil ? 1 : nil, nil)
            settings = s
            return
        }
        (roiInput, scalesInput, sizesInput) = (1, 2, 3)
        var coordinateModes = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"]
        if context.opset < 13 { coordinateModes.append("tf_half_pixel_for_nn") }
        if context.opset >= 19 { coordinateModes.append("half_pixel_symmetric") }
        let coordinate = try context.string("coordinate_transformation_mode", default: "half_pixel")
        try context.check("coordinate_transformation_mode", coordinate, in: coordinateModes)
        s.coordinateMode = ResizeCoordinateMode(rawValue: coordinate) ?? .halfPixel
        let nearest = try context.string("nearest_mode", default: "round_prefer_floor")
        try context.check("nearest_mode", nearest, in: ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
        s.nearestMode = ResizeNearestMode(rawValue: nearest) ?? .roundPreferFloor
        s.cubicA = Double(try context.float("cubic_coeff_a", default: -0.75))
        s.excludeOutside = try context.int("exclude_outside", default: 0) != 0
        s.extrapolation = Double(try context.float("extrapolation_value", default: 0))
        if context.opset >= 18 {
            s.antialias = try context.int("antialias", default: 0) != 0 && s.mode != .nearest
            s.axes = try context.ints("axes")
            let policy = try context.string("keep_aspect_ratio_policy", default: "stretch")
            try context.check("keep_aspect_ratio_policy", policy, in: ["stretch", "not_larger", "not_smaller"])
            s.aspectPolicy = ResizeAspectPolicy(rawValue: policy) ?? .stretch
        }
        settings = s
    }

    private static func scalesAttribute(_ context: OpContext) throws -> [Double] {
        guard let scales = try context.floats("scales") else {
            throw OnyxError.invalidModel("attribute \"scales\" is required")
        }
        return scales.map(Double.init)
    }

    func run(_ inputs: [Value?], _ context: RunContext) throws -> [Value?] {
        let x = try inputs.tensor(0)
        let axes = try resolvedAxes(rank: x.shape.count)
        var plan = try resizedAxes(x.shape, axes: axes, inputs)
        let outShape = plan.reduce(into: x.shape) { $0[$1.axis] = $1.outLength }
        let count = try Tensor.checkedCount(outShape)
        try SpatialSupport.checkOutput(x.elementType, count: count)
        if count == 0 { return [.tensor(try Tensor.zeros(x.elementType, outShape))] }
        plan.removeAll { isIdentity($0) }
        let kernels = try plan.map { try ResizeAxisKernel($0, settings) }
        if settings.mode == .nearest {
            var maps = x.shape.map { Array(0..<$0) }
            for (axis, kernel) in zip(plan, kernels) {
                maps[axis.axis] = zip(kernel.indices, kernel.extrapolated).map { $1 ? -1 : $0 }
            }
            let layout = SpatialSupport.separablePlan(inputShape: x.shape, maps: maps)
            let fill = settings.coordinateMode == .tfCropAndResize && x.elementType != .string
                ? try Tensor.fromDoubles([settings.extrapolation], shape: [], as: x.elementType) : nil
            return [.tensor(try SpatialSupport.gather(x, shape: outShape, outer: layout.outer, inner: layout.inner, fill: fill))]
        }
        guard SpatialSupport.isInterpolatable(x.elementType) else {
            throw OnyxError.wrongElementType("\(settings.mode.rawValue) resize is not defined on \(x.elementType)")
        }
        var values = try x.doubleValues()
        var shape = x.shape
        for (axis, kernel) in zip(plan, kernels) {
            values = try kernel.apply(values, shape: shape, axis: axis.axis, outLength: axis.outLength,
                                      extrapolation: settings.extrapolation)
            shape[axis.axis] = axis.outLength
        }
        return [.tensor(try SpatialSupport.encode(values, shape: shape, as: x.elementType))]
    }

    private func resolvedAxes(rank: Int) throws -> [Int] {
        guard let given = settings.axes else { return Array(0..<rank) }
        let axes = try given.map { try normalizeAxis($0, rank: rank, name: "axes entry") }
        guard Set(axes).count == axes.count else { throw OnyxError.invalidModel("axes \(given) repeat an axis") }
        return axes
    }

    private func nonEmpty(_ inputs: [Value?], _ index: Int?) throws -> Tensor? {
        guard let index, let tensor = try inputs.optionalTensor(index), tensor.count > 0 else { return nil }
        return tensor
    }

    /// The scale, output length and ROI of each axis in `axes`, in that order.
    private func resizedAxes(_ shape: [Int], axes: [Int], _ inputs: [Value?]) throws -> [ResizeAxis] {
        let scales = try fixedScales ?? nonEmpty(inputs, scalesInput)?.doubleValues()
        let sizes = try nonEmpty(inputs, sizesInput)?.int64Values()
        var plan: [ResizeAxis]
        switch (scales, sizes) {
        case (let scales?, nil):
            guard scales.count == axes.count else {
                throw OnyxError.invalidModel("scales has \(scales.count) entries for \(axes.count) axes")
            }
            plan = try zip(axes, scales).map { axis, scale in
                guard scale.isFinite, scale > 0, !upsample || scale >= 1 else {
                    throw OnyxError.invalidModel("scale \(scale) must be \(upsample ? "at least 1" : "positive")")
                }
                let length = (scale * Double(shape[axis])).rounded(.down)
                guard length < 1e18 else { throw OnyxError.resourceLimit("resized length \(length) is too large") }
                return ResizeAxis(axis: axis, inLength: shape[axis], outLength: Int(length), scale: scale)
            }
        case (nil, let sizes?):
            guard sizes.count == axes.count else {
                throw OnyxError.invalidModel("sizes has \(sizes.count) entries for \(axes.count) axes")
            }
            plan = try zip(axes, sizes).map { axis, size in
                guard size >= 0, let length = Int(exactly: size) else { throw OnyxError.invalidModel("negative size \(size)") }
                guard shape[axis] > 0 || length == 0 else {
                    throw OnyxError.invalidModel("cannot resize axis \(axis) of length 0 to \(length)")
                }
                let scale = shape[axis] > 0 ? Double(length) / Double(shape[axis]) : 1
                return ResizeAxis(axis: axis, inLength: shape[axis], outLength: length, scale: scale)
            }
            if settings.aspectPolicy != .stretch, !plan.isEmpty, !plan.contains(where: { $0.inLength == 0 }) {
                let ratios = plan.map(\.scale)
                let scale = (settings.aspectPolicy == .notLarger ? ratios.min() : ratios.max()) ?? 1
                for index in plan.indices {
                    let length = scale * Double(plan[index].inLength) + 0.5
                    guard length < 1e18 else { throw OnyxError.resourceLimit("resized length \(length) is too large") }
                    plan[index].scale = scale
                    plan[index].outLength = Int(length)
                }
            }
        default:
            throw OnyxError.invalidModel("exactly one of scales and sizes must be given")
        }
        if settings.coordinateMode == .tfCropAndResize {
            guard let roi = try nonEmpty(inputs, roiInput) else {
                throw OnyxError.invalidModel("tf_crop_and_resize needs the roi input")
            }
            let values = try roi.doubleValues()
            guard values.count == 2 * axes.count, values.allSatisfy(\.isFinite) else {
                throw OnyxError.invalidModel("roi must hold \(2 * axes.count) finite values, got \(values)")
            }
            for index in plan.indices {
                plan[index].roiStart = values[index]
                plan[index].roiEnd = values[index + axes.count]
                plan[index].roiSingle = roi.elementType == .float
            }
        }
        return plan
    }

    /// An axis the reference leaves untouched (scale close to 1, same length, full ROI).
    private func isIdentity(_ axis: ResizeAxis) -> Bool {
        guard abs(axis.scale - 1) <= 1e-9 * max(abs(axis.scale), 1), axis.outLength == axis.inLength else { return false }
        guard settings.coordinateMode == .tfCropAndResize else { return true }
        return axis.roiStart == 0 && abs(axis.roiEnd - 1) <= 1e-9 * max(abs(axis.roiEnd), 1)
    }
}
