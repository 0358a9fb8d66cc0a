import Foundation

extension MLOps {
    static func registerTreeEnsemble(into registry: inout OpRegistry) {
        registry.register("TreeEnsemble", domain: domain, since: 5) { context in
            let ensemble = try TreeEnsemble(context)
            return ClosureKernel { inputs, _ in [.tensor(try ensemble.run(try inputs.tensor(0)))] }
        }
    }
}

/// TreeEnsemble (ai.onnx.ml 5): every row of X `[N, F]` walks each tree
/// from its root; an interior node compares `X[feature]` with its split
/// (LEQ, LT, GTE, GT, EQ, NEQ, or MEMBER of a NaN-delimited set from
/// `membership_values`); a NaN feature follows the true branch where
/// `nodes_missing_value_tracks_true` says so. Reached leaves add their
/// weight to their target, aggregated by SUM, AVERAGE (sum / tree count),
/// MIN or MAX (targets no leaf reaches keep ± the type's largest finite
/// value, as the reference). Then `post_transform`: NONE, SOFTMAX,
/// LOGISTIC, SOFTMAX_ZERO (near-zero scores are not exponentiated, as
/// onnxruntime) or PROBIT (√2·erfinv(2p − 1)). Output `[N, n_targets]` of X's type.
struct TreeEnsemble: Sendable {
    struct Branch: Sendable {
        let index: Int
        let isLeaf: Bool
    }

    let features: [Int]
    let modes: [UInt8]
    let splits: [Double]
    let members: [Set<Double>]
    let tracksMissing: [Bool]
    let onTrue: [Branch]
    let onFalse: [Branch]
    let leafTargets: [Int]
    let leafWeights: [Double]
    let roots: [Int]
    let targets: Int
    let aggregate: Int
    let postTransform: Int

    init(_ context: OpContext) throws {
        func ints(_ name: String) throws -> [Int] { try context.ints(name) ?? [] }
        func values(_ name: String) throws -> [Double] { try context.tensor(name)?.doubleValues() ?? [] }
        features = try ints("nodes_featureids")
        modes = try context.tensor("nodes_modes")?.int64Values().map { UInt8(truncatingIfNeeded: $0) } ?? []
        splits = try values("nodes_splits")
        let nodeCount = features.count
        let trueIDs = try ints("nodes_truenodeids"), falseIDs = try ints("nodes_falsenodeids")
        let trueLeaf = try ints("nodes_trueleafs"), falseLeaf = try ints("nodes_falseleafs")
        leafTargets = try ints("leaf_targetids")
        leafWeights = try values("leaf_weights")
        roots = try ints("tree_roots")
        let nTargets = try context.int("n_targets") ?? 0
        targets = nTargets
        aggregate = try context.int("aggregate_function", default: 1)
        postTransform = try context.int("post_transform", default: 0)
        let missing = try ints("nodes_missing_value_tracks_true")
        guard [modes.count, splits.count, trueIDs.count, falseIDs.count, trueLeaf.count, falseLeaf.count]
                .allSatisfy({ $0 == nodeCount }),
              missing.isEmpty || missing.count == nodeCount, leafTargets.count == leafWeights.count
        else { throw OnyxError.invalidModel("nodes_* (and leaf_*) attributes must have equal lengths") }
        guard nTargets >= 1, (0...3).contains(aggregate), (0...4).contains(postTransform),
              modes.allSatisfy({ $0 <= 6 }), features.allSatisfy({ $0 >= 0 }),
              leafTargets.allSatisfy({ $0 >= 0 && $0 < nTargets }), roots.allSatisfy({ $0 >= 0 && $0 < nodeCount })
        else { throw OnyxError.invalidModel("invalid n_targets, aggregate_function, post_transform, modes, features, targets or roots") }
        let leafCount = leafWeights.count
        func branch(_ id: Int, _ leaf: Int) throws -> Branch {
            guard id >= 0, id < (leaf != 0 ? leafCount : nodeCount) else {
                throw OnyxError.invalidModel("branch target \(id) is out of range")
            }
            return Branch(index: id, isLeaf: leaf != 0)
        }
        onTrue = try (0..<nodeCount).map { try branch(trueIDs[$0], trueLeaf[$0]) }
        onFalse = try (0..<nodeCount).map { try branch(falseIDs[$0], falseLeaf[$0]) }
        tracksMissing = missing.isEmpty ? Array(repeating: false, count: nodeCount) : missing.map { $0 != 0 }
        var sets: [Set<Double>] = Array(repeating: [], count: nodeCount)
        var memberValues = try values("membership_values")[...]
        for node in 0..<nodeCount where modes[node] == 6 {
            guard !memberValues.isEmpty else {
                throw OnyxError.invalidModel("membership_values must list a set for every MEMBER node")
            }
            while let value = memberValues.popFirst(), !value.isNaN { sets[node].insert(value) }
        }
        members = sets
    }

