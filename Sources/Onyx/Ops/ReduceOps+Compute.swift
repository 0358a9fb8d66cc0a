import Foundation

/// Computes one Reduce* operator over a tensor of any supported type
/// (see ``ReduceOps`` for the rules per type).
struct ReduceVisitor: ElementVisitor {
    let data: Tensor
    let geometry: ReductionGeometry
    let kind: ReduceKind

    func apply() throws -> Tensor {
        switch data.elementType {
        case .string, .complex64, .complex128:
            throw OnyxError.wrongElementType("\(kind) reduction is not defined on \(data.elementType)")
        default:
            return try data.elementType.visit(self)
        }
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor { try real() }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else {
            throw OnyxError.wrongElementType("\(kind) reduction is not defined on \(type)")
        }
        return try real()
    }

    private func real() throws -> Tensor {
        let values = try data.doubleValues()
        let result = values.withUnsafeBufferPointer { ReduceVisitor.reduceReal($0, geometry, kind) }
        return try Tensor.fromDoubles(result, shape: geometry.outputShape, as: data.elementType)
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        if kind == .logSumExp {
            let values = try data.doubleValues()
            let result = values.withUnsafeBufferPointer { ReduceVisitor.reduceReal($0, geometry, kind) }
            return try Tensor.make(T.self, geometry.outputShape) { out in
                for index in out.indices { out[index] = saturatingInteger(result[index]) }
            }
        }
        return try data.withElements(T.self) { x in
            try Tensor.make(T.self, geometry.outputShape) { out in ReduceVisitor.reduceInteger(x, into: out, geometry, kind) }
        }
    }

    func visitBool() throws -> Tensor {
        guard kind == .max || kind == .min else {
            throw OnyxError.wrongElementType("\(kind) reduction is not defined on bool")
        }
        let values = try data.scalars(as: Bool.self).map { $0 ? UInt8(1) : 0 }
        var result = [UInt8](repeating: 0, count: geometry.outputCount)
        values.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { ReduceVisitor.reduceInteger(x, into: $0, geometry, kind) }
        }
        return try Tensor.make(Bool.self, geometry.outputShape) { out in
            for index in out.indices { out[index] = result[index] != 0 }
        }
    }

    /// Reduces in Double; empty sets give the identities documented on ``ReduceOps``.
    static func reduceReal(_ x: UnsafeBufferPointer<Double>, _ g: ReductionGeometry, _ kind: ReduceKind) -> [Double] {
        let identity: Double
        switch kind {
        case .prod: identity = 1
        case .max, .logSumExp: identity = -.infinity
        case .min: identity = .infinity
        default: identity = 0
        }
        var result = [Double](repeating: identity, count: g.outputCount)
        result.withUnsafeMutableBufferPointer { a in
            switch kind {
            case .sum, .mean, .logSum: g.forEach { i, o in a[o] += x[i] }
            case .l1: g.forEach { i, o in a[o] += abs(x[i]) }
            case .l2, .sumSquare: g.forEach { i, o in a[o] += x[i] * x[i] }
            case .prod: g.forEach { i, o in a[o] *= x[i] }
            case .max:
                g.forEach { i, o in
                    let v = x[i]
                    if v > a[o] || v.isNaN { a[o] = v }
                }
            case .min:
                g.forEach { i, o in
                    let v = x[i]
                    if v < a[o] || v.isNaN { a[o] = v }
                }
            case .logSumExp:
                g.forEach { i, o in
                    let v = x[i]
                    if v.isFinite && v > a[o] { a[o] = v }
                }
                for o in a.indices where !a[o].isFinite { a[o] = 0 }
                var sums = [Double](repeating: 0, count: a.count)
                sums.withUnsafeMutableBufferPointer { s in
                    g.forEach { i, o in s[o] += exp(x[i] - a[o]) }
                    for o in a.indices { a[o] = log(s[o]) + a[o] }
                }
            }
            switch kind {
            case .mean:
                let n = Double(g.reducedCount)
                for o in a.indices { a[o] /= n }
            case .l2: for o in a.indices { a[o] = a[o].squareRoot() }
            case .logSum: for o in a.indices { a[o] = log(a[o]) }
            default: break
            }
        }
        return result
    }

    /// Reduces in `T` with wrapping arithmetic into `a`; `logSumExp` is
    /// handled by the caller through Double.
    static func reduceInteger<T: FixedWidthInteger>(
        _ x: UnsafeBufferPointer<T>, into a: UnsafeMutableBufferPointer<T>, _ g: ReductionGeometry, _ kind: ReduceKind
    ) {
        let identity: T
        switch kind {
        case .prod: identity = 1
        case .max: identity = T.min
        case .min: identity = T.max
        default: identity = 0
        }
        for o in a.indices { a[o] = identity }
        switch kind {
        case .sum, .mean, .logSum, .logSumExp: g.forEach { i, o in a[o] &+= x[i] }
        case .l1:
            g.forEach { i, o in
                let v = x[i]
                a[o] &+= v < 0 ? 0 &- v : v
            }
        case .l2, .sumSquare: g.forEach { i, o in a[o] &+= x[i] &* x[i] }
        case .prod: g.forEach { i, o in a[o] &*= x[i] }
        case .max: g.forEach { i, o in a[o] = Swift.max(a[o], x[i]) }
        case .min: g.forEach { i, o in a[o] = Swift.min(a[o], x[i]) }
        }
        switch kind {
        case .mean:
            if let n = T(exactly: g.reducedCount), n != 0 {
                for o in a.indices { a[o] /= n }
            } else {
                for o in a.indices { a[o] = 0 }
            }
        case .l2: for o in a.indices { a[o] = saturatingInteger(Double(a[o]).squareRoot()) }
        case .logSum: for o in a.indices { a[o] = saturatingInteger(log(Double(a[o]))) }
        default: break
        }
    }
}
