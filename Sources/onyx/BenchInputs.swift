import Foundation
import Onyx

/// Seeded random inputs for `onyx bench`.
///
/// Shapes come from the model's declared input shapes; symbolic and
/// unknown dimensions must be given with `--shape`, either for a whole
/// input (`--shape image=1x3x224x224`) or per symbol (`--shape batch=1`).
/// Floating-point inputs are uniform in [-1, 1); integer inputs uniform in
/// [`intRange.lower`, `intRange.upper`) (so token ids stay valid), and
/// below the table size when the input indexes a constant table through
/// Gather (an embedding's vocabulary, BERT's two token types); bool inputs
/// are fair coin flips. Input `k` uses the seed `seed + k`, so the same
/// options always give the same tensors.
struct BenchInputs {
    /// Whole shapes by input name.
    var shapes: [String: [Int]] = [:]
    /// Values of symbolic dimensions by symbol.
    var symbols: [String: Int] = [:]
    var intRange: (lower: Int64, upper: Int64) = (0, 100)
    var seed: UInt64 = 0
    /// Ranges given for one input (`--int-range NAME=LO,HI`), used as given.
    var intRanges: [String: (Int64, Int64)] = [:]
    /// Per input name, the smallest constant-table size it indexes.
    var indexBounds: [String: Int64] = [:]

    /// Reads `--shape NAME=DIMS` items: NAME is an input name (DIMS the whole
    /// shape, `1x3x224x224`, empty for a scalar) or a symbolic dimension of
    /// some input (DIMS one number).
    init(shapeOptions: [String], inputs: [ValueInfo], intRange: (Int64, Int64), seed: UInt64) throws {
        self.intRange = intRange
        self.seed = seed
        let inputNames = Set(inputs.map(\.name))
        var symbolNames: Set<String> = []
        for input in inputs {
            for case .symbolic(let symbol) in input.type?.shape ?? [] { symbolNames.insert(symbol) }
        }
        for item in shapeOptions {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw OnyxError(.invalidModel, "--shape expects NAME=DIMS (e.g. image=1x3x224x224), got \"\(item)\"")
            }
            let dims = try Self.parseDims(parts[1], option: item)
            if inputNames.contains(parts[0]) {
                shapes[parts[0]] = dims
            } else if symbolNames.contains(parts[0]) {
                guard dims.count == 1 else {
                    throw OnyxError(.invalidModel, "--shape \(item): a symbolic dimension takes one number")
                }
                symbols[parts[0]] = dims[0]
            } else {
                let known = (inputs.map(\.name) + symbolNames.sorted()).joined(separator: ", ")
                throw OnyxError(
                    .unexpectedInput, "--shape \(item): the model has no input or symbolic dimension \"\(parts[0])\" (known: \(known))",
                    value: parts[0])
            }
        }
    }

    static func parseDims(_ text: String, option: String) throws -> [Int] {
        if text.isEmpty { return [] }
        var dims: [Int] = []
        for piece in text.split(separator: "x", omittingEmptySubsequences: false) {
            guard let value = Int(piece), value >= 0 else {
                throw OnyxError(.invalidModel, "--shape \(option): \"\(piece)\" is not a non-negative dimension")
            }
            dims.append(value)
        }
        return dims
    }

    /// The concrete shape of `input`; throws naming the input and the
    /// dimension when a symbolic or unknown dimension has no value.
    func shape(of input: ValueInfo) throws -> [Int] {
        let declared = input.type?.shape
        if let given = shapes[input.name] {
            if let declared {
                guard declared.count == given.count else {
                    throw OnyxError(
                        .shapeMismatch, "--shape gives input \"\(input.name)\" rank \(given.count), the model declares rank \(declared.count)",
                        value: input.name)
                }
                for (axis, dim) in declared.enumerated() {
                    if case .known(let size) = dim, size != given[axis] {
                        throw OnyxError(
                            .shapeMismatch, "--shape gives input \"\(input.name)\" dimension \(axis) = \(given[axis]), the model fixes it at \(size)",
                            value: input.name)
                    }
                }
            }
            return given
        }
        guard let declared else {
            throw OnyxError(
                .missingInput, "input \"\(input.name)\" has no declared shape: give it with --shape \(input.name)=DIMS",
                value: input.name)
        }
        return try declared.enumerated().map { axis, dim -> Int in
            switch dim {
            case .known(let size): return size
            case .symbolic(let symbol):
                guard let value = symbols[symbol] else {
                    throw OnyxError(
                        .missingInput,
                        "input \"\(input.name)\" dimension \(axis) is symbolic (\(symbol)): give --shape \(symbol)=N or --shape \(input.name)=DIMS",
                        value: input.name)
                }
                return value
            case .unknown:
                throw OnyxError(
                    .missingInput, "input \"\(input.name)\" dimension \(axis) is unknown: give --shape \(input.name)=DIMS",
                    value: input.name)
            }
        }
    }

    /// A random tensor for graph input number `index`.
    func tensor(for input: ValueInfo, index: Int) throws -> Tensor {
        guard case .tensor(let declaredType, _)? = input.type, let elementType = declaredType else {
            throw OnyxError(
                .wrongElementType, "input \"\(input.name)\" is not a tensor of a known element type (\(input.type?.description ?? "no type")): give it as a file",
                value: input.name)
        }
        let shape = try shape(of: input)
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= 1 << 32 else {
                throw OnyxError(.resourceLimit, "input \"\(input.name)\" shape \(shape) is too large", value: input.name)
            }
            count = product
        }
        var generator = SplitMix64(seed: seed &+ UInt64(truncatingIfNeeded: index))
        if elementType.isFloatingPoint || elementType == .complex64 || elementType == .complex128 {
            let values = (0..<count).map { _ in Float(generator.unit() * 2 - 1) }
            return try Tensor.fromFloats(values, shape: shape, as: elementType)
        }
        if elementType == .bool {
            return try Tensor.fromInt64s((0..<count).map { _ in Int64(generator.next() & 1) }, shape: shape, as: .bool)
        }
        if elementType.isInteger {
            let range = integerRange(of: input.name)
            let span = UInt64(bitPattern: range.upper &- range.lower)
            let values = (0..<count).map { _ in range.lower &+ Int64(bitPattern: generator.next() % max(span, 1)) }
            return try Tensor.fromInt64s(values, shape: shape, as: elementType)
        }
        throw OnyxError(
            .wrongElementType, "input \"\(input.name)\" is \(elementType): random values are not supported, give it as a file",
            value: input.name)
    }
}

