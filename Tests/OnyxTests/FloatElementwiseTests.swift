import CKernels
import Foundation
import XCTest
@testable import Onyx

/// The float32 C loops (`FloatElementwise`): the approximations of exp,
/// sigmoid, tanh and erf against Double libm in ulps over dense sweeps and
/// special values; broadcast binary runs against the reference broadcasting
/// over many shape pairs; results identical across thread counts.
final class FloatElementwiseTests: XCTestCase {
    /// |actual − expected| in units of the last place of `expected` as a float.
    static func ulps(_ actual: Float, _ expected: Double) -> Double {
        if actual.isNaN || expected.isNaN { return actual.isNaN && expected.isNaN ? 0 : .infinity }
        let rounded = Float(expected)
        if actual == rounded { return 0 }
        if rounded.isInfinite || actual.isInfinite { return .infinity }
        let ulp = Double(max(rounded.ulp, Float.leastNonzeroMagnitude))
        return abs(Double(actual) - expected) / ulp
    }

    static func apply(_ op: onyx_unary_op, _ values: [Float], alpha: Float = 0, beta: Float = 0) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                onyx_unary_f32(Int32(op.rawValue), values.count, input.baseAddress, output.baseAddress, alpha, beta)
            }
        }
        return out
    }

    /// A dense sweep of [-limit, limit] plus every power of two inside it.
    static func sweep(_ limit: Float, count: Int = 200_001) -> [Float] {
        var values = (0..<count).map { -limit + 2 * limit * Float($0) / Float(count - 1) }
        var power: Float = 1e-30
        while power < limit {
            values += [power, -power, power * 1.37, -power * 1.37]
            power *= 2
        }
        return values
    }

    func checkUlps(_ op: onyx_unary_op, _ values: [Float], maxUlps: Double, _ reference: (Double) -> Double) {
        let got = Self.apply(op, values)
        var worst = 0.0
        var worstAt: Float = 0
        for (x, y) in zip(values, got) {
            let error = Self.ulps(y, reference(Double(x)))
            if error > worst {
                worst = error
                worstAt = x
            }
        }
        XCTAssertLessThanOrEqual(worst, maxUlps, "\(op): \(worst) ulps at x = \(worstAt)")
    }

    func testExpWithinTwoUlps() {
        checkUlps(ONYX_UNARY_EXP, Self.sweep(88.7), maxUlps: 2) { Foundation.exp($0) }
        checkUlps(ONYX_UNARY_EXP, Self.sweep(103, count: 20_001).filter { $0 < -87 }, maxUlps: 2) { Foundation.exp($0) }
    }

    func testSigmoidTanhErfWithinFewUlps() {
        checkUlps(ONYX_UNARY_SIGMOID, Self.sweep(40), maxUlps: 4) { 1 / (1 + Foundation.exp(-$0)) }
        // Out to where sigmoid(x) leaves the normal floats (e^-x built with one scale).
        checkUlps(ONYX_UNARY_SIGMOID, Self.sweep(87, count: 40_001), maxUlps: 4) { 1 / (1 + Foundation.exp(-$0)) }
        checkUlps(ONYX_UNARY_TANH, Self.sweep(12), maxUlps: 4) { Foundation.tanh($0) }
        checkUlps(ONYX_UNARY_ERF, Self.sweep(6), maxUlps: 4) { Foundation.erf($0) }
    }

    func testGeluAndSiluCloseToDouble() {
        let values = Self.sweep(10)
        let gelu = Self.apply(ONYX_UNARY_GELU, values)
        let silu = Self.apply(ONYX_UNARY_SILU, values)
        for (index, x) in values.enumerated() {
            let d = Double(x)
            let geluRef = 0.5 * d * (1 + Foundation.erf(d / 2.squareRoot()))
            let siluRef = d / (1 + Foundation.exp(-d))
            XCTAssertEqual(Double(gelu[index]), geluRef, accuracy: 4e-7 * max(1, abs(d)), "gelu(\(x))")
            XCTAssertEqual(Double(silu[index]), siluRef, accuracy: 4e-7 * max(1, abs(d)), "silu(\(x))")
        }
    }

    func testSpecialValues() {
        let specials: [Float] = [.nan, .infinity, -.infinity, 0, -0.0, 0x1p-133, -0x1p-133, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        let exp = Self.apply(ONYX_UNARY_EXP, specials)
        XCTAssertTrue(exp[0].isNaN)
        XCTAssertEqual(Array(exp[1...]), [.infinity, 0, 1, 1, 1, 1, .infinity, 0])
        let sigmoid = Self.apply(ONYX_UNARY_SIGMOID, specials)
        XCTAssertTrue(sigmoid[0].isNaN)
        XCTAssertEqual(Array(sigmoid[1...]), [1, 0, 0.5, 0.5, 0.5, 0.5, 1, 0])
        // Past x = -88.72 sigmoid is below every denormal step it could be off by: 0, so silu(-huge) = -0.
        let deep = Self.apply(ONYX_UNARY_SIGMOID, [-88.5, -88.8, -100, -1e30])
        XCTAssertLessThan(deep[0], 0x1p-126)
        XCTAssertGreaterThan(deep[0], 0)
        XCTAssertEqual(Array(deep[1...]), [0, 0, 0])
        let silu = Self.apply(ONYX_UNARY_SILU, [-1e30, .infinity, -.infinity, .nan])
        XCTAssertEqual(silu[0], 0)
        XCTAssertEqual(silu[1], .infinity)
        XCTAssertTrue(silu[2].isNaN && silu[3].isNaN)
        let tanh = Self.apply(ONYX_UNARY_TANH, specials)
        XCTAssertTrue(tanh[0].isNaN)
        XCTAssertEqual(Array(tanh[1...]), [1, -1, 0, -0.0, 0x1p-133, -0x1p-133, 1, -1])
        XCTAssertEqual(tanh[4].sign, .minus)
        let erf = Self.apply(ONYX_UNARY_ERF, specials)
        XCTAssertTrue(erf[0].isNaN)
        XCTAssertEqual(Array(erf[1...4]), [1, -1, 0, -0.0])
        XCTAssertEqual(erf[4].sign, .minus)
        XCTAssertLessThanOrEqual(Self.ulps(erf[5], 1.1283791670955126 * 0x1p-133), 1)
        XCTAssertEqual(Self.apply(ONYX_UNARY_RELU, [.nan, -1, 2])[1...], [0, 2])
        XCTAssertTrue(Self.apply(ONYX_UNARY_RELU, [.nan])[0].isNaN)
        XCTAssertTrue(Self.apply(ONYX_UNARY_CLIP, [.nan], alpha: 0, beta: 1)[0].isNaN)
    }

    func testBroadcastBinaryMatchesReference() throws {
        let pairs: [([Int], [Int])] = [
            ([2, 3, 4, 5], [2, 3, 4, 5]), ([2, 3, 4, 5], [3, 1, 1]), ([2, 3, 4, 5], [5]), ([2, 3, 4, 5], []),
            ([1], [7, 9]), ([4, 1, 5], [1, 3, 1]), ([2, 3, 1, 5], [2, 1, 4, 1]), ([6, 1], [1, 6]),
            ([1, 3, 128, 64], [1, 1, 1, 64]), ([2, 12, 16, 16], [2, 1, 1, 16]), ([0, 3], [3]), ([3, 1, 1], [3, 40, 50]),
        ]
        var state: UInt64 = 3
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 40) - (1 << 23)) / Float(1 << 22) + 0.125
        }
        for (aShape, bShape) in pairs {
            for (forward, swap) in [(aShape, bShape), (bShape, aShape)].enumerated() {
                _ = forward
                let a = try Tensor(shape: swap.0, scalars: (0..<swap.0.reduce(1, *)).map { _ in next() })
                let b = try Tensor(shape: swap.1, scalars: (0..<swap.1.reduce(1, *)).map { _ in next() })
                for (op, rule) in [(ONYX_BINARY_ADD, 0), (ONYX_BINARY_SUB, 1), (ONYX_BINARY_MUL, 2), (ONYX_BINARY_DIV, 3)] {
                    let fast = try FloatElementwise.binary(op, a, b, threads: 1)
                    let reference: Tensor
                    switch rule {
                    case 0: reference = try ArithmeticVisitor<AddRule>(a: a, b: b).apply()
                    case 1: reference = try ArithmeticVisitor<SubRule>(a: a, b: b).apply()
                    case 2: reference = try ArithmeticVisitor<MulRule>(a: a, b: b).apply()
                    default: reference = try ArithmeticVisitor<DivRule>(a: a, b: b).apply()
                    }
                    XCTAssertEqual(fast.shape, reference.shape)
                    XCTAssertEqual(try fast.scalars(as: Float.self).map(\.bitPattern),
                                   try reference.scalars(as: Float.self).map(\.bitPattern), "\(swap) op \(rule)")
                }
            }
        }
    }

    func testThreadCountsGiveIdenticalBits() throws {
        let count = 3 * FloatElementwise.minimumElementsPerThread + 17
        let values = (0..<count).map { Float($0 % 1000) / 100 - 5 }
        let x = try Tensor(shape: [count], scalars: values)
        for op in [ONYX_UNARY_EXP, ONYX_UNARY_TANH, ONYX_UNARY_GELU] {
            let one = try FloatElementwise.unary(op, x, threads: 1).scalars(as: Float.self)
            let two = try FloatElementwise.unary(op, x, threads: 2).scalars(as: Float.self)
            XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern))
            XCTAssertEqual(one.map(\.bitPattern), Self.apply(op, values).map(\.bitPattern))
        }
        let b = try Tensor(shape: [1, count], scalars: Array(values.reversed()))
        let a = try Tensor(shape: [3, 1], scalars: [Float(1), 2, 3])
        let one = try FloatElementwise.binary(ONYX_BINARY_MUL, a, b, threads: 1).scalars(as: Float.self)
        let two = try FloatElementwise.binary(ONYX_BINARY_MUL, a, b, threads: 2).scalars(as: Float.self)
        XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern))
    }
}

