import Foundation

/// String operators: StringNormalizer (10), StringConcat, StringSplit and
/// RegexFullMatch (20, in StringOps+Regex.swift). String elements are byte
/// arrays that need not be valid UTF-8; operations that must see characters
/// decode as UTF-8, repairing invalid bytes.
enum StringOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("StringConcat", since: 20) { _ in ClosureKernel { inputs, _ in
            [.tensor(try concat(try strings(inputs, 0), try strings(inputs, 1)))]
        } }
        registry.register("StringSplit", since: 20) { try splitKernel($0) }
        registry.register("StringNormalizer", since: 10) { try StringNormalizerKernel($0) }
        registry.register("RegexFullMatch", since: 20) { try RegexFullMatchKernel($0) }
    }

    /// Input `index` as a string tensor.
    static func strings(_ inputs: [Value?], _ index: Int) throws -> Tensor {
        let tensor = try inputs.tensor(index)
        guard tensor.elementType == .string else {
            throw OnyxError.wrongElementType("input \(index) must be a string tensor, got \(tensor.elementType)")
        }
        return tensor
    }

    /// Elementwise concatenation with multidirectional broadcasting.
    static func concat(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape = try Broadcast.shape([a.shape, b.shape])
        let x = a.stringBytes ?? []
        let y = b.stringBytes ?? []
        var out = try TensorAllocation.array(repeating: [] as [UInt8], shape: shape)
        let strides = [Broadcast.strides(of: a.shape, broadcastTo: shape), Broadcast.strides(of: b.shape, broadcastTo: shape)]
        Broadcast.forEach(shape, strides: strides) { index, offsets in
            out[index] = x[offsets[0]] + y[offsets[1]]
        }
        return try Tensor(shape: shape, stringBytes: out)
    }

    /// StringSplit: Python's `str.split(delimiter, maxsplit)` per element.
    /// With a delimiter, consecutive delimiters delimit empty strings and
    /// an empty element gives one empty substring; without one (or with
    /// ""), runs of whitespace separate and leading/trailing whitespace is
    /// dropped (Python's whitespace: Unicode White_Space and U+001C–U+001F).
    /// `maxsplit` omitted or negative means no limit. Output Y has shape
    /// `X.shape + [max count]`, padded with ""; Z holds the counts (int64).
    static func splitKernel(_ context: OpContext) throws -> any Kernel {
        let delimiter = Array((try context.string("delimiter") ?? "").utf8)
        let limit = try context.int("maxsplit").flatMap { $0 < 0 ? nil : $0 } ?? Int.max
        return ClosureKernel { inputs, _ in
            let input = try strings(inputs, 0)
            let pieces = (input.stringBytes ?? []).map {
                delimiter.isEmpty ? splitWhitespace($0, limit: limit) : split($0, on: delimiter, limit: limit)
            }
            let width = pieces.map(\.count).max() ?? 0
            var flat: [[UInt8]] = []
            flat.reserveCapacity(pieces.count &* width)
            for parts in pieces {
                flat.append(contentsOf: parts)
                flat.append(contentsOf: repeatElement([], count: width - parts.count))
            }
            return [
                .tensor(try Tensor(shape: input.shape + [width], stringBytes: flat)),
                .tensor(try Tensor(shape: input.shape, scalars: pieces.map { Int64($0.count) })),
            ]
        }
    }

    static func split(_ bytes: [UInt8], on delimiter: [UInt8], limit: Int) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0
        var i = 0
        while parts.count < limit, i + delimiter.count <= bytes.count {
            if bytes[i] == delimiter[0], bytes[i..<(i + delimiter.count)].elementsEqual(delimiter) {
                parts.append(Array(bytes[start..<i]))
                i += delimiter.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(Array(bytes[start...]))
        return parts
    }

    static func splitWhitespace(_ bytes: [UInt8], limit: Int) -> [[UInt8]] {
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
        }
        func piece(_ range: Range<Int>) -> [UInt8] {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return Array(String(view).utf8)
        }
        var parts: [[UInt8]] = []
        var i = 0
        while parts.count < limit {
            while i < scalars.count, isSpace(scalars[i]) { i += 1 }
            if i == scalars.count { return parts }
            let start = i
            while i < scalars.count, !isSpace(scalars[i]) { i += 1 }
            parts.append(piece(start..<i))
        }
        while i < scalars.count, isSpace(scalars[i]) { i += 1 }
        if i < scalars.count { parts.append(piece(i..<scalars.count)) }
        return parts
    }
}
