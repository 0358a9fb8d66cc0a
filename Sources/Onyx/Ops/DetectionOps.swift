import Foundation

/// Object-detection operators: NonMaxSuppression (10, 11), RoiAlign (10,
/// 16, 22) and MaxRoiPool (1, 22). DeformConv and MaxUnpool are in
/// `DetectionOps+Conv.swift`.
enum DetectionOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("NonMaxSuppression", versions: [10, 11]) { context in
            let centerPointBox = try context.int("center_point_box", default: 0)
            guard centerPointBox == 0 || centerPointBox == 1 else {
                throw OnyxError.invalidModel("center_point_box must be 0 or 1, got \(centerPointBox)")
            }
            return ClosureKernel { inputs, _ in
                [.tensor(try nonMaxSuppression(inputs, centerPointBox: centerPointBox == 1))]
            }
        }
        registry.register("RoiAlign", versions: [10, 16, 22]) { context in
            let mode = try context.string("mode", default: "avg")
            try context.check("mode", mode, in: ["avg", "max"])
            let transform = context.opset < 16
                ? "output_half_pixel" : try context.string("coordinate_transformation_mode", default: "half_pixel")
            try context.check("coordinate_transformation_mode", transform, in: ["half_pixel", "output_half_pixel"])
            let settings = RoiAlignSettings(
                maxMode: mode == "max", halfPixel: transform == "half_pixel",
                outputHeight: try context.int("output_height", default: 1),
                outputWidth: try context.int("output_width", default: 1),
                samplingRatio: try context.int("sampling_ratio", default: 0),
                spatialScale: try context.float("spatial_scale", default: 1))
            guard settings.outputHeight > 0, settings.outputWidth > 0, (0...(1 << 24)).contains(settings.samplingRatio) else {
                throw OnyxError.invalidModel("output_height/width must be positive and sampling_ratio non-negative")
            }
            return ClosureKernel { inputs, _ in [.tensor(try roiAlign(inputs, settings))] }
        }
        registry.register("MaxRoiPool", versions: [1, 22]) { context in
            guard let pooled = try context.ints("pooled_shape"), pooled.count == 2, pooled.allSatisfy({ $0 > 0 }) else {
                throw OnyxError.invalidModel("pooled_shape must be two positive integers")
            }
            let scale = try context.float("spatial_scale", default: 1)
            return ClosureKernel { inputs, _ in [.tensor(try maxRoiPool(inputs, pooled: pooled, scale: scale))] }
        }
        registerConvLike(into: &registry)
    }

    // MARK: - NonMaxSuppression

    /// Greedy per-(batch, class) selection in descending score order (ties:
    /// lower box index first; NaN scores last). A box is suppressed when its
    /// IoU with an already selected box of the class is strictly greater
    /// than `iou_threshold`; with a `score_threshold` only scores strictly
    /// above it are candidates. Omitted `max_output_boxes_per_class` means 0
    /// (no output). Geometry is computed in Float, as the inputs are float.
    static func nonMaxSuppression(_ inputs: [Value?], centerPointBox: Bool) throws -> Tensor {
        let boxes = try inputs.tensor(0)
        let scores = try inputs.tensor(1)
        guard boxes.elementType == .float, scores.elementType == .float else {
            throw OnyxError.wrongElementType("boxes and scores must be float, got \(boxes.elementType), \(scores.elementType)")
        }
        guard boxes.shape.count == 3, boxes.shape[2] == 4, scores.shape.count == 3,
              scores.shape[0] == boxes.shape[0], scores.shape[2] == boxes.shape[1]
        else {
            throw OnyxError.shapeMismatch("boxes must be [B, N, 4] and scores [B, C, N], got \(boxes.shape), \(scores.shape)")
        }
        let maxPerClass = try inputs.optionalTensor(2).flatMap { try $0.int64Values().first }.map { max(0, $0) } ?? 0
        let iouThreshold = try inputs.optionalTensor(3).flatMap { try $0.floatValues().first } ?? 0
        let scoreThreshold = try inputs.optionalTensor(4).flatMap { try $0.floatValues().first }
        let (batches, classes, count) = (scores.shape[0], scores.shape[1], scores.shape[2])
        let corners = try boxes.floatValues()
        let scoreValues = try scores.floatValues()
        var selected: [Int64] = []
        var candidates: [Int] = []
        var kept: [Int] = []
        for batch in 0..<batches {
            let boxBase = batch &* count
            var edges = [Float](repeating: 0, count: count &* 4)
            for box in 0..<count { edgesOf(corners, box: boxBase &+ box, centerPointBox, into: &edges, at: box) }
            for cls in 0..<classes {
                let scoreBase = (batch &* classes &+ cls) &* count
                candidates.removeAll(keepingCapacity: true)
                for box in 0..<count {
                    let score = scoreValues[scoreBase &+ box]
                    if let scoreThreshold, !(score > scoreThreshold) { continue }
                    candidates.append(box)
                }
                candidates.sort { a, b in
                    let (sa, sb) = (scoreValues[scoreBase &+ a], scoreValues[scoreBase &+ b])
                    if sa.isNaN || sb.isNaN { return sb.isNaN && (!sa.isNaN || a < b) }
                    return sa > sb || (sa == sb && a < b)
                }
                kept.removeAll(keepingCapacity: true)
                for box in candidates {
                    if Int64(kept.count) >= maxPerClass { break }
                    if kept.contains(where: { overlaps(edges, box, $0, above: iouThreshold) }) { continue }
                    kept.append(box)
                    selected.append(Int64(batch))
                    selected.append(Int64(cls))
                    selected.append(Int64(box))
                }
            }
        }
        return try Tensor(shape: [selected.count / 3, 3], scalars: selected)
    }

    /// Stores box `box` as (xMin, xMax, yMin, yMax).
    private static func edgesOf(_ data: [Float], box: Int, _ centered: Bool, into edges: inout [Float], at slot: Int) {
        let b = box &* 4
        let (x, y): ((Float, Float), (Float, Float))
        if centered {
            let (halfW, halfH) = (data[b + 2] / 2, data[b + 3] / 2)
            x = (data[b] - halfW, data[b] + halfW)
            y = (data[b + 1] - halfH, data[b + 1] + halfH)
        } else {
            x = (min(data[b + 1], data[b + 3]), max(data[b + 1], data[b + 3]))
            y = (min(data[b], data[b + 2]), max(data[b], data[b + 2]))
        }
        edges[slot * 4] = x.0
        edges[slot * 4 + 1] = x.1
        edges[slot * 4 + 2] = y.0
        edges[slot * 4 + 3] = y.1
    }

    private static func overlaps(_ e: [Float], _ i: Int, _ j: Int, above threshold: Float) -> Bool {
        let (a, b) = (i * 4, j * 4)
        let left = max(e[a], e[b]), right = min(e[a + 1], e[b + 1])
        guard right > left else { return false }
        let bottom = max(e[a + 2], e[b + 2]), top = min(e[a + 3], e[b + 3])
        guard top > bottom else { return false }
        let intersection = (right - left) * (top - bottom)
        let areaA = (e[a + 1] - e[a]) * (e[a + 3] - e[a + 2])
        let areaB = (e[b + 1] - e[b]) * (e[b + 3] - e[b + 2])
        let union = areaA + areaB - intersection
        guard intersection > 0, areaA > 0, areaB > 0, union > 0 else { return false }
        return intersection / union > threshold
    }

    // MARK: - MaxRoiPool

    /// Caffe-style RoI max pooling: rois are `[batch, x1, y1, x2, y2]`,
    /// scaled and rounded (half away from zero); each RoI is at least 1×1
    /// and is split into `pooled_shape` bins with floor/ceil edges clipped
    /// to the input. Empty bins give 0.
    static func maxRoiPool(_ inputs: [Value?], pooled: [Int], scale: Float) throws -> Tensor {
        let x = try inputs.tensor(0)
        let rois = try inputs.tensor(1)
        guard x.elementType.isFloatingPoint, rois.elementType == x.elementType else {
            throw OnyxError.wrongElementType("X and rois must share a floating-point type")
        }
        guard x.shape.count == 4, rois.shape.count == 2, rois.shape[1] == 5 else {
            throw OnyxError.shapeMismatch("X must be [N, C, H, W] and rois [R, 5], got \(x.shape), \(rois.shape)")
        }
        let (channels, height, width) = (x.shape[1], x.shape[2], x.shape[3])
        let data = try x.doubleValues()
        let boxes = try rois.doubleValues()
        let count = rois.shape[0]
        let outShape = [count, channels, pooled[0], pooled[1]]
        var out = try TensorAllocation.array(repeating: 0 as Double, shape: outShape)
        func scaled(_ v: Double) throws -> Int {
            let r = (v * Double(scale)).rounded(.toNearestOrAwayFromZero)
            guard r.isFinite else { throw OnyxError.invalidModel("RoI coordinate \(v) is not finite") }
            return clampedInt(r)
        }
        for r in 0..<count {
            let b = boxes[r * 5]
            guard b.isFinite, b >= 0, b < Double(x.shape[0]) else {
                throw OnyxError.invalidModel("RoI batch index \(b) is outside [0, \(x.shape[0]))")
            }
            let batch = Int(b)
            let (startW, startH) = (try scaled(boxes[r * 5 + 1]), try scaled(boxes[r * 5 + 2]))
            let (endW, endH) = (try scaled(boxes[r * 5 + 3]), try scaled(boxes[r * 5 + 4]))
            let binH = Double(max(endH - startH + 1, 1)) / Double(pooled[0])
            let binW = Double(max(endW - startW + 1, 1)) / Double(pooled[1])
            for c in 0..<channels {
                let plane = (batch * channels + c) * height * width
                for ph in 0..<pooled[0] {
                    let h0 = min(max(clampedInt((Double(ph) * binH).rounded(.down)) + startH, 0), height)
                    let h1 = min(max(clampedInt((Double(ph + 1) * binH).rounded(.up)) + startH, 0), height)
                    for pw in 0..<pooled[1] {
                        let w0 = min(max(clampedInt((Double(pw) * binW).rounded(.down)) + startW, 0), width)
                        let w1 = min(max(clampedInt((Double(pw + 1) * binW).rounded(.up)) + startW, 0), width)
                        guard h1 > h0, w1 > w0 else { continue }
                        var best = -Double.infinity
                        for h in h0..<h1 { for w in w0..<w1 { best = max(best, data[plane + h * width + w]) } }
                        out[((r * channels + c) * pooled[0] + ph) * pooled[1] + pw] = best
                    }
                }
            }
        }
        return try Tensor.fromDoubles(out, shape: outShape, as: x.elementType)
    }

    /// `value` as an Int, clamped to ±2^50 (far beyond any tensor extent, so
    /// sums of a few such values cannot overflow); NaN gives 0.
    static func clampedInt<T: BinaryFloatingPoint>(_ value: T) -> Int {
        guard !value.isNaN else { return 0 }
        let limit = T(Double(1 << 50))
        return Int(min(max(value, -limit), limit))
    }
}