/// The float32 Softmax / LogSoftmax rows kernel against the reference.
final class SoftmaxFastPathTests: XCTestCase {
    func testRowsMatchReference() throws {
        var state: UInt64 = 9
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 40) - (1 << 23)) / Float(1 << 20)
        }
        for shape in [[1], [5], [3, 17], [2, 4, 129], [2, 3, 1000], [64, 16]] {
            let count = shape.reduce(1, *)
            let x = try Tensor(shape: shape, scalars: (0..<count).map { _ in next() })
            for kind in [SoftmaxOps.Kind.softmax, .logSoftmax] {
                for (axis, coerced) in [(-1, false), (shape.count > 1 ? 1 : 0, true)] {
                    let reference = try SoftmaxOps.apply(kind, x, axis: axis, coerced: coerced).scalars(as: Float.self)
                    for threads in [1, 2] {
                        let fast = try XCTUnwrap(try SoftmaxOps.fastRows(kind, x, axis: axis, coerced: coerced, context: .testing(threads: threads)))
                        let got = try fast.scalars(as: Float.self)
                        for index in reference.indices {
                            XCTAssertEqual(got[index], reference[index], accuracy: 2e-6 * max(1, abs(reference[index])),
                                           "\(kind) \(shape) axis \(axis) [\(index)]")
                        }
                    }
                }
            }
        }
    }

    func testSpecialRows() throws {
        let x = try Tensor(shape: [3, 3], scalars: [Float(1), .nan, 2, -.infinity, 0, -.infinity, 1000, 1000, -1000])
        let y = try XCTUnwrap(try SoftmaxOps.fastRows(.softmax, x, axis: -1, coerced: false, context: .testing(threads: 1))).scalars(as: Float.self)
        XCTAssertTrue(y[0..<3].allSatisfy(\.isNaN))
        XCTAssertEqual(Array(y[3..<6]), [0, 1, 0])
        XCTAssertEqual(Array(y[6..<9]), [0.5, 0.5, 0])
        XCTAssertNil(try SoftmaxOps.fastRows(.softmax, x, axis: 0, coerced: false, context: .testing(threads: 1)))
    }
}

extension RunContext {
    /// A context with no outer scope, `threads` and no donated buffer.
    static func testing(threads: Int?) -> RunContext {
        var options = RunOptions()
        options.threads = threads
        return RunContext(lookup: { _ in nil }, options: options)
    }
}
