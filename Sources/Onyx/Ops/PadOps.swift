/// Pad, in every version.
///
/// - Opset 1: `paddings`, `mode`, `value` attributes; opset 2: `pads`,
///   `mode`, `value`; from 11: `pads` (int64) and optional `constant_value`
///   (same type as data, one element; default 0 / "" / false) are inputs;
///   from 18 an optional `axes` input names the padded axes (negative
///   allowed); from 19 `mode` may be "wrap".
/// - `pads` is `[b_1, ..., b_n, e_1, ..., e_n]`; negative values crop.
/// - reflect / edge / wrap follow numpy's `pad`: reflect mirrors without
///   repeating the edge element and keeps mirroring when the padding is
///   wider than the axis; padding an empty axis in these modes is an error.
enum PadOps {
    enum Mode: String { case constant, reflect, edge, wrap }

    static func register(into registry: inout OpRegistry) {
        for (since, padsName) in [(1, "paddings"), (2, "pads")] {
            registry.register("Pad", since: since) { context in
                guard let pads = try context.ints(padsName) else {
                    throw OnyxError.invalidModel("attribute \"\(padsName)\" is required")
                }
                let mode = try padMode(context)
                let value = try context.float("value", default: 0)
                return ClosureKernel { inputs, _ in
                    let data = try inputs.tensor(0)
                    let constant = try Tensor.fromFloats([value], shape: [1], as: data.elementType)
                    return [.tensor(try pad(data, pads: pads, axes: nil, mode: mode, constant: constant))]
                }
            }
        }
        registry.register("Pad", since: 11) { context in
            let mode = try padMode(context)
            let takesAxes = context.opset >= 18
            return ClosureKernel { inputs, _ in
                let data = try inputs.tensor(0)
                let pads = try inputs.tensor(1).indexValues("pads")
                let axes = takesAxes ? try inputs.optionalTensor(3)?.indexValues("axes") : nil
                var constant = try Tensor.zeros(data.elementType, [1])
                if let given = try inputs.optionalTensor(2) {
                    guard given.count == 1, given.elementType == data.elementType else {
                        throw OnyxError.invalidModel(
                            "constant_value must be one \(data.elementType) element, got \(given)")
                    }
                    constant = try given.reshaped([1])
                }
                return [.tensor(try pad(data, pads: pads, axes: axes, mode: mode, constant: constant))]
            }
        }
    }

    private static func padMode(_ context: OpContext) throws -> Mode {
        let name = try context.string("mode", default: "constant")
        let allowed = context.opset >= 19 ? ["constant", "reflect", "edge", "wrap"] : ["constant", "reflect", "edge"]
        try context.check("mode", name, in: allowed)
        return Mode(rawValue: name) ?? .constant
    }

    static func pad(_ data: Tensor, pads: [Int], axes: [Int]?, mode: Mode, constant: Tensor) throws -> Tensor {
        let rank = data.shape.count
        let padded = try (axes ?? Array(0..<rank)).map { try normalizeAxis($0, rank: rank) }
        guard pads.count == 2 * padded.count, Set(padded).count == padded.count, padded.allSatisfy({ $0 < rank }) else {
            throw OnyxError.invalidModel("pads \(pads) do not fit axes \(axes ?? Array(0..<rank)) of shape \(data.shape)")
        }
        var begin = [Int](repeating: 0, count: rank)
        var end = [Int](repeating: 0, count: rank)
        for (i, axis) in padded.enumerated() {
            begin[axis] = pads[i]
            end[axis] = pads[padded.count + i]
        }
        var outShape = data.shape
        for axis in 0..<rank {
            let (partial, overflowA) = data.shape[axis].addingReportingOverflow(begin[axis])
            let (total, overflowB) = partial.addingReportingOverflow(end[axis])
            guard !overflowA, !overflowB, total >= 0 else {
                throw OnyxError.shapeMismatch("pads \(pads) give a negative or overflowing size for shape \(data.shape)")
            }
            if mode != .constant, data.shape[axis] == 0, total > 0 {
                throw OnyxError.shapeMismatch("cannot pad empty axis \(axis) in \(mode.rawValue) mode")
            }
            outShape[axis] = total
        }
        let strides = Tensor.strides(data.shape)
        return try IndexedCopy.build(data, outShape: outShape, fill: mode == .constant ? constant : nil) {
            (0..<rank).map { axis in
                let n = data.shape[axis]
                return (0..<outShape[axis]).map { position in
                    let source = position &- begin[axis]
                    if source >= 0, source < n { return source &* strides[axis] }
                    return sourceIndex(source, n, mode).map { $0 &* strides[axis] } ?? -1
                }
            }
        }
    }

    /// Where position `index` (outside `0..<n`, n > 0) reads from, or nil for the constant.
    private static func sourceIndex(_ index: Int, _ n: Int, _ mode: Mode) -> Int? {
        switch mode {
        case .constant: return nil
        case .edge: return index < 0 ? 0 : n - 1
        case .wrap: return ((index % n) + n) % n
        case .reflect:
            guard n > 1 else { return 0 }
            let period = 2 &* (n - 1)
            let folded = ((index % period) + period) % period
            return folded < n ? folded : period - folded
        }
    }
}
