import XCTest
@testable import Onyx

/// The operators on the packed GEMM against their reference loops: MatMul
/// (batched, broadcast, 1-D), Gemm (transposes, every C broadcast, constant
/// B packed), and Conv over grouped, depthwise, strided, dilated, padded,
/// 1×1, 1-D and 3-D shapes, at 1 and 2 threads and with packed weights.
final class GemmOperatorTests: XCTestCase {
    func testMatMulFastPathMatchesReference() throws {
        let shapes: [([Int], [Int])] = [
            ([5], [5]), ([5], [5, 3]), ([4, 5], [5]), ([2, 3, 7, 33], [33, 19]), ([7, 33], [2, 3, 33, 19]),
            ([2, 1, 5, 6], [3, 6, 17]), ([1, 65, 130], [130, 70]), ([3, 0, 4], [4, 5]), ([2, 3, 0], [0, 4]),
        ]
        var values = GemmTests.Values(state: 7)
        for (aShape, bShape) in shapes {
            let a = values.floats(aShape.reduce(1, *))
            let b = values.floats(bShape.reduce(1, *))
            let product = try MatrixProduct(aShape, bShape)
            let count = product.outputShape.reduce(1, *)
            var fast = [Float](repeating: 0, count: count)
            var reference = [Float](repeating: 0, count: count)
            var magnitude = [Float](repeating: 0, count: count)
            let absA = a.map(abs), absB = b.map(abs)
            try a.withUnsafeBufferPointer { ap in
                try b.withUnsafeBufferPointer { bp in
                    try fast.withUnsafeMutableBufferPointer { try product.sgemm(ap, bp, $0, packedB: nil, threads: 2) }
                    reference.withUnsafeMutableBufferPointer { product.floats(ap, bp, $0) }
                }
            }
            absA.withUnsafeBufferPointer { ap in
                absB.withUnsafeBufferPointer { bp in magnitude.withUnsafeMutableBufferPointer { product.floats(ap, bp, $0) } }
            }
            for index in 0..<count {
                GemmTests.assertClose(fast[index], Double(reference[index]), scale: Double(magnitude[index]), "\(aShape)·\(bShape) [\(index)]")
            }
        }
    }