    func run(_ x: Tensor) throws -> Tensor {
        guard [.float, .double, .float16].contains(x.elementType), x.shape.count == 2 else {
            throw OnyxError.wrongElementType("X must be a 2-D float, double or float16 tensor, got \(x)")
        }
        let (rows, width) = (x.shape[0], x.shape[1])
        guard features.allSatisfy({ $0 < width }) else {
            throw OnyxError.shapeMismatch("a node reads a feature beyond X's \(width) columns")
        }
        let data = try x.doubleValues()
        let largest: Double = x.elementType == .double ? .greatestFiniteMagnitude
            : x.elementType == .float ? Double(Float.greatestFiniteMagnitude) : 65504
        let initial = aggregate == 2 ? largest : (aggregate == 3 ? -largest : 0)
        var out = try TensorAllocation.array(repeating: initial as Double, shape: [rows, targets])
        for row in 0..<rows {
            let base = row * width
            for root in roots {
                let leaf = try walk(from: root) { data[base + $0] }
                let slot = row * targets + leafTargets[leaf]
                let weight = leafWeights[leaf]
                switch aggregate {
                case 0: out[slot] += weight / Double(roots.count)
                case 2: out[slot] = min(out[slot], weight)
                case 3: out[slot] = max(out[slot], weight)
                default: out[slot] += weight
                }
            }
            transform(&out[(row * targets)..<((row + 1) * targets)])
        }
        return try Tensor.fromDoubles(out, shape: [rows, targets], as: x.elementType)
    }

    /// The leaf reached from `root`; `feature` reads the row's features.
    private func walk(from root: Int, _ feature: (Int) -> Double) throws -> Int {
        var node = root
        for _ in 0...features.count {
            let value = feature(features[node])
            let split = splits[node]
            let taken: Bool
            if value.isNaN && tracksMissing[node] {
                taken = true
            } else {
                switch modes[node] {
                case 0: taken = value <= split
                case 1: taken = value < split
                case 2: taken = value >= split
                case 3: taken = value > split
                case 4: taken = value == split
                case 5: taken = value != split
                default: taken = members[node].contains(value)
                }
            }
            let next = taken ? onTrue[node] : onFalse[node]
            if next.isLeaf { return next.index }
            node = next.index
        }
        throw OnyxError.invalidModel("tree starting at node \(root) has a cycle")
    }

    private func transform(_ scores: inout ArraySlice<Double>) {
        switch postTransform {
        case 1, 3:
            let top = scores.max() ?? 0
            var sum = 0.0
            for i in scores.indices {
                if postTransform == 3 && abs(scores[i]) <= 1e-7 {
                    scores[i] *= exp(-top)
                } else {
                    scores[i] = exp(scores[i] - top)
                    sum += scores[i]
                }
            }
            for i in scores.indices { scores[i] /= sum }
        case 2:
            for i in scores.indices { scores[i] = 1 / (1 + exp(-scores[i])) }
        case 4:
            for i in scores.indices { scores[i] = 2.0.squareRoot() * Self.inverseErf(2 * scores[i] - 1) }
        default:
            break
        }
    }

    /// erf⁻¹ on (−1, 1) (±∞ at ±1, NaN outside): a rational first guess
    /// refined by Newton steps on `erf`.
    static func inverseErf(_ y: Double) -> Double {
        guard y > -1, y < 1 else { return y == 1 ? .infinity : (y == -1 ? -.infinity : .nan) }
        let w = -log((1 - y) * (1 + y))
        var x: Double
        if w < 5 {
            let t = w - 2.5
            x = 2.81022636e-08
            for c in [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                      -0.00417768164, 0.246640727, 1.50140941] { x = x * t + c }
        } else {
            let t = w.squareRoot() - 3
            x = -0.000200214257
            for c in [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                      0.00943887047, 1.00167406, 2.83297682] { x = x * t + c }
        }
        x *= y
        for _ in 0..<3 {
            let error = erf(x) - y
            x -= error / (2 / Double.pi.squareRoot() * exp(-x * x))
        }
        return x
    }
}
