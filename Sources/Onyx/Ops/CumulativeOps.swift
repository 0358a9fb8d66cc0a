/// CumSum (opset 11, 14) and CumProd (opset 26): running sums / products
/// along the axis given by the second input (an int32 or int64 scalar,
/// negative counts from the back).
///
/// `exclusive = 1` leaves the current element out (the first output is
/// the identity, 0 or 1); `reverse = 1` runs from the end of the axis.
/// Floating-point types accumulate in Double and round each output once;
/// integer types wrap.
enum CumulativeOps {
    static func register(into registry: inout OpRegistry) {
        registry.register("CumSum", versions: [11, 14]) { try build(product: false, $0) }
        registry.register("CumProd", since: 26) { try build(product: true, $0) }
    }

    static func build(product: Bool, _ context: OpContext) throws -> any Kernel {
        let exclusive = try context.int("exclusive", default: 0) != 0
        let reverse = try context.int("reverse", default: 0) != 0
        return ClosureKernel { inputs, _ in
            let x = try inputs.tensor(0)
            let axisTensor = try inputs.tensor(1)
            guard axisTensor.elementType == .int32 || axisTensor.elementType == .int64,
                  axisTensor.count == 1, axisTensor.shape.count <= 1
            else {
                throw OnyxError.invalidModel("axis must be an int32 or int64 scalar, got \(axisTensor)")
            }
            let rawAxis = try axisTensor.int64Values()[0]
            guard let axisValue = Int(exactly: rawAxis) else { throw OnyxError.invalidModel("axis \(rawAxis) is out of range") }
            let rank = x.shape.count
            let axis = try normalizeAxis(axisValue, rank: rank)
            let shape = rank == 0 ? [1] : x.shape
            let scan = Scan(
                outer: shape[..<axis].reduce(1, &*), length: shape[axis], inner: shape[(axis + 1)...].reduce(1, &*),
                reverse: reverse, exclusive: exclusive, product: product)
            return [.tensor(try ScanVisitor(x: x, scan: scan).apply())]
        }
    }
}

/// A running sum or product over the middle axis of [outer, length, inner].
struct Scan: Sendable {
    let outer: Int
    let length: Int
    let inner: Int
    let reverse: Bool
    let exclusive: Bool
    let product: Bool

    /// Runs the scan with `combine`, starting every line at `identity`.
    func run<A>(identity: A, load: (Int) -> A, store: (Int, A) -> Void, combine: (A, A) -> A) {
        for o in 0..<outer {
            for j in 0..<inner {
                var accumulator = identity
                for step in 0..<length {
                    let k = reverse ? length - 1 - step : step
                    let index = (o &* length &+ k) &* inner &+ j
                    let value = load(index)
                    if exclusive {
                        store(index, accumulator)
                        accumulator = combine(accumulator, value)
                    } else {
                        accumulator = combine(accumulator, value)
                        store(index, accumulator)
                    }
                }
            }
        }
    }

    func doubles(_ load: (Int) -> Double, _ store: (Int, Double) -> Void) {
        if product {
            run(identity: 1.0, load: load, store: store) { $0 * $1 }
        } else {
            run(identity: 0.0, load: load, store: store) { $0 + $1 }
        }
    }
}

struct ScanVisitor: ElementVisitor {
    let x: Tensor
    let scan: Scan

    func apply() throws -> Tensor {
        guard x.elementType != .bool, x.elementType != .string else {
            throw OnyxError.wrongElementType("\(scan.product ? "CumProd" : "CumSum") is not defined on \(x.elementType)")
        }
        return try x.elementType.visit(self)
    }

    func visitFloat<T: BinaryFloatingPoint & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try x.withElements(T.self) { input in
            try Tensor.make(T.self, x.shape) { out in
                scan.doubles({ Double(input[$0]) }, { out[$0] = T($1) })
            }
        }
    }

    func visitInteger<T: FixedWidthInteger & TensorScalar>(_ type: T.Type) throws -> Tensor {
        try x.withElements(T.self) { input in
            try Tensor.make(T.self, x.shape) { out in
                if scan.product {
                    scan.run(identity: T(1), load: { input[$0] }, store: { out[$0] = $1 }) { $0 &* $1 }
                } else {
                    scan.run(identity: T(0), load: { input[$0] }, store: { out[$0] = $1 }) { $0 &+ $1 }
                }
            }
        }
    }

    func visitBool() throws -> Tensor {
        throw OnyxError.wrongElementType("cumulative operators are not defined on bool")
    }

    func visitOther(_ type: ElementType) throws -> Tensor {
        guard type.isFloatingPoint else {
            throw OnyxError.wrongElementType("cumulative operators are not defined on \(type)")
        }
        let input = try x.doubleValues()
        var result = [Double](repeating: 0, count: input.count)
        scan.doubles({ input[$0] }, { result[$0] = $1 })
        return try Tensor.fromDoubles(result, shape: x.shape, as: type)
    }
}
