/// Min, Max, Sum and Mean of one or more inputs, Clip, and Where.
///
/// - Min / Max / Sum / Mean broadcast multidirectionally from opset 8;
///   before, all inputs must have one shape. Min and Max propagate NaN as
///   numpy's `minimum` / `maximum` do. Sum of integers wraps; Mean is
///   defined on floating-point types (summed in the input type, then divided).
/// - Clip: bounds are the `min` / `max` attributes before opset 11, optional
///   one-element inputs from 11; an absent bound does not clip. The result is
///   `Min(max, Max(x, min))`, so `min > max` gives `max` and NaN stays NaN.
/// - Where: `condition ? X : Y` with three-way broadcasting, any element type
///   of fixed byte size (complex too) and strings.
enum VariadicOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("Max", versions: [1, 6, 8, 12, 13]) { fold(MaxRule.self, mean: false, $0) }
        registry.register("Min", versions: [1, 6, 8, 12, 13]) { fold(MinRule.self, mean: false, $0) }
        registry.register("Sum", versions: [1, 6, 8, 13]) { fold(AddRule.self, mean: false, $0) }
        registry.register("Mean", versions: [1, 6, 8, 13]) { fold(AddRule.self, mean: true, $0) }
        registry.register("Clip", versions: [1, 6]) { context in
            let low = try context.float("min")
            let high = try context.float("max")
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let bound = { (value: Float?) in try value.map { try Tensor.fromFloats([$0], shape: [], as: x.elementType) } }
                return [.tensor(try clip(x, low: try bound(low), high: try bound(high)))]
            }
        }
        registry.register("Clip", versions: [11, 12, 13]) { _ in
            ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                return [.tensor(try clip(x, low: try scalarBound(inputs.optionalTensor(1), "min"),
                                         high: try scalarBound(inputs.optionalTensor(2), "max")))]
            }
        }
        registry.register("Where", versions: [9, 16]) { _ in
            ClosureKernel { inputs, _ in
                [.tensor(try select(try inputs.tensor(0), try inputs.tensor(1), try inputs.tensor(2)))]
            }
        }
    }

    /// Combines the inputs left to right with `Rule` (Mean then divides by the count).
    static func fold<Rule: ArithmeticRule>(_ rule: Rule.Type, mean: Bool, _ context: OpContext) -> any Kernel {
        let broadcasting = context.opset >= 8
        return ClosureKernel { inputs, _ in
            let tensors = try inputs.indices.map { try inputs.tensor($0) }
            guard let first = tensors.first else { throw OnyxError.invalidModel("at least one input is required") }
            let type = first.elementType
            guard mean ? type.isFloatingPoint : type.isFloatingPoint || type.isInteger else {
                throw OnyxError.wrongElementType("the operator is not defined on \(type)")
            }
            if !broadcasting, let other = tensors.first(where: { $0.shape != first.shape }) {
                throw OnyxError.shapeMismatch("shapes \(first.shape) and \(other.shape) differ (no broadcasting before opset 8)")
            }
            var result = first
            for next in tensors.dropFirst() { result = try ArithmeticVisitor<Rule>(a: result, b: next).apply() }
            if mean && tensors.count > 1 {
                let count = try Tensor.fromFloats([Float(tensors.count)], shape: [], as: type)
                result = try ArithmeticVisitor<DivRule>(a: result, b: count).apply()
            }
            return [.tensor(result)]
        }
    }

    /// A Clip bound input as a scalar of its type (nil when omitted).
    static func scalarBound(_ tensor: Tensor?, _ name: String) throws -> Tensor? {
        guard let tensor else { return nil }
        guard tensor.count == 1 else {
            throw OnyxError.shapeMismatch("Clip's \(name) must be a scalar, got shape \(tensor.shape)")
        }
        return try tensor.reshaped([])
    }

    static func clip(_ x: Tensor, low: Tensor?, high: Tensor?) throws -> Tensor {
        let type = x.elementType
        guard type.isFloatingPoint || type.isInteger else {
            throw OnyxError.wrongElementType("Clip is not defined on \(type)")
        }
        var result = x
        if let low { result = try ArithmeticVisitor<MaxRule>(a: result, b: low).apply() }
        if let high { result = try ArithmeticVisitor<MinRule>(a: result, b: high).apply() }
        return result
    }

    /// Where: elements of `x` where `condition` holds, else of `y`.
    static func select(_ condition: Tensor, _ x: Tensor, _ y: Tensor) throws -> Tensor {
        guard x.elementType == y.elementType else {
            throw OnyxError.wrongElementType("X is \(x.elementType) but Y is \(y.elementType)")
        }
        let shape = try Broadcast.shape([condition.shape, x.shape, y.shape])
        let strides = [condition.shape, x.shape, y.shape].map { Broadcast.strides(of: $0, broadcastTo: shape) }
        let count = try Tensor.checkedCount(shape)
        return try condition.withBoolBytes { flags in
            if x.elementType == .string {
                _ = try TensorAllocation.checkedBytes(.int64, count: count)
                let xs = x.stringBytes ?? []
                let ys = y.stringBytes ?? []
                var out: [[UInt8]] = []
                out.reserveCapacity(count)
                Broadcast.forEach(shape, strides: strides) { _, at in
                    out.append(flags[at[0]] != 0 ? xs[at[1]] : ys[at[2]])
                }
                return try Tensor(shape: shape, stringBytes: out)
            }
            guard let size = x.elementSize else {
                throw OnyxError.wrongElementType("Where is not defined on \(x.elementType)")
            }
            return try Tensor.make(x.elementType, shape) { out in
                x.withUnsafeBytes { xb in
                    y.withUnsafeBytes { yb in
                        switch size {
                        case 1: gather(UInt8.self, flags, xb, yb, out, shape, strides)
                        case 2: gather(UInt16.self, flags, xb, yb, out, shape, strides)
                        case 4: gather(UInt32.self, flags, xb, yb, out, shape, strides)
                        default: gatherWords(size / 8, flags, xb, yb, out, shape, strides)
                        }
                    }
                }
            }
        }
    }

    private static func gather<W: FixedWidthInteger>(
        _: W.Type, _ flags: UnsafeBufferPointer<UInt8>, _ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer,
        _ out: UnsafeMutableRawPointer, _ shape: [Int], _ strides: [[Int]]
    ) {
        let size = MemoryLayout<W>.size
        Broadcast.forEach(shape, strides: strides) { index, at in
            let value = flags[at[0]] != 0
                ? x.loadUnaligned(fromByteOffset: at[1] &* size, as: W.self)
                : y.loadUnaligned(fromByteOffset: at[2] &* size, as: W.self)
            out.storeBytes(of: value, toByteOffset: index &* size, as: W.self)
        }
    }

    /// Copies elements of `words` 8-byte words each (int64, double, complex).
    private static func gatherWords(
        _ words: Int, _ flags: UnsafeBufferPointer<UInt8>, _ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer,
        _ out: UnsafeMutableRawPointer, _ shape: [Int], _ strides: [[Int]]
    ) {
        let size = words &* 8
        Broadcast.forEach(shape, strides: strides) { index, at in
            let (source, offset) = flags[at[0]] != 0 ? (x, at[1] &* size) : (y, at[2] &* size)
            for word in 0..<words {
                let value = source.loadUnaligned(fromByteOffset: offset &+ word &* 8, as: UInt64.self)
                out.storeBytes(of: value, toByteOffset: index &* size &+ word &* 8, as: UInt64.self)
            }
        }
    }
}

/// numpy's `maximum`: NaN if either operand is NaN.
enum MaxRule: ArithmeticRule {
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a.isNaN || a >= b ? a : b }
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { Swift.max(a, b) }
}

/// numpy's `minimum`: NaN if either operand is NaN.
enum MinRule: ArithmeticRule {
    static func float<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> T { a.isNaN || a <= b ? a : b }
    static func integer<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { Swift.min(a, b) }
}
