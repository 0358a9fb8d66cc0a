#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RandomUniform, RandomNormal, RandomUniformLike, RandomNormalLike,
/// Bernoulli and Multinomial.
///
/// Values come from a SplitMix64 generator. With the `seed` attribute the
/// generator starts from that seed on every run, so a seeded node gives the
/// same output each time (and across machines); without it each run draws
/// a fresh seed from the system generator. ONNX does not specify the
/// generator, so no seed reproduces another implementation's numbers.
///
/// - RandomUniform(Like): `low + (high − low)·u`, u uniform in [0, 1).
/// - RandomNormal(Like): `mean + scale·z`, z standard normal (Box–Muller).
///   Output types: float, double, float16, and bfloat16 from opset 22;
///   `dtype` defaults to float, for the *Like forms to the input's type.
/// - Bernoulli: 1 where `p > u`, else 0 (as the operator's function body
///   does), in `dtype` (default: the input's type; any numeric or bool).
/// - Multinomial: input `[batch, classes]` of unnormalized log-probabilities;
///   `sample_size` class indices per row (int32 by default, or int64).
enum RandomOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("RandomUniform", versions: [1, 22]) { try generator($0, like: false, normal: false) }
        registry.register("RandomNormal", versions: [1, 22]) { try generator($0, like: false, normal: true) }
        registry.register("RandomUniformLike", versions: [1, 22]) { try generator($0, like: true, normal: false) }
        registry.register("RandomNormalLike", versions: [1, 22]) { try generator($0, like: true, normal: true) }
        registry.register("Bernoulli", versions: [15, 22]) { try bernoulli($0) }
        registry.register("Multinomial", versions: [7, 22]) { try multinomial($0) }
    }

    static let floatOutputs: [ElementType] = [.float, .double, .float16, .bfloat16]

    static func checkFloatOutput(_ type: ElementType) throws {
        guard floatOutputs.contains(type) else {
            throw OnyxError.wrongElementType("random values cannot be generated as \(type)")
        }
    }

    static func generator(_ context: OpContext, like: Bool, normal: Bool) throws -> any Kernel {
        let seed = try RandomSeed(context)
        let dtype = try context.int("dtype").map(ConstantOps.elementType(code:)) ?? (like ? nil : .float)
        if let dtype { try checkFloatOutput(dtype) }
        let (first, second) = normal
            ? (Double(try context.float("mean", default: 0)), Double(try context.float("scale", default: 1)))
            : (Double(try context.float("low", default: 0)), Double(try context.float("high", default: 1)))
        let fixedShape = like ? nil : try context.ints("shape")
        if !like {
            guard let fixedShape else { throw OnyxError.invalidModel("attribute \"shape\" is required") }
            _ = try Tensor.checkedCount(fixedShape)
        }
        return ClosureKernel { inputs, _ in
            var shape = fixedShape ?? []
            var type = dtype ?? .float
            if like {
                let input = try inputs.tensor(0)
                shape = input.shape
                type = dtype ?? input.elementType
                try checkFloatOutput(type)
            }
            var random = seed.generator()
            if normal {
                return [.tensor(try makeFloats(type, shape) { first + second * random.normal() })]
            }
            return [.tensor(try makeFloats(type, shape) { first + (second - first) * random.unit() })]
        }
    }

    /// A tensor of floating-point `type` whose elements `next` produces in order.
    static func makeFloats(_ type: ElementType, _ shape: [Int], _ next: () -> Double) throws -> Tensor {
        switch type {
        case .float: return try Tensor.make(Float.self, shape) { out in for i in out.indices { out[i] = Float(next()) } }
        case .double: return try Tensor.make(Double.self, shape) { out in for i in out.indices { out[i] = next() } }
        default:
            let count = try Tensor.checkedCount(shape)
            _ = try TensorAllocation.checkedBytes(type, count: count)
            _ = try TensorAllocation.checkedBytes(.double, count: count)
            return try Tensor.fromDoubles((0..<count).map { _ in next() }, shape: shape, as: type)
        }
    }

    static func bernoulli(_ context: OpContext) throws -> any Kernel {
        let seed = try RandomSeed(context)
        let dtype = try context.int("dtype").map(ConstantOps.elementType(code:))
        if let dtype, !(dtype.isInteger || dtype.isFloatingPoint || dtype == .bool) {
            throw OnyxError.wrongElementType("Bernoulli cannot produce \(dtype)")
        }
        return ClosureKernel { inputs, _ in
            let input = try inputs.tensor(0)
            try checkFloatOutput(input.elementType)
            let type = dtype ?? input.elementType
            _ = try TensorAllocation.checkedBytes(type, count: input.count)
            var random = seed.generator()
            let draws = try input.doubleValues().map { $0 > random.unit() ? Int64(1) : 0 }
            return [.tensor(try Tensor.fromInt64s(draws, shape: input.shape, as: type))]
        }
    }

    static func multinomial(_ context: OpContext) throws -> any Kernel {
        let seed = try RandomSeed(context)
        let type = try ConstantOps.elementType(code: try context.int("dtype", default: 6))
        guard type == .int32 || type == .int64 else {
            throw OnyxError.wrongElementType("Multinomial output must be int32 or int64, got \(type)")
        }
        let samples = try context.int("sample_size", default: 1)
        guard samples >= 0 else { throw OnyxError.invalidModel("sample_size \(samples) is negative") }
        return ClosureKernel { inputs, _ in
            let input = try inputs.tensor(0)
            try checkFloatOutput(input.elementType)
            guard input.shape.count == 2 else {
                throw OnyxError.shapeMismatch("Multinomial input must be [batch, classes], got \(input.shape)")
            }
            let (batch, classes) = (input.shape[0], input.shape[1])
            let logits = try input.doubleValues()
            var random = seed.generator()
            var cumulative = [Double](repeating: 0, count: classes)
            var draws = [Int64]()
            let total = try Tensor.checkedCount([batch, samples])
            _ = try TensorAllocation.checkedBytes(.int64, count: total)
            draws.reserveCapacity(total)
            for row in 0..<batch {
                let line = logits[(row * classes)..<((row + 1) * classes)]
                let peak = line.max() ?? 0
                var sum = 0.0
                for (index, logit) in line.enumerated() {
                    sum += exp(logit - peak)
                    cumulative[index] = sum
                }
                guard classes > 0, sum.isFinite, sum > 0 else {
                    throw OnyxError.invalidModel("Multinomial row \(row) has no finite probabilities")
                }
                for _ in 0..<samples {
                    let target = random.unit() * sum
                    var low = 0
                    var high = classes - 1
                    while low < high {
                        let middle = (low + high) / 2
                        if cumulative[middle] > target { high = middle } else { low = middle + 1 }
                    }
                    draws.append(Int64(low))
                }
            }
            return [.tensor(try Tensor.fromInt64s(draws, shape: [batch, samples], as: type))]
        }
    }
}

/// The `seed` attribute of a random operator: fixed, or fresh per run.
struct RandomSeed: Sendable {
    let fixed: UInt64?

    init(_ context: OpContext) throws {
        fixed = try context.float("seed").map { UInt64($0.bitPattern) }
    }

    func generator() -> SplitMix64 {
        var system = SystemRandomNumberGenerator()
        return SplitMix64(seed: fixed ?? system.next())
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast generator that
/// passes BigCrush; one 64-bit state word.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    private var spare: Double?

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 random bits.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Standard normal (Box–Muller; the second value of each pair is kept for the next call).
    mutating func normal() -> Double {
        if let value = spare {
            spare = nil
            return value
        }
        let radius = (-2 * log(1 - unit())).squareRoot()
        let angle = 2 * Double.pi * unit()
        spare = radius * sin(angle)
        return radius * cos(angle)
    }
}
