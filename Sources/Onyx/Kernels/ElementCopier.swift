import CKernels

/// Moves elements between tensors without knowing what they mean: the
/// engine under every layout kernel (Transpose, Slice, Gather, Pad, ...).
///
/// Byte-sized element types (complex included) move as raw bytes, strings
/// as their byte arrays, and the packed 2- and 4-bit types are unpacked to
/// one byte per element for the copy and packed again at the end. Every
/// copy is range-checked against its source and the output, so a kernel bug
/// shows as an error, never as memory corruption.
final class ElementCopier {
    /// Bytes per element in the working representation; 0 for strings.
    private let width: Int
    private let sourcePointers: [UnsafeRawPointer?]
    private let sourceCounts: [Int]
    private let sourceStrings: [[[UInt8]]]
    private let output: UnsafeMutableRawPointer?
    fileprivate var outputStrings: [[UInt8]]
    /// Number of output elements.
    let outputCount: Int

    fileprivate init(
        width: Int, sourcePointers: [UnsafeRawPointer?], sourceCounts: [Int], sourceStrings: [[[UInt8]]],
        output: UnsafeMutableRawPointer?, outputStrings: [[UInt8]], outputCount: Int
    ) {
        self.width = width
        self.sourcePointers = sourcePointers
        self.sourceCounts = sourceCounts
        self.sourceStrings = sourceStrings
        self.output = output
        self.outputStrings = outputStrings
        self.outputCount = outputCount
    }

    private func check(_ source: Int, _ from: Int, _ sourceLength: Int, _ to: Int, _ count: Int) throws {
        guard source >= 0, source < sourceCounts.count, from >= 0, sourceLength >= 0,
            from <= sourceCounts[source] &- sourceLength, to >= 0, count >= 0, to <= outputCount &- count
        else {
            throw OnyxError.invalidModel(
                "internal copy out of range (source \(source) at \(from), output at \(to), \(count) elements)")
        }
    }

    /// Copies `count` consecutive elements of source `source` starting at
    /// `from` to the output starting at `to`.
    @inline(__always)
    func copy(_ source: Int, from: Int, to: Int, count: Int) throws {
        guard count > 0 else { return }
        try check(source, from, count, to, count)
        if width > 0 {
            guard let src = sourcePointers[source], let dst = output else { return }
            (dst + to &* width).copyMemory(from: src + from &* width, byteCount: count &* width)
        } else {
            let strings = sourceStrings[source]
            for i in 0..<count { outputStrings[to &+ i] = strings[from &+ i] }
        }
    }

    /// Output element `to + i · columns + j` takes source element
    /// `from + i + j · sourceStride`, for `i < rows`, `j < columns`: the
    /// transpose of a block whose rows lie `sourceStride` apart, for 4-byte
    /// elements only, by the C kernel in 8×8 tiles (bits moved as they are).
    func transposeBlock(_ source: Int, from: Int, sourceStride: Int, rows: Int, columns: Int, to: Int) throws {
        guard rows > 0, columns > 0 else { return }
        guard width == 4 else { throw OnyxError.invalidModel("internal: tiled transpose of \(width)-byte elements") }
        let (span, overflow) = (columns &- 1).multipliedReportingOverflow(by: sourceStride)
        guard !overflow, sourceStride >= 0 else { throw OnyxError.invalidModel("internal transpose stride overflows") }
        try check(source, from, span &+ rows, to, rows &* columns)
        guard let src = sourcePointers[source], let dst = output else { return }
        onyx_transpose_u32(
            rows, columns, src.advanced(by: from &* 4).assumingMemoryBound(to: UInt32.self), sourceStride,
            dst.advanced(by: to &* 4).assumingMemoryBound(to: UInt32.self))
    }

    /// Copies element `base + offsets[j]` of source `source` to output
    /// element `to + j`, for every `j`: a gather of single elements.
    func gatherRow(_ source: Int, base: Int, offsets: UnsafeBufferPointer<Int>, to: Int) throws {
        let count = offsets.count
        guard count > 0 else { return }
        try check(source, 0, 0, to, count)
        let limit = UInt(bitPattern: sourceCounts[source])
        func outOfRange(_ index: Int) -> OnyxError {
            OnyxError.invalidModel("internal gather out of range (source \(source) element \(index))")
        }
        guard width > 0 else {
            let strings = sourceStrings[source]
            for j in 0..<count {
                let index = base &+ offsets[j]
                guard UInt(bitPattern: index) < limit else { throw outOfRange(index) }
                outputStrings[to &+ j] = strings[index]
            }
            return
        }
        guard let src = sourcePointers[source], let dst = output else { return }
        let out = dst + to &* width
        switch width {
        case 1:
            for j in 0..<count {
                let index = base &+ offsets[j]
                guard UInt(bitPattern: index) < limit else { throw outOfRange(index) }
                out.storeBytes(of: src.load(fromByteOffset: index, as: UInt8.self), toByteOffset: j, as: UInt8.self)
            }
        case 2:
            for j in 0..<count {
                let index = base &+ offsets[j]
                guard UInt(bitPattern: index) < limit else { throw outOfRange(index) }
                out.storeBytes(of: src.loadUnaligned(fromByteOffset: index &* 2, as: UInt16.self),
                               toByteOffset: j &* 2, as: UInt16.self)
            }
        case 4:
            for j in 0..<count {
                let index = base &+ offsets[j]
                guard UInt(bitPattern: index) < limit else { throw outOfRange(index) }
                out.storeBytes(of: src.loadUnaligned(fromByteOffset: index &* 4, as: UInt32.self),
                               toByteOffset: j &* 4, as: UInt32.self)
            }
        case 8:
            for j in 0..<count {
                let index = base &+ offsets[j]
                guard UInt(bitPattern: index) < limit else { throw outOfRange(index) }
                out.storeBytes(of: src.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self),
                               toByteOffset: j &* 8, as: UInt64.self)
            }
        default:
            for j in 0..<count {
                let index = base &+ offsets[j]
                guard UInt(bitPattern: index) < limit else { throw outOfRange(index) }
                (dst + (to &+ j) &* width).copyMemory(from: src + index &* width, byteCount: width)
            }
        }
    }

    /// Writes element `from` of source `source` to `count` consecutive output
    /// elements starting at `to`.
    func fill(_ source: Int, from: Int, to: Int, count: Int) throws {
        guard count > 0 else { return }
        try check(source, from, 1, to, count)
        if width > 0 {
            guard let src = sourcePointers[source], let dst = output else { return }
            let element = src + from &* width
            for i in 0..<count { (dst + (to &+ i) &* width).copyMemory(from: element, byteCount: width) }
        } else {
            let value = sourceStrings[source][from]
            for i in 0..<count { outputStrings[to &+ i] = value }
        }
    }
}

