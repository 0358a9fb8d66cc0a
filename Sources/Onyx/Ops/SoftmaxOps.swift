import CKernels
import Foundation

/// Dropout passes its input through in inference; with training_mode it
/// keeps each element with probability 1 − ratio (scaled by 1 / (1 − ratio))
/// using a seeded generator (ONNX does not define the random sequence).
///
/// Softmax, LogSoftmax and Hardmax, with both axis semantics: up to opset
/// 12 the input is coerced to 2-D at `axis` (default 1) and each row of the
/// flattened trailing block is normalized; from 13 the op runs along the
/// single axis `axis` (default −1). Sums accumulate in Double after
/// subtracting the maximum.
enum SoftmaxOps {
    enum Kind: Sendable { case softmax, logSoftmax, hardmax }

    static func register(into registry: inout OpRegistry) {
        for (name, kind) in [("Softmax", Kind.softmax), ("LogSoftmax", .logSoftmax), ("Hardmax", .hardmax)] {
            registry.register(name, versions: [1, 11, 13]) { context in
                let coerced = context.opset < 13
                let axis = try context.int("axis", default: coerced ? 1 : -1)
                return ClosureKernel(inPlaceInputs: kind == .hardmax ? [] : [0]) { inputs, run in
                    let x = try inputs.tensor(0)
                    if kind != .hardmax, let y = try fastRows(kind, x, axis: axis, coerced: coerced, context: run) {
                        return [.tensor(y)]
                    }
                    return [.tensor(try apply(kind, x, axis: axis, coerced: coerced))]
                }
            }
        }
        registry.register("Dropout", versions: [1, 6, 7, 10, 12, 13, 22]) { context in
            let wantsMask = context.hasOutput(1)
            let seed = try RandomSeed(context)
            let legacyRatio = try context.float("ratio", default: 0.5)
            // Opset ≤ 6 defaults is_test to 0 (training); like onnxruntime, an
            // inference engine runs those nodes in test mode.
            let legacyTraining = false
            return ClosureKernel { inputs, _ in
                let x = try inputs.tensor(0)
                let ratio = try inputs.optionalTensor(1).map { try $0.doubleValues().first ?? 0.5 }
                    ?? Double(legacyRatio)
                let training = try inputs.optionalTensor(2).map { try $0.scalars(as: Bool.self).first ?? false }
                    ?? legacyTraining
                guard ratio >= 0 && ratio <= 1 else { throw OnyxError.invalidModel("ratio \(ratio) is outside [0, 1]") }
                guard training && ratio > 0 else {
                    var outputs: [Value?] = [.tensor(x)]
                    if wantsMask { outputs.append(.tensor(try Tensor(shape: x.shape, scalars: Array(repeating: true, count: x.count)))) }
                    return outputs
                }
                // Training: keep each element with probability 1 − ratio, scaled by 1 / (1 − ratio).
                var random = seed.generator()
                let keep = (0..<x.count).map { _ in random.unit() >= ratio }
                let scale = ratio < 1 ? 1 / (1 - ratio) : 0
                let values = try x.doubleValues()
                let dropped = (0..<values.count).map { keep[$0] ? values[$0] * scale : 0 }
                var outputs: [Value?] = [.tensor(try ActivationOps.encode(dropped, like: x))]
                if wantsMask { outputs.append(.tensor(try Tensor(shape: x.shape, scalars: keep))) }
                return outputs
            }
        }
    }

    /// float32 Softmax / LogSoftmax over contiguous rows (the axis is the
    /// last one, or opset < 13's coerced trailing block) on the C kernel,
    /// rows split across threads; nil when that does not apply. Each row is
    /// read whole before it is written, so the result may overwrite `x`
    /// when `context` donates its buffer.
    static func fastRows(_ kind: Kind, _ x: Tensor, axis: Int, coerced: Bool, context: RunContext) throws -> Tensor? {
        guard x.elementType == .float, x.shape.count >= 1 else { return nil }
        let resolved = try normalizeAxis(axis, rank: x.shape.count)
        guard coerced || resolved == x.shape.count - 1 else { return nil }
        let length = try Tensor.checkedCount(Array(x.shape[resolved...]))
        guard length > 0 else { return nil }
        let rows = x.count / length
        let donated = context.donation(for: x, outputCount: x.count)
        return try Tensor.makeOverwritten(Float.self, x.shape, reusing: donated) { out in
            guard let outBase = out.baseAddress else { return }
            try x.withElements(Float.self) { input in
                guard let inBase = input.baseAddress else { return }
                FloatElementwise.forChunks(count: rows, threads: context.options.threads, cost: length &* 4) { low, high in
                    onyx_softmax_rows_f32(high - low, length, inBase + low &* length, outBase + low &* length,
                                          kind == .logSoftmax ? 1 : 0)
                }
            }
        }
    }

    static func apply(_ kind: Kind, _ x: Tensor, axis: Int, coerced: Bool) throws -> Tensor {
        guard x.elementType.isFloatingPoint else {
            throw OnyxError.wrongElementType("defined on floating-point tensors, got \(x.elementType)")
        }
        let rank = x.shape.count
        let resolved = try normalizeAxis(axis, rank: rank)
        let outer: Int
        let length: Int
        let inner: Int
        if coerced {
            outer = x.shape[..<resolved].reduce(1, *)
            length = x.shape[resolved...].reduce(1, *)
            inner = 1
        } else {
            outer = x.shape[..<resolved].reduce(1, *)
            length = rank == 0 ? 1 : x.shape[resolved]
            inner = rank == 0 ? 1 : x.shape[(resolved + 1)...].reduce(1, *)
        }
        let values = try x.doubleValues()
        // An empty axis leaves nothing to normalize (and no argmax to mark).
        guard !values.isEmpty else { return try ActivationOps.encode([], like: x) }
        var out = [Double](repeating: 0, count: values.count)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var maximum = -Double.infinity
                var argmax = 0
                for k in 0..<length where values[base + k * inner] > maximum || k == 0 {
                    maximum = values[base + k * inner]
                    argmax = k
                }
                switch kind {
                case .hardmax:
                    out[base + argmax * inner] = 1
                case .softmax, .logSoftmax:
                    var sum = 0.0
                    for k in 0..<length { sum += exp(values[base + k * inner] - maximum) }
                    for k in 0..<length {
                        let shifted = values[base + k * inner] - maximum
                        out[base + k * inner] = kind == .softmax ? exp(shifted) / sum : shifted - log(sum)
                    }
                }
            }
        }
        return try ActivationOps.encode(out, like: x)
    }
}
