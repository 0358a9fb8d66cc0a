/// Shared machinery of the resampling and spatial families (Resize,
/// Upsample, GridSample, CenterCropPad): copying elements of any type by
/// computed source positions, and encoding interpolated values back into
/// the input's element type.
enum SpatialSupport {
    /// A tensor of `shape` whose element `o * inner.count + j` is
    /// `input[outer[o] + inner[j]]`, or `fill` (zero when nil) where either
    /// part is negative. Works on every element type: whole elements are
    /// copied bit for bit (strings by value, sub-byte kinds through Float,
    /// which holds their values exactly).
    static func gather(
        _ input: Tensor, shape: [Int], outer: [Int], inner: [Int], fill: Tensor? = nil
    ) throws -> Tensor {
        let count = try Tensor.checkedCount(shape)
        guard outer.count &* inner.count == count else {
            throw OnyxError.shapeMismatch("gather plan covers \(outer.count)x\(inner.count) elements, shape \(shape) has \(count)")
        }
        if let fill, fill.elementType != input.elementType || fill.count != 1 {
            throw OnyxError.wrongElementType("fill value must be one \(input.elementType) element")
        }
        if let strings = input.stringBytes {
            let fillValue = fill?.stringBytes?.first ?? []
            var result: [[UInt8]] = []
            result.reserveCapacity(count)
            forEachSource(outer, inner) { _, source in result.append(source < 0 ? fillValue : strings[source]) }
            return try Tensor(shape: shape, stringBytes: result)
        }
        guard let size = input.elementSize else {
            let values = try input.floatValues()
            let fillValue = try fill?.floatValues().first ?? 0
            var result = [Float](repeating: fillValue, count: count)
            forEachSource(outer, inner) { index, source in if source >= 0 { result[index] = values[source] } }
            return try Tensor.fromFloats(result, shape: shape, as: input.elementType)
        }
        let fillBytes: [UInt8] = fill.map { $0.withUnsafeBytes { Array($0) } } ?? []
        return try Tensor.make(input.elementType, shape) { out in
            input.withUnsafeBytes { source in
                fillBytes.withUnsafeBytes { fillSource in
                    switch size {
                    case 1: copy(UInt8.self, words: 1, source, out, fillSource, outer, inner)
                    case 2: copy(UInt16.self, words: 1, source, out, fillSource, outer, inner)
                    case 4: copy(UInt32.self, words: 1, source, out, fillSource, outer, inner)
                    default: copy(UInt64.self, words: size / 8, source, out, fillSource, outer, inner)
                    }
                }
            }
        }
    }

    /// The `gather` plan of a separable index map: `maps[d][o]` is the input
    /// index along axis `d` for output index `o` (negative: fill).
    static func separablePlan(inputShape: [Int], maps: [[Int]]) -> (outer: [Int], inner: [Int]) {
        let strides = Tensor.strides(inputShape)
        let tables = maps.enumerated().map { axis, map in map.map { $0 < 0 ? -1 : $0 &* strides[axis] } }
        guard let last = tables.last else { return ([0], [0]) }
        var outer = [0]
        for table in tables.dropLast() {
            var next: [Int] = []
            next.reserveCapacity(outer.count &* table.count)
            for base in outer {
                for offset in table { next.append(base < 0 || offset < 0 ? -1 : base &+ offset) }
            }
            outer = next
        }
        return (outer, last)
    }

    private static func forEachSource(_ outer: [Int], _ inner: [Int], _ body: (Int, Int) -> Void) {
        var index = 0
        for base in outer {
            for offset in inner {
                body(index, base < 0 || offset < 0 ? -1 : base &+ offset)
                index &+= 1
            }
        }
    }

    private static func copy<Word: FixedWidthInteger>(
        _: Word.Type, words: Int, _ source: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer,
        _ fill: UnsafeRawBufferPointer, _ outer: [Int], _ inner: [Int]
    ) {
        let wordSize = MemoryLayout<Word>.size
        let elementBytes = wordSize &* words
        forEachSource(outer, inner) { index, sourceIndex in
            let target = index &* elementBytes
            if sourceIndex < 0 {
                guard fill.count == elementBytes else { return }
                for w in 0..<words {
                    let word = fill.loadUnaligned(fromByteOffset: w &* wordSize, as: Word.self)
                    out.storeBytes(of: word, toByteOffset: target &+ w &* wordSize, as: Word.self)
                }
                return
            }
            let from = sourceIndex &* elementBytes
            for w in 0..<words {
                let word = source.loadUnaligned(fromByteOffset: from &+ w &* wordSize, as: Word.self)
                out.storeBytes(of: word, toByteOffset: target &+ w &* wordSize, as: Word.self)
            }
        }
    }

    /// Fails when `count` elements of `type` exceed the memory limit (strings
    /// are counted at 8 bytes each), before any plan of that size is built.
    static func checkOutput(_ type: ElementType, count: Int) throws {
        _ = try TensorAllocation.checkedBytes(type == .string ? .int64 : type, count: count)
    }

    // MARK: - Interpolated values

    /// Whether linear / cubic interpolation is defined on `type` (real numbers only).
    static func isInterpolatable(_ type: ElementType) -> Bool {
        type.isFloatingPoint || type.isInteger
    }

    /// Encodes interpolated `values` as `type`, as ONNX's reference casts
    /// them: integer kinds round half to even and saturate; floating kinds
    /// round to nearest (float8 kinds saturating).
    static func encode(_ values: [Double], shape: [Int], as type: ElementType) throws -> Tensor {
        guard isInterpolatable(type) else {
            throw OnyxError.wrongElementType("interpolation is not defined on \(type)")
        }
        guard let range = integerRange(type) else {
            return try Tensor.fromDoubles(values, shape: shape, as: type)
        }
        let rounded = values.map { value -> Double in
            guard !value.isNaN else { return 0 }
            return min(max(value.rounded(.toNearestOrEven), range.lowerBound), range.upperBound)
        }
        return try Tensor.fromDoubles(rounded, shape: shape, as: type)
    }

    /// The representable range of an integer element type, as Doubles
    /// (the upper bound of the 64-bit kinds is the largest Double below 2^63 / 2^64).
    static func integerRange(_ type: ElementType) -> ClosedRange<Double>? {
        switch type {
        case .int8: return -128...127
        case .uint8: return 0...255
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32: return -2_147_483_648...2_147_483_647
        case .uint32: return 0...4_294_967_295
        case .int64: return -9_223_372_036_854_775_808...Double(Int64.max).nextDown
        case .uint64: return 0...Double(UInt64.max).nextDown
        case .int4: return -8...7
        case .uint4: return 0...15
        case .int2: return -2...1
        case .uint2: return 0...3
        default: return nil
        }
    }
}