extension BenchInputs {
    /// The range random values of integer input `name` are drawn from:
    /// its own range if given, else `intRange` capped by the table size the
    /// input indexes.
    func integerRange(of name: String) -> (lower: Int64, upper: Int64) {
        if let own = intRanges[name] { return own }
        guard let bound = indexBounds[name], bound > intRange.lower, bound < intRange.upper else { return intRange }
        return (intRange.lower, bound)
    }

    /// For each graph input read as Gather indices into a constant table,
    /// the smallest size of the gathered axis over such Gathers.
    static func indexBounds(in graph: Graph) -> [String: Int64] {
        let inputs = Set(graph.runtimeInputs.map(\.name))
        var bounds: [String: Int64] = [:]
        for node in graph.nodes where node.opType == "Gather" && node.normalizedDomain.isEmpty && node.inputs.count == 2 {
            guard inputs.contains(node.inputs[1]), let table = graph.constants[node.inputs[0]] else { continue }
            var axis = 0
            if case .int(let value)? = node.attribute("axis")?.value { axis = Int(clamping: value) }
            if axis < 0 { axis &+= table.shape.count }
            guard axis >= 0, axis < table.shape.count else { continue }
            let size = Int64(table.shape[axis])
            bounds[node.inputs[1]] = min(bounds[node.inputs[1]] ?? size, size)
        }
        return bounds
    }
}

/// A small seeded generator (SplitMix64): fast and reproducible across platforms.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
