import Foundation

/// ai.onnx.ml operators: LabelEncoder (1, 2, 4), Binarizer (1),
/// ArrayFeatureExtractor (1); TreeEnsemble (5) is in `MLOps+TreeEnsemble.swift`.
enum MLOps {
    static let domain = "ai.onnx.ml"

    static func register(into registry: inout OpRegistry) {
        registry.register("LabelEncoder", domain: domain, versions: [1, 2, 4]) { context in
            let encoder = try LabelEncoder(context)
            return ClosureKernel { inputs, _ in [.tensor(try encoder.run(try inputs.tensor(0)))] }
        }
        registry.register("Binarizer", domain: domain, since: 1) { context in
            let threshold = Double(try context.float("threshold", default: 0))
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                guard [.float, .double, .int64, .int32].contains(x.elementType) else {
                    throw OnyxError.wrongElementType("Binarizer is not defined on \(x.elementType)")
                }
                let values = try x.doubleValues().map { $0 > threshold ? 1.0 : 0.0 }
                return [.tensor(try Tensor.fromDoubles(values, shape: x.shape, as: x.elementType))]
            }
        }
        registry.register("ArrayFeatureExtractor", domain: domain, since: 1) { _ in
            ClosureKernel { inputs, _ in [.tensor(try extractFeatures(try inputs.tensor(0), try inputs.tensor(1)))] }
        }
        registerTreeEnsemble(into: &registry)
    }

    /// Gathers `indices` (any shape, flattened) along the last axis of X.
    /// Output `X.shape[:-1] + [k]`, or `[1, k]` for a 1-D X (as onnxruntime).
    static func extractFeatures(_ x: Tensor, _ indices: Tensor) throws -> Tensor {
        guard [.float, .double, .int64, .int32, .string].contains(x.elementType), indices.elementType == .int64 else {
            throw OnyxError.wrongElementType("X must be float/double/int64/int32/string and Y int64")
        }
        let picks = try indices.int64Values()
        let outShape = (x.shape.count == 1 ? [1] : Array(x.shape.dropLast())) + [picks.count]
        return try gatherLast(x, picks, shape: outShape)
    }

    /// Elements `picks` of the last axis of `x`, for every leading position,
    /// as a tensor of `shape` (which must hold that many elements).
    static func gatherLast(_ x: Tensor, _ picks: [Int64], shape outShape: [Int]) throws -> Tensor {
        guard let features = x.shape.last else { throw OnyxError.shapeMismatch("X must have rank ≥ 1") }
        let columns = try picks.map { index -> Int in
            guard index >= 0, index < Int64(features) else {
                throw OnyxError.invalidModel("index \(index) is outside [0, \(features))")
            }
            return Int(index)
        }
        let rows = try Tensor.checkedCount(Array(x.shape.dropLast()))
        if let strings = x.stringBytes {
            var out: [[UInt8]] = []
            out.reserveCapacity(rows * columns.count)
            for row in 0..<rows { for p in columns { out.append(strings[row * features + p]) } }
            return try Tensor(shape: outShape, stringBytes: out)
        }
        guard let size = x.elementSize else { throw OnyxError.wrongElementType("\(x.elementType) is not supported") }
        return try Tensor.make(x.elementType, outShape) { out in
            x.withUnsafeBytes { source in
                guard let base = source.baseAddress else { return }
                for row in 0..<rows {
                    for (column, p) in columns.enumerated() {
                        (out + (row * columns.count + column) * size)
                            .copyMemory(from: base + (row * features + p) * size, byteCount: size)
                    }
                }
            }
        }
    }
}

/// A LabelEncoder key: integers, floats (NaN matches any NaN) or string bytes.
enum LabelKey: Hashable, Sendable {
    case integer(Int64)
    case real(Double)
    case nan
    case text([UInt8])

    static func number(_ value: Double) -> LabelKey { value.isNaN ? .nan : .real(value) }

    enum Kind: Sendable { case text, integer, real }

    static func kind(of type: ElementType) -> Kind {
        type == .string ? .text : (type.isFloatingPoint ? .real : .integer)
    }

    static func keys(of tensor: Tensor) throws -> [LabelKey] {
        if let strings = tensor.stringBytes { return strings.map { .text($0) } }
        if tensor.elementType.isFloatingPoint { return try tensor.doubleValues().map { LabelKey.number($0) } }
        return try tensor.int64Values().map { .integer($0) }
    }
}

/// LabelEncoder. Opset 1 maps strings to their index in `classes_strings`
/// (else `default_int64`, −1) or int64 indices to those strings (else
/// `default_string`, "_Unused"), by input type. Opsets 2 and 4 map
/// `keys_*` to the parallel `values_*` (4 adds `keys_tensor` /
/// `values_tensor` / `default_tensor`); the last duplicate key wins;
/// unmatched inputs get the default for the values' type (−1, −0.0 or
/// "_Unused" unless given).
struct LabelEncoder: Sendable {
    struct Mapping: Sendable {
        let inputKind: LabelKey.Kind
        let table: [LabelKey: Int]
        /// 1-D values followed by the default as the last element.
        let values: Tensor
    }

    let mappings: [Mapping]

