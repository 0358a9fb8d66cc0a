import CKernels
import XCTest
@testable import Onyx

/// The packed float32 GEMM (CKernels + Gemm.swift) against the reference
/// loops: raw products over many shapes, transposes, strides, alpha/beta,
/// epilogues, pre-packed operands, both microkernels, thread counts, and the
/// MatMul, Gemm and Conv paths that use it.
final class GemmTests: XCTestCase {
    /// Deterministic values in [-1, 1), or small integers (exact sums).
    struct Values {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 40) - (1 << 23)) / Float(1 << 23)
        }
        mutating func floats(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
        mutating func integers(_ count: Int) -> [Float] { (0..<count).map { _ in (next() * 4).rounded(.down) } }
    }

    /// C = alpha · A · B + beta · C in Double, with the scale Σ|terms| per element.
    static func reference(
        m: Int, n: Int, k: Int, alpha: Float, a: (Int, Int) -> Float, b: (Int, Int) -> Float,
        beta: Float, c: [Float], ldc: Int
    ) -> (values: [Double], scale: [Double]) {
        var values = [Double](repeating: 0, count: m * n)
        var scale = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                var magnitude = 0.0
                for p in 0..<k {
                    let term = Double(a(i, p)) * Double(b(p, j))
                    sum += term
                    magnitude += abs(term)
                }
                let cTerm = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                values[i * n + j] = Double(alpha) * sum + cTerm
                scale[i * n + j] = abs(Double(alpha)) * magnitude + abs(cTerm)
            }
        }
        return (values, scale)
    }

    static func assertClose(
        _ actual: Float, _ expected: Double, scale: Double, _ message: @autoclosure () -> String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let tolerance = 1e-5 * max(scale, 1e-30)
        if !(abs(Double(actual) - expected) <= tolerance) {
            XCTFail("\(message()): got \(actual), expected \(expected) (scale \(scale))", file: file, line: line)
        }
    }

    /// One product through `Gemm.multiply` with the operands laid out as asked.
    struct Case {
        var m: Int, n: Int, k: Int
        var transA = false, transB = false
        var padA = 0, padB = 0, padC = 0
        var alpha: Float = 1, beta: Float = 0
        var integers = false

        func run(
            threads: Int = 1, kernel: Gemm.KernelChoice = .automatic, packA: Bool = false, packB: Bool = false,
            bias: [Float]? = nil, biasPerRow: Bool = false, activation: Gemm.Activation = .none
        ) throws -> (out: [Float], a: [Float], b: [Float], c: [Float], lda: Int, ldb: Int, ldc: Int) {
            var values = Values(state: UInt64(m * 1_000_003 + n * 1009 + k))
            let aRows = transA ? k : m, aColumns = transA ? m : k
            let bRows = transB ? n : k, bColumns = transB ? k : n
            let lda = aColumns + padA, ldb = bColumns + padB, ldc = n + padC
            let aCount = max(aRows * lda, 1), bCount = max(bRows * ldb, 1)
            let a = integers ? values.integers(aCount) : values.floats(aCount)
            let b = integers ? values.integers(bCount) : values.floats(bCount)
            let c = integers ? values.integers(max(m * ldc, 1)) : values.floats(max(m * ldc, 1))
            var out = c
            try a.withUnsafeBufferPointer { ap in
                try b.withUnsafeBufferPointer { bp in
                    try out.withUnsafeMutableBufferPointer { cp in
                        guard let cBase = cp.baseAddress else { return }
                        var aMatrix = Gemm.Matrix.rowMajor(ap.baseAddress, columns: lda)
                        if transA { aMatrix = aMatrix.transposed }
                        var bMatrix = Gemm.Matrix.rowMajor(bp.baseAddress, columns: ldb)
                        if transB { bMatrix = bMatrix.transposed }
                        let aOperand: Gemm.Operand = packA
                            ? .packed(try PackedMatrix(.a, rows: m, columns: k, from: aMatrix)) : .matrix(aMatrix)
                        let bOperand: Gemm.Operand = packB
                            ? .packed(try PackedMatrix(.b, rows: k, columns: n, from: bMatrix)) : .matrix(bMatrix)
                        let run = { (gemmBias: Gemm.Bias) in
                            try Gemm.multiply(
                                m: m, n: n, k: k, alpha: alpha, a: aOperand, b: bOperand, beta: beta, c: cBase, ldc: ldc,
                                bias: gemmBias, activation: activation, threads: threads, kernel: kernel)
                        }
                        if let bias {
                            try bias.withUnsafeBufferPointer { values in
                                guard let base = values.baseAddress else { return }
                                try run(biasPerRow ? .row(base) : .column(base))
                            }
                        } else {
                            try run(.none)
                        }
                    }
                }
            }
            return (out, a, b, c, lda, ldb, ldc)
        }

        /// Checks the result against the Double reference (exactly for integer operands).
        func check(kernel: Gemm.KernelChoice = .automatic, file: StaticString = #filePath, line: UInt = #line) throws {
            let result = try run(kernel: kernel)
            let (lda, ldb, ldc) = (result.lda, result.ldb, result.ldc)
            let expected = GemmTests.reference(
                m: m, n: n, k: k, alpha: alpha,
                a: { i, p in transA ? result.a[p * lda + i] : result.a[i * lda + p] },
                b: { p, j in transB ? result.b[j * ldb + p] : result.b[p * ldb + j] },
                beta: beta, c: result.c, ldc: ldc)
            for i in 0..<m {
                for j in 0..<n {
                    let got = result.out[i * ldc + j]
                    if integers {
                        XCTAssertEqual(Double(got), expected.values[i * n + j], "\(self) at (\(i), \(j))", file: file, line: line)
                    } else {
                        GemmTests.assertClose(
                            got, expected.values[i * n + j], scale: expected.scale[i * n + j], "\(self) at (\(i), \(j))",
                            file: file, line: line)
                    }
                }
                for j in n..<ldc where result.out[i * ldc + j].bitPattern != result.c[i * ldc + j].bitPattern {
                    XCTFail("\(self): padding column \(j) of row \(i) was written", file: file, line: line)
                }
            }
        }
    }

    static let edgeSizes = [1, 2, 5, 6, 7, 15, 16, 17]
    static let largeShapes: [(Int, Int, Int)] = [
        (31, 33, 29), (64, 64, 64), (97, 101, 103), (127, 129, 131), (150, 47, 257), (13, 300, 300),
        (300, 17, 263), (211, 199, 520), (1, 293, 300), (293, 1, 300), (300, 300, 1), (48, 160, 600),
    ]

    func testEdgeTileShapesExact() throws {
        for m in Self.edgeSizes {
            for n in Self.edgeSizes {
                for k in Self.edgeSizes { try Case(m: m, n: n, k: k, integers: true).check() }
            }
        }
    }

    func testLargerShapesIncludingPrimesAndSeveralKBlocks() throws {
        for (m, n, k) in Self.largeShapes {
            try Case(m: m, n: n, k: k).check()
            try Case(m: m, n: n, k: k, integers: true).check()
        }
    }

    func testTransposesStridesAlphaBeta() throws {
        let shapes = [(1, 1, 1), (7, 17, 5), (6, 16, 300), (23, 41, 37), (130, 70, 270)]
        for (m, n, k) in shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25), (1, -1)] {
                        try Case(
                            m: m, n: n, k: k, transA: transA, transB: transB, padA: 3, padB: 5, padC: 2,
                            alpha: alpha, beta: beta
                        ).check()
                    }
                }
            }
        }
    }

    func testPortableKernelMatchesReference() throws {
        for m in [1, 6, 7, 17] {
            for n in [1, 15, 16, 33] {
                for k in [1, 4, 9] { try Case(m: m, n: n, k: k, integers: true).check(kernel: .portable) }
            }
        }
        for (m, n, k) in [(37, 53, 300), (97, 101, 103)] {
            try Case(m: m, n: n, k: k, transA: true, padB: 3, alpha: 0.5, beta: 2).check(kernel: .portable)
        }
    }

    func testZeroDepthGivesBetaTimesCPlusBias() throws {
        let result = try Case(m: 7, n: 18, k: 0, beta: 0.5).run(bias: (0..<18).map(Float.init))
        for i in 0..<7 {
            for j in 0..<18 { XCTAssertEqual(result.out[i * 18 + j], 0.5 * result.c[i * 18 + j] + Float(j)) }
        }
    }

    func testBetaZeroDoesNotReadC() throws {
        var c = [Float](repeating: .nan, count: 7 * 17)
        let a = [Float](repeating: 1, count: 7 * 3)
        let b = [Float](repeating: 2, count: 3 * 17)
        try a.withUnsafeBufferPointer { ap in
            try b.withUnsafeBufferPointer { bp in
                try c.withUnsafeMutableBufferPointer { cp in
                    guard let base = cp.baseAddress else { return }
                    try Gemm.multiply(
                        m: 7, n: 17, k: 3, a: .matrix(.rowMajor(ap.baseAddress, columns: 3)),
                        b: .matrix(.rowMajor(bp.baseAddress, columns: 17)), c: base, ldc: 17, threads: 1)
                }
            }
        }
        XCTAssertEqual(c, [Float](repeating: 6, count: 7 * 17))
    }

    func testEpilogueBiasAndActivations() throws {
        for (m, n, k) in [(7, 19, 5), (13, 33, 300), (6, 16, 8)] {
            for perRow in [false, true] {
                for activation in [Gemm.Activation.none, .relu, .clip(min: -0.5, max: 0.75)] {
                    let bias = (0..<(perRow ? m : n)).map { Float($0 % 5) * 0.25 - 0.5 }
                    let plain = try Case(m: m, n: n, k: k, alpha: 0.5, beta: 1).run()
                    let fused = try Case(m: m, n: n, k: k, alpha: 0.5, beta: 1)
                        .run(bias: bias, biasPerRow: perRow, activation: activation)
                    for i in 0..<m {
                        for j in 0..<n {
                            var expected = plain.out[i * n + j] + bias[perRow ? i : j]
                            switch activation {
                            case .none: break
                            case .relu: expected = max(expected, 0)
                            case .clip(let low, let high): expected = min(max(expected, low), high)
                            }
                            XCTAssertEqual(fused.out[i * n + j], expected, accuracy: 1e-6, "\(m)×\(n)×\(k) \(activation) row \(perRow)")
                        }
                    }
                }
            }
        }
    }

    func testActivationKeepsNaN() throws {
        var c = [Float](repeating: 0, count: 16)
        let a: [Float] = [.nan]
        let b = [Float](repeating: 1, count: 16)
        for activation in [Gemm.Activation.relu, .clip(min: 0, max: 6)] {
            for kernel in [Gemm.KernelChoice.automatic, .portable] {
                try a.withUnsafeBufferPointer { ap in
                    try b.withUnsafeBufferPointer { bp in
                        try c.withUnsafeMutableBufferPointer { cp in
                            guard let base = cp.baseAddress else { return }
                            try Gemm.multiply(
                                m: 1, n: 16, k: 1, a: .matrix(.rowMajor(ap.baseAddress, columns: 1)),
                                b: .matrix(.rowMajor(bp.baseAddress, columns: 16)), c: base, ldc: 16,
                                activation: activation, threads: 1, kernel: kernel)
                        }
                    }
                }
                XCTAssertTrue(c.allSatisfy(\.isNaN), "\(activation) \(kernel)")
            }
        }
    }

    func testPrepackedOperandsGiveTheSameBits() throws {
        for (m, n, k) in [(7, 19, 5), (97, 101, 300), (300, 20, 530)] {
            for transA in [false, true] {
                let shape = Case(m: m, n: n, k: k, transA: transA, transB: !transA, padA: 1, alpha: 1.5, beta: 0.5)
                let plain = try shape.run().out.map(\.bitPattern)
                XCTAssertEqual(try shape.run(packA: true).out.map(\.bitPattern), plain)
                XCTAssertEqual(try shape.run(packB: true).out.map(\.bitPattern), plain)
                XCTAssertEqual(try shape.run(packA: true, packB: true).out.map(\.bitPattern), plain)
            }
        }
    }

    func testPackingByPartsMatchesWholePacking() throws {
        for (k, n, transposed) in [(1, 1, false), (7, 33, false), (300, 50, true), (600, 17, false), (257, 100, true)] {
            var values = Values(state: UInt64(k * n))
            let b = values.floats(k * n)
            try b.withUnsafeBufferPointer { bp in
                let matrix = transposed ? Gemm.Matrix.rowMajor(bp.baseAddress, columns: k).transposed
                    : Gemm.Matrix.rowMajor(bp.baseAddress, columns: n)
                let whole = try PackedMatrix(.b, rows: k, columns: n, from: matrix)
                let count = onyx_sgemm_packed_b_count(k, n)
                var parts = [Float](repeating: .nan, count: count)
                parts.withUnsafeMutableBufferPointer { buffer in
                    guard let base = buffer.baseAddress else { return }
                    Gemm.packB(matrix, k: k, n: n, into: base, threads: 3)
                }
                XCTAssertEqual(parts.map(\.bitPattern), (0..<count).map { whole.storage[$0].bitPattern }, "\(k)×\(n)")
                // Row by row, as the convolution's unfolding packs.
                var rows = [Float](repeating: .nan, count: count)
                rows.withUnsafeMutableBufferPointer { buffer in
                    guard let base = buffer.baseAddress, let origin = matrix.base else { return }
                    for p in 0..<k {
                        XCTAssertEqual(onyx_sgemm_pack_b_part(
                            k, n, origin + p * matrix.rowStride, matrix.rowStride, matrix.columnStride, p, p + 1, 0, n, base), 0)
                    }
                }
                XCTAssertEqual(rows.map(\.bitPattern), parts.map(\.bitPattern), "\(k)×\(n) by rows")
            }
        }
        let source = [Float](repeating: 1, count: 160)
        var target = [Float](repeating: 0, count: onyx_sgemm_packed_b_count(4, 40))
        XCTAssertEqual(onyx_sgemm_pack_b_part(4, 40, source, 40, 1, 0, 4, 8, 40, &target), -1, "j0 off a panel boundary")
        XCTAssertEqual(onyx_sgemm_pack_b_part(4, 40, source, 40, 1, 0, 4, 0, 20, &target), -1, "j1 inside a panel")
        XCTAssertTrue(target.allSatisfy { $0 == 0 })
    }

    func testOneAndTwoThreadsBitwiseEqual() throws {
        XCTAssertEqual(Gemm.threadCount(requested: 1, work: 1 << 30), 1)
        XCTAssertEqual(Gemm.threadCount(requested: 8, work: 100), 1)
        if Gemm.activeCores >= 2 { XCTAssertEqual(Gemm.threadCount(requested: 2, work: 1 << 30), 2) }
        let shapes = [(131, 259, 77), (7, 1000, 300), (1000, 7, 300), (128, 128, 128), (290, 290, 290), (61, 4099, 9)]
        for (m, n, k) in shapes {
            for packA in [false, true] {
                let shape = Case(m: m, n: n, k: k, transB: packA, alpha: 0.75, beta: 0.5)
                let bias = (0..<n).map { Float($0 % 7) }
                let one = try shape.run(threads: 1, packA: packA, bias: bias, activation: .relu).out
                let two = try shape.run(threads: 2, packA: packA, bias: bias, activation: .relu).out
                XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "\(m)×\(n)×\(k) packA \(packA)")
            }
        }
    }

    // MARK: - Operators

    func testMatMulFastPathMatchesReference() throws {
        let shapes: [([Int], [Int])] = [
            ([5], [5]), ([5], [5, 3]), ([4, 5], [5]), ([2, 3, 7, 33], [33, 19]), ([7, 33], [2, 3, 33, 19]),
            ([2, 1, 5, 6], [3, 6, 17]), ([1, 65, 130], [130, 70]), ([3, 0, 4], [4, 5]), ([2, 3, 0], [0, 4]),
        ]
        var values = Values(state: 7)
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
                Self.assertClose(fast[index], Double(reference[index]), scale: Double(magnitude[index]), "\(aShape)·\(bShape) [\(index)]")
            }
        }
    }

    func testMatMulAndGemmOperatorsWithConstantWeights() throws {
        var values = Values(state: 11)
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
        var values = Values(state: 3)
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
                    Self.assertClose(fast[index], Double(reference[index]), scale: Double(scale[index]), "\(conv) [\(index)]")
                }
                if let bits { XCTAssertEqual(fast.map(\.bitPattern), bits, "\(conv) threads \(threads)") }
                bits = fast.map(\.bitPattern)
            }
        }
    }

    func testConvOperatorUsesFastPathWithFusedRelu() throws {
        var values = Values(state: 5)
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