extension Tensor {
    /// A new tensor of `type` and `shape` whose elements `body` copies out of
    /// `sources` (all of `type`) through an ``ElementCopier``. Output
    /// elements `body` leaves alone are zero (empty for strings), unless
    /// `writesAll` promises there are none: then a byte-sized type's buffer
    /// is not zeroed first.
    static func assemble(
        _ type: ElementType, _ shape: [Int], from sources: [Tensor], writesAll: Bool = false,
        _ body: (ElementCopier) throws -> Void
    ) throws -> Tensor {
        for source in sources where source.elementType != type {
            throw OnyxError.wrongElementType("expected \(type) tensors, got \(source.elementType)")
        }
        let count = try Tensor.checkedCount(shape)
        let counts = sources.map(\.count)
        if type == .string {
            _ = try TensorAllocation.checkedBytes(.int64, count: count)
            let copier = ElementCopier(
                width: 0, sourcePointers: [], sourceCounts: counts, sourceStrings: sources.map { $0.stringBytes ?? [] },
                output: nil, outputStrings: Array(repeating: [], count: count), outputCount: count)
            try body(copier)
            return try Tensor(shape: shape, stringBytes: copier.outputStrings)
        }
        if type.bitWidth % 8 == 0 {
            return try withExtendedLifetime(sources) {
                let fill = { (raw: UnsafeMutableRawPointer) in
                    let copier = ElementCopier(
                        width: type.bitWidth / 8, sourcePointers: sources.map { UnsafeRawPointer($0.buffer?.baseAddress) },
                        sourceCounts: counts, sourceStrings: [], output: raw, outputStrings: [], outputCount: count)
                    try body(copier)
                }
                return writesAll ? try Tensor.makeOverwritten(type, shape, fill) : try Tensor.make(type, shape, fill)
            }
        }
        let bits = type.bitWidth
        let unpacked = try sources.map { try $0.unpackedFields() }
        _ = try TensorAllocation.checkedBytes(.uint8, count: count)
        let fields = TensorBuffer.zeroed(byteCount: count)
        try withExtendedLifetime(unpacked) {
            let copier = ElementCopier(
                width: 1, sourcePointers: unpacked.map { UnsafeRawPointer($0.baseAddress) }, sourceCounts: counts,
                sourceStrings: [], output: fields.baseAddress, outputStrings: [], outputCount: count)
            try body(copier)
        }
        return try withExtendedLifetime(fields) {
            try Tensor.make(type, shape) { raw in
                let perByte = 8 / bits
                let mask = UInt8((1 << bits) - 1)
                guard let source = fields.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
                let out = raw.assumingMemoryBound(to: UInt8.self)
                for index in 0..<count {
                    let value = source[index] & mask
                    out[index / perByte] |= value << UInt8(bits * (index % perByte))
                }
            }
        }
    }

    /// The raw fields of a packed sub-byte tensor, one per byte.
    private func unpackedFields() throws -> TensorBuffer {
        let count = self.count
        _ = try TensorAllocation.checkedBytes(.uint8, count: count)
        let result = TensorBuffer.zeroed(byteCount: count)
        guard let out = result.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return result }
        withUnsafeBytes { bytes in
            for index in 0..<count {
                out[index] = ElementCodec.SubByte.field(bytes, index: index, bitWidth: elementType.bitWidth)
            }
        }
        return result
    }

    /// The elements of an int32 or int64 tensor as `Int` (index inputs).
    func indexValues(_ what: String = "indices") throws -> [Int] {
        switch elementType {
        case .int64: return try scalars(as: Int64.self).map { Int(truncatingIfNeeded: $0) }
        case .int32: return try scalars(as: Int32.self).map { Int($0) }
        default: throw OnyxError.wrongElementType("\(what) must be int32 or int64, got \(elementType)")
        }
    }
}

/// Resolves index `index` into a dimension of size `dim`: negative values
/// count from the end (once); anything else out of range is an error.
@inline(__always)
func resolveIndex(_ index: Int, dim: Int, what: String = "index") throws -> Int {
    let resolved = index < 0 ? index &+ dim : index
    guard resolved >= 0, resolved < dim else {
        throw OnyxError.invalidModel("\(what) \(index) is out of range for a dimension of size \(dim)")
    }
    return resolved
}