    func testMatMulAndGemmOperatorsWithConstantWeights() throws {
        var values = GemmTests.Values(state: 11)
        let a = try Tensor(shape: [3, 9, 40], scalars: values.floats(3 * 9 * 40))
        let b = try Tensor(shape: [40, 23], scalars: values.floats(40 * 23))
        let packed = try XCTUnwrap(MatrixProduct.packedConstantB(b))
        XCTAssertTrue(packed.matches(b))
        XCTAssertFalse(packed.matches(try Tensor(shape: [40, 23], scalars: try b.scalars(as: Float.self))))
        let product = try MatrixProduct(a.shape, b.shape)
        let viaPacked = try MatMulVisitor(a: a, b: b, product: product, packedB: packed.matrices.first, threads: 1).apply()
        let plain = try MatMulVisitor(a: a, b: b, product: product, threads: 2).apply()
        XCTAssertEqual(try viaPacked.scalars(as: Float.self).map(\.bitPattern), try plain.scalars(as: Float.self).map(\.bitPattern))

        // Gemm: fast path against the reference visitor, every C broadcast and transpose.
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            for cShape in [[], [1], [17], [1, 17], [11, 1], [11, 17]] as [[Int]] {
                let x = try Tensor(shape: transA ? [29, 11] : [11, 29], scalars: values.floats(11 * 29))
                let y = try Tensor(shape: transB ? [17, 29] : [29, 17], scalars: values.floats(29 * 17))
                let c = try Tensor(shape: cShape, scalars: values.floats(cShape.reduce(1, *)))
                let cStrides = Broadcast.strides(of: cShape, broadcastTo: [11, 17])
                let packedB = LinearAlgebraOps.packedConstantB(y, transposed: transB)
                let fast = try LinearAlgebraOps.floatGemm(
                    x, y, c, cStrides: cStrides, alpha: 0.5, beta: 1.5, transA: transA, transB: transB,
                    packedB: packedB?.matrices.first, threads: 2)
                let xr = transA ? try LinearAlgebraOps.transposed(x) : x
                let yr = transB ? try LinearAlgebraOps.transposed(y) : y
                let reference = try GemmVisitor(
                    a: xr, b: yr, c: c, product: try MatrixProduct(xr.shape, yr.shape),
                    epilogue: GemmEpilogue(alpha: 0.5, beta: 1.5, columns: 17, cStrides: cStrides)).apply()
                let got = try fast.scalars(as: Float.self)
                let want = try reference.scalars(as: Float.self)
                for index in got.indices {
                    XCTAssertEqual(got[index], want[index], accuracy: 1e-5 * max(1, abs(want[index])), "C \(cShape) trans \(transA) \(transB)")
                }
            }
        }
    }

    // MARK: - Conv

    struct ConvCase {
        var x: [Int]
        var w: [Int]
        var group = 1
        var strides: [Int]? = nil
        var dilations: [Int]? = nil
        var pads: [Int]? = nil
        var autoPad = "NOTSET"
        var bias = true
    }

    static let convCases: [ConvCase] = [
        ConvCase(x: [1, 3, 7, 7], w: [5, 3, 3, 3], pads: [1, 1, 1, 1]),
        ConvCase(x: [2, 8, 9, 11], w: [16, 8, 1, 1]),
        ConvCase(x: [1, 8, 9, 11], w: [7, 8, 1, 1], strides: [2, 2]),
        ConvCase(x: [1, 4, 10, 13], w: [6, 4, 3, 3], strides: [2, 3], pads: [1, 0, 2, 1]),
        ConvCase(x: [1, 4, 12, 12], w: [6, 4, 3, 3], dilations: [2, 3], pads: [2, 2, 2, 2]),
        ConvCase(x: [2, 6, 8, 8], w: [9, 2, 3, 3], group: 3, pads: [1, 1, 1, 1], bias: false),
        ConvCase(x: [2, 12, 14, 14], w: [12, 1, 3, 3], group: 12, strides: [2, 2], pads: [1, 1, 1, 1]),
        ConvCase(x: [1, 32, 9, 9], w: [32, 1, 5, 5], group: 32, autoPad: "SAME_UPPER"),
        ConvCase(x: [1, 5, 6, 6], w: [4, 5, 7, 7], pads: [3, 3, 3, 3]),
        ConvCase(x: [1, 2, 2, 2], w: [3, 2, 5, 5], pads: [4, 4, 4, 4]),
        ConvCase(x: [1, 64, 14, 14], w: [70, 64, 3, 3], pads: [1, 1, 1, 1]),
        ConvCase(x: [3, 5, 17], w: [4, 5, 3], strides: [2], dilations: [2], pads: [1, 2]),
        ConvCase(x: [1, 3, 5, 6, 7], w: [4, 3, 3, 2, 3], strides: [1, 2, 1], pads: [1, 0, 1, 1, 1, 0]),
        ConvCase(x: [1, 4, 5, 5, 5], w: [6, 4, 1, 1, 1]),
        ConvCase(x: [1, 3, 0, 4], w: [2, 3, 1, 1], pads: [1, 0, 1, 0]),
    ]

    func testConvFastPathMatchesReference() throws {
        var values = GemmTests.Values(state: 3)
        for conv in Self.convCases {
            let rank = conv.x.count - 2
            let attributes = ConvGeometry.Attributes(
                kernel: nil, strides: conv.strides, dilations: conv.dilations, pads: conv.pads,
                autoPad: conv.autoPad, ceilMode: false)
            let x = try Tensor(shape: conv.x, scalars: values.floats(conv.x.reduce(1, *)))
            let w = try Tensor(shape: conv.w, scalars: values.floats(conv.w.reduce(1, *)))
            let b = conv.bias ? try Tensor(shape: [conv.w[0]], scalars: values.floats(conv.w[0])) : nil
            let absX = try Tensor(shape: conv.x, scalars: try x.scalars(as: Float.self).map(abs))
            let absW = try Tensor(shape: conv.w, scalars: try w.scalars(as: Float.self).map(abs))
            let absB = try b.map { try Tensor(shape: $0.shape, scalars: try $0.scalars(as: Float.self).map(abs)) }
            let (problem, outShape) = try ConvOps.problem(x, w, b, attributes: attributes, group: conv.group)
            XCTAssertEqual(outShape.count, rank + 2)
            let reference = try problem.run(Float.self, x, w, b, outShape).scalars(as: Float.self)
            let scale = try problem.run(Float.self, absX, absW, absB, outShape).scalars(as: Float.self)
            let packed = ConvProblem.packedWeights(w, group: conv.group)
            XCTAssertNotNil(packed)
            var bits: [UInt32]?
            for (threads, weights) in [(1, nil), (2, nil), (1, packed), (2, packed)] as [(Int, PackedConstant?)] {
                let fast = try problem.runFloat(x, w, b, outShape, packed: weights, threads: threads).scalars(as: Float.self)
                XCTAssertEqual(fast.count, reference.count)
                for index in fast.indices {
                    GemmTests.assertClose(fast[index], Double(reference[index]), scale: Double(scale[index]), "\(conv) [\(index)]")
                }
                if let bits { XCTAssertEqual(fast.map(\.bitPattern), bits, "\(conv) threads \(threads)") }
                bits = fast.map(\.bitPattern)
            }
        }
    }

    func testConvOperatorUsesFastPathWithFusedRelu() throws {
        var values = GemmTests.Values(state: 5)
        let x = try Tensor(shape: [1, 16, 20, 20], scalars: values.floats(16 * 400))
        let w = try Tensor(shape: [24, 16, 3, 3], scalars: values.floats(24 * 16 * 9))
        let b = try Tensor(shape: [24], scalars: values.floats(24))
        let attributes = ConvGeometry.Attributes(
            kernel: nil, strides: nil, dilations: nil, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        let (problem, outShape) = try ConvOps.problem(x, w, b, attributes: attributes, group: 1)
        let plain = try problem.runFloat(x, w, b, outShape, packed: nil, threads: 2).scalars(as: Float.self)
        let fused = try problem.runFloat(x, w, b, outShape, packed: nil, activation: .relu, threads: 2).scalars(as: Float.self)
        XCTAssertEqual(fused, plain.map { max($0, 0) })
        let viaOperator = try ConvOps.conv(x, w, b, attributes: attributes, group: 1)
        XCTAssertEqual(try viaOperator.scalars(as: Float.self), plain)
    }
}