    init(_ context: OpContext) throws {
        if context.opset < 2 {
            let classes = Self.byteStrings(context.attributeValue("classes_strings"))
            let defaultString = Self.byteStrings(context.attributeValue("default_string")).first ?? Array("_Unused".utf8)
            let defaultInt = Int64(try context.int("default_int64", default: -1))
            var toIndex: [LabelKey: Int] = [:]
            var toString: [LabelKey: Int] = [:]
            for (i, s) in classes.enumerated() {
                toIndex[.text(s)] = i
                toString[.integer(Int64(i))] = i
            }
            mappings = [
                Mapping(inputKind: .text, table: toIndex,
                        values: try Tensor(shape: [classes.count + 1], scalars: (0..<Int64(classes.count)) + [defaultInt])),
                Mapping(inputKind: .integer, table: toString,
                        values: try Tensor(shape: [classes.count + 1], stringBytes: classes + [defaultString])),
            ]
            return
        }
        let keyNames = ["keys_floats", "keys_int64s", "keys_strings", "keys_tensor"].filter { context.hasAttribute($0) }
        let valueNames = ["values_floats", "values_int64s", "values_strings", "values_tensor"].filter { context.hasAttribute($0) }
        guard keyNames.count == 1, valueNames.count == 1 else {
            throw OnyxError.invalidModel("exactly one keys_* and one values_* attribute must be set")
        }
        let keys = try Self.attributeTensor(context, keyNames[0])
        let values = try Self.attributeTensor(context, valueNames[0])
        guard keys.shape.count == 1, values.shape.count == 1, keys.count == values.count else {
            throw OnyxError.invalidModel("keys and values must be parallel lists")
        }
        var fallback: Tensor
        switch values.elementType {
        case .string:
            fallback = try Tensor(shape: [1], stringBytes: [Self.byteStrings(context.attributeValue("default_string")).first ?? Array("_Unused".utf8)])
        case .float, .double, .float16, .bfloat16:
            fallback = try Tensor.fromFloats([try context.float("default_float", default: -0.0)], shape: [1], as: values.elementType)
        default:
            fallback = try Tensor.fromInt64s([Int64(try context.int("default_int64", default: -1))], shape: [1], as: values.elementType)
        }
        if valueNames[0] == "values_tensor", let given = try context.tensor("default_tensor") {
            guard given.elementType == values.elementType, given.count == 1 else {
                throw OnyxError.invalidModel("default_tensor must be one \(values.elementType) element")
            }
            fallback = try given.reshaped([1])
        }
        var table: [LabelKey: Int] = [:]
        for (i, key) in try LabelKey.keys(of: keys).enumerated() { table[key] = i }
        mappings = [Mapping(inputKind: LabelKey.kind(of: keys.elementType), table: table,
                            values: try ArrayFeatureConcat.concat(values, fallback))]
    }

    func run(_ x: Tensor) throws -> Tensor {
        guard let mapping = mappings.first(where: { $0.inputKind == LabelKey.kind(of: x.elementType) }) else {
            throw OnyxError.wrongElementType("input of type \(x.elementType) does not match the keys")
        }
        let fallback = Int64(mapping.values.count - 1)
        let picks = try LabelKey.keys(of: x).map { Int64(mapping.table[$0] ?? Int(fallback)) }
        return try MLOps.gatherLast(mapping.values, picks, shape: x.shape)
    }

    static func byteStrings(_ value: AttributeValue?) -> [[UInt8]] {
        switch value {
        case .strings(let list): return list
        case .string(let single): return [single]
        default: return []
        }
    }

    /// A keys_* / values_* attribute as a 1-D tensor.
    static func attributeTensor(_ context: OpContext, _ name: String) throws -> Tensor {
        switch name {
        case "keys_floats", "values_floats":
            let list = try context.floats(name) ?? []
            return try Tensor(shape: [list.count], scalars: list)
        case "keys_int64s", "values_int64s":
            let list = (try context.ints(name) ?? []).map(Int64.init)
            return try Tensor(shape: [list.count], scalars: list)
        case "keys_strings", "values_strings":
            let list = byteStrings(context.attributeValue(name))
            return try Tensor(shape: [list.count], stringBytes: list)
        default:
            guard let tensor = try context.tensor(name) else { throw OnyxError.invalidModel("\(name) is missing") }
            return try tensor.reshaped([tensor.count])
        }
    }
}

/// Joins two 1-D tensors of one element type.
enum ArrayFeatureConcat {
    static func concat(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        guard a.elementType == b.elementType else { throw OnyxError.wrongElementType("default type differs from values") }
        if let x = a.stringBytes, let y = b.stringBytes { return try Tensor(shape: [x.count + y.count], stringBytes: x + y) }
        guard let size = a.elementSize else { throw OnyxError.wrongElementType("\(a.elementType) values are not supported") }
        return try Tensor.make(a.elementType, [a.count + b.count]) { out in
            a.withUnsafeBytes { if let p = $0.baseAddress { out.copyMemory(from: p, byteCount: a.count * size) } }
            b.withUnsafeBytes { if let p = $0.baseAddress { (out + a.count * size).copyMemory(from: p, byteCount: b.count * size) } }
        }
    }
}
