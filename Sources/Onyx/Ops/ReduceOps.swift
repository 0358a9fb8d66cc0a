/// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
/// ReduceL2, ReduceLogSum, ReduceLogSumExp and ReduceSumSquare.
///
/// Axes come from the `axes` attribute up to opset 12 (ReduceSum) or 17
/// (the others) and from the optional second input afterwards; there,
/// `noop_with_empty_axes = 1` with absent or empty axes reduces over no
/// axis, so composite reductions still apply their element step (ReduceL1
/// gives |x|, ReduceLogSum gives log x, ReduceSumSquare gives x²). Absent
/// or empty axes otherwise reduce over every axis. Duplicate axes are an
/// error.
///
/// Reducing an empty set gives the operation's identity: 0 for Sum, L1,
/// L2 and SumSquare, 1 for Prod, -inf for LogSum and LogSumExp, NaN for a
/// floating-point Mean, and for Max / Min -inf / +inf (integers: the
/// type's minimum / maximum; bool: false / true).
///
/// Floating-point types accumulate in Double and round once at the end;
/// Max and Min propagate NaN. Integer types compute in their own width
/// with wrapping arithmetic (Mean divides truncating toward zero); the
/// steps that leave the integers (L2's square root, LogSum, LogSumExp)
/// go through Double and convert back truncating and saturating.
/// ReduceLogSum and ReduceLogSumExp reject integer types from opset 28.
enum ReduceOps {
    static func register(into registry: inout OpRegistry) {
        let kinds: [(String, ReduceKind, [Int], Int)] = [
            ("ReduceSum", .sum, [1, 11, 13], 13),
            ("ReduceMean", .mean, [1, 11, 13, 18], 18),
            ("ReduceMax", .max, [1, 11, 12, 13, 18, 20], 18),
            ("ReduceMin", .min, [1, 11, 12, 13, 18, 20], 18),
            ("ReduceProd", .prod, [1, 11, 13, 18], 18),
            ("ReduceL1", .l1, [1, 11, 13, 18], 18),
            ("ReduceL2", .l2, [1, 11, 13, 18], 18),
            ("ReduceLogSum", .logSum, [1, 11, 13, 18, 28], 18),
            ("ReduceLogSumExp", .logSumExp, [1, 11, 13, 18, 28], 18),
            ("ReduceSumSquare", .sumSquare, [1, 11, 13, 18], 18),
        ]
        for (name, kind, versions, axesInputSince) in kinds {
            registry.register(name, versions: versions) { try build(kind, axesInputSince: axesInputSince, $0) }
        }
    }

    static func build(_ kind: ReduceKind, axesInputSince: Int, _ context: OpContext) throws -> any Kernel {
        let keepdims = try context.int("keepdims", default: 1) != 0
        let axesFromInput = context.opset >= axesInputSince
        let noop = axesFromInput ? try context.int("noop_with_empty_axes", default: 0) != 0 : false
        let attributeAxes = axesFromInput ? nil : try context.ints("axes")
        let integersAllowed = !(kind == .logSum || kind == .logSumExp) || context.opset < 28
        return ClosureKernel { inputs, _ in
            let data = try inputs.tensor(0)
            var axes = attributeAxes
            if axesFromInput, let axesTensor = try inputs.optionalTensor(1) {
                guard axesTensor.elementType == .int64, axesTensor.shape.count <= 1 else {
                    throw OnyxError.invalidModel("axes must be a 1-D int64 tensor, got \(axesTensor)")
                }
                axes = try axesTensor.int64Values().map { Int(truncatingIfNeeded: $0) }
            }
            let reduced: [Int]?
            if let axes, !axes.isEmpty {
                reduced = axes
            } else {
                reduced = noop ? [] : nil
            }
            let geometry = try ReductionGeometry(shape: data.shape, axes: reduced, keepdims: keepdims)
            if data.elementType.isInteger && !integersAllowed {
                throw OnyxError.wrongElementType("\(kind) is not defined on \(data.elementType) from opset 28")
            }
            return [.tensor(try ReduceVisitor(data: data, geometry: geometry, kind: kind).apply())]
        }
    }
}

/// The reduction a Reduce* operator applies.
enum ReduceKind: Sendable {
    case sum, mean, max, min, prod, l1, l2, logSum, logSumExp, sumSquare
}

/// How the elements of an input fold into the elements of a reduction's
/// output: `forEach` visits input elements in row-major order with the
/// offset of the output element each one contributes to.
struct ReductionGeometry: Sendable {
    let inputShape: [Int]
    let outputShape: [Int]
    let outputCount: Int
    /// Number of input elements folded into each output element.
    let reducedCount: Int
    /// Per input axis, the output stride (0 along reduced axes).
    let outputStrides: [Int]

    /// `axes` nil reduces over every axis; `[]` over none.
    init(shape: [Int], axes: [Int]?, keepdims: Bool) throws {
        let rank = shape.count
        var isReduced = [Bool](repeating: axes == nil, count: rank)
        for axis in axes ?? [] {
            let resolved = try normalizeAxis(axis, rank: rank, name: "axis")
            guard rank > 0 else { continue }
            guard !isReduced[resolved] else { throw OnyxError.invalidModel("axis \(axis) is repeated in axes") }
            isReduced[resolved] = true
        }
        var kept: [Int] = []
        var reducedCount = 1
        for axis in 0..<rank {
            if isReduced[axis] {
                reducedCount &*= shape[axis]
                if keepdims { kept.append(1) }
            } else {
                kept.append(shape[axis])
            }
        }
        let keptShape = (0..<rank).map { isReduced[$0] ? 1 : shape[$0] }
        let contiguous = Tensor.strides(keptShape)
        inputShape = shape
        outputShape = kept
        outputCount = try Tensor.checkedCount(kept)
        self.reducedCount = reducedCount
        outputStrides = (0..<rank).map { isReduced[$0] ? 0 : contiguous[$0] }
    }

    /// Calls `body(inputOffset, outputOffset)` for every input element.
    func forEach(_ body: (Int, Int) throws -> Void) rethrows {
        let rank = inputShape.count
        let count = inputShape.reduce(1, &*)
        guard count > 0 else { return }
        guard rank > 0 else { return try body(0, 0) }
        let inner = inputShape[rank - 1]
        let innerStride = outputStrides[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var base = 0
        var input = 0
        while input < count {
            var output = base
            for _ in 0..<inner {
                try body(input, output)
                input &+= 1
                output &+= innerStride
            }
            var axis = rank - 2
            while axis >= 0 {
                index[axis] &+= 1
                base &+= outputStrides[axis]
                if index[axis] < inputShape[axis] { break }
                base &-= outputStrides[axis] &* inputShape[axis]
                index[axis] = 0
                axis -= 1
            }
            if axis < 0 { break }
        }
    }
}

/// Converts a Double to an integer type: NaN gives 0, otherwise truncates
/// toward zero and saturates at the type's bounds.
@inline(__always)
func saturatingInteger<T: FixedWidthInteger>(_ value: Double, as: T.Type = T.self) -> T {
    guard !value.isNaN else { return 0 }
    let truncated = value.rounded(.towardZero)
    if truncated >= Double(T.max) { return T.max }
    if truncated <= Double(T.min) { return T.min }
    return T(truncated)
}
