import CKernels
import Synchronization
import XCTest
@testable import Onyx

/// The packed float32 GEMM (CKernels + Gemm.swift) against a Double
/// reference: many shapes (edge tiles, primes, several k blocks), transposes,
/// strides, alpha/beta, epilogues, pre-packed operands, both microkernels,
/// and 1 vs 2 threads bitwise. The operators on it: GemmOperatorTests.
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
        let shapes = [(1, 1, 1), (7, 17, 5), (6, 16, 700), (23, 41, 37), (130, 70, 270)]
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
        for (m, n, k) in [(37, 53, 700), (97, 101, 103)] {
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
        for (m, n, k) in [(7, 19, 5), (13, 33, 700), (6, 16, 8)] {
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
                            case .silu: XCTFail("SiLU is checked bit for bit in testSiLUEpilogueGivesTheUnfusedBits")
                            }
                            XCTAssertEqual(fused.out[i * n + j], expected, accuracy: 1e-6, "\(m)×\(n)×\(k) \(activation) row \(perRow)")
                        }
                    }
                }
            }
        }
    }

    /// The SiLU epilogue gives exactly the bits of the elementwise SiLU run
    /// after the plain product, in every kernel: 12x32 and masked 12x16 /
    /// 6x32 blocks, the narrow one (n ≤ 4) and the 6x16 tiles, with packed
    /// and in-place B, and over k blocks; the portable fallback within 1e-6.
    func testSiLUEpilogueGivesTheUnfusedBits() throws {
        let silu = try FusedActivation(.silu)
        for (m, n, k) in [(7, 19, 5), (13, 33, 700), (24, 64, 40), (30, 3, 17), (1, 1000, 70), (5, 1, 9)] {
            for kernel in [Gemm.KernelChoice.automatic, .noWide, .portable] {
                for packB in [false, true] {
                    let bias = (0..<m).map { Float($0 % 5) * 0.25 - 0.5 }
                    let problem = Case(m: m, n: n, k: k, alpha: 0.5, beta: 1)
                    let plain = try problem.run(kernel: kernel, packB: packB, bias: bias, biasPerRow: true)
                    let fused = try problem.run(kernel: kernel, packB: packB, bias: bias, biasPerRow: true, activation: .silu)
                    var expected = plain.out
                    expected.withUnsafeMutableBufferPointer { buffer in
                        silu.apply(buffer)
                    }
                    if kernel == .portable {
                        // Built without FMA here, unlike the elementwise loop this CPU runs
                        // (on a CPU without AVX2 both take the baseline code and agree).
                        for (index, value) in fused.out.enumerated() {
                            XCTAssertEqual(value, expected[index], accuracy: 1e-6 * max(1, abs(expected[index])))
                        }
                    } else {
                        XCTAssertEqual(fused.out.map(\.bitPattern), expected.map(\.bitPattern), "\(m)×\(n)×\(k) \(kernel) packB \(packB)")
                    }
                    XCTAssertTrue(fused.out.contains { $0 < 0 } && fused.out.contains { $0 > 0 })
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

    /// The AVX-512 12x32 blocks (where the CPU has them) give the very bits
    /// of the 6x16 kernel, epilogues included, whatever the edges and the
    /// order the blocks go in (shallow blocks go row band first, k blocks
    /// up to 128 deep in column chunks: 40×1100×128 and 26×2300×60 take two).
    func testWideBlocksMatchNarrowTilesBitwise() throws {
        let shapes = [(12, 32, 5), (24, 64, 700), (40, 1100, 128), (26, 2300, 60), (13, 33, 17), (144, 96, 257), (150, 47, 520), (35, 70, 1), (11, 31, 40), (40, 100, 16), (4, 200, 37), (3, 64, 300), (1, 130, 9)]
        for (m, n, k) in shapes {
            for (packA, transB) in [(false, false), (true, true)] {
                let shape = Case(m: m, n: n, k: k, transB: transB, padC: 3, alpha: 0.75, beta: 0.5)
                let bias = (0..<n).map { Float($0 % 5) - 2 }
                for activation in [Gemm.Activation.none, .relu] {
                    let wide = try shape.run(packA: packA, bias: bias, activation: activation).out
                    let narrow = try shape.run(kernel: .noWide, packA: packA, bias: bias, activation: activation).out
                    XCTAssertEqual(wide.map(\.bitPattern), narrow.map(\.bitPattern), "\(m)×\(n)×\(k) \(activation)")
                }
                let rowBias = (0..<m).map { Float($0 % 7) - 3 }
                XCTAssertEqual(
                    try shape.run(bias: rowBias, biasPerRow: true).out.map(\.bitPattern),
                    try shape.run(kernel: .noWide, bias: rowBias, biasPerRow: true).out.map(\.bitPattern), "row bias")
            }
            try Case(m: m, n: n, k: k, alpha: 1.5).check()
        }
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
    /// Column counts that leave 1-4 columns after the last full panel take
    /// the narrow AVX2 kernel (all of them at once, in row groups of 8, 4 or
    /// 2 panels by the column count), and other leftovers the
    /// masked 12x16 AVX-512 kernel. Each column must come out bitwise as
    /// column j of a 32-column product done by 6x16 tiles alone, over row
    /// counts around the panel and group sizes, several k blocks, alpha/beta,
    /// biases and activations.
    func testLeftoverColumnKernelsMatchTheTilesBitwise() throws {
        var values = Values(state: 99)
        for m in [1, 5, 7, 12, 23, 25, 49, 61, 150] {
            for k in [1, 17, 600] {
                let a = values.floats(m * k), b = values.floats(k * 32), c = values.floats(m * 32)
                let rowBias = values.floats(m), columnBias = values.floats(32)
                for (packA, biasPerRow, activation) in [
                    (false, false, Gemm.Activation.none), (true, true, .relu), (true, false, .clip(min: -0.3, max: 0.4)),
                ] {
                    func product(columns: Int, kernel: Gemm.KernelChoice) throws -> [Float] {
                        var out = c
                        try a.withUnsafeBufferPointer { ap in
                            try b.withUnsafeBufferPointer { bp in
                                try out.withUnsafeMutableBufferPointer { cp in
                                    try (biasPerRow ? rowBias : columnBias).withUnsafeBufferPointer { bias in
                                        let aMatrix = Gemm.Matrix.rowMajor(ap.baseAddress, columns: k)
                                        let aOperand: Gemm.Operand = packA
                                            ? .packed(try PackedMatrix(.a, rows: m, columns: k, from: aMatrix)) : .matrix(aMatrix)
                                        guard let cBase = cp.baseAddress, let biasBase = bias.baseAddress else { return }
                                        try Gemm.multiply(
                                            m: m, n: columns, k: k, alpha: 0.75, a: aOperand,
                                            b: .matrix(.rowMajor(bp.baseAddress, columns: 32)), beta: 0.5, c: cBase, ldc: 32,
                                            bias: biasPerRow ? .row(biasBase) : .column(biasBase), activation: activation,
                                            threads: 1, kernel: kernel)
                                    }
                                }
                            }
                        }
                        return out
                    }
                    let tiles = try product(columns: 32, kernel: .noWide)
                    for columns in [1, 2, 3, 4, 5, 16, 17, 18, 19, 20, 21, 31] {
                        for kernel in [Gemm.KernelChoice.automatic, .noWide] {
                            let out = try product(columns: columns, kernel: kernel)
                            for i in 0..<m {
                                for j in 0..<32 {
                                    let want = j < columns ? tiles[32 * i + j] : c[32 * i + j]
                                    XCTAssertEqual(
                                        out[32 * i + j].bitPattern, want.bitPattern,
                                        "\(m)×\(columns)×\(k) \(kernel) (\(i), \(j)) \(activation)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Two threads split a product where each reads the least: rows when the
    /// weights (A) dominate the traffic, columns when B does.
    func testTwoThreadSplitFollowsTheTraffic() {
        // ResNet-50 layer4 1×1 conv at 7×7: 4 MB of weights, 49 columns.
        XCTAssertEqual(Gemm.split(m: 512, n: 49, k: 2048, threads: 2, bPacked: true),
                       Gemm.Split(rowParts: 2, columnParts: 1))
        XCTAssertEqual(Gemm.split(m: 2048, n: 49, k: 1024, threads: 2, bPacked: true),
                       Gemm.Split(rowParts: 2, columnParts: 1))
        // ResNet-50 layer1 3×3 conv: 147 KB of weights, 3136 columns of a 7 MB B.
        XCTAssertEqual(Gemm.split(m: 64, n: 3136, k: 576, threads: 2, bPacked: true),
                       Gemm.Split(rowParts: 1, columnParts: 2))
        XCTAssertEqual(Gemm.split(m: 8, n: 8, k: 8, threads: 1, bPacked: true),
                       Gemm.Split(rowParts: 1, columnParts: 1))
    }

    /// forEachClaimed calls every index once, in parallel or not, and throws
    /// the first failure by index after all have run.
    func testForEachClaimedRunsEveryIndexAndThrowsTheFirstFailure() {
        struct Failure: Error, Equatable { let index: Int }
        for parallel in [false, true] {
            let calls = Mutex([Int](repeating: 0, count: 40))
            XCTAssertThrowsError(try Gemm.forEachClaimed(40, parallel: parallel) { index in
                calls.withLock { $0[index] += 1 }
                if index == 31 || index == 7 { throw Failure(index: index) }
            }) { error in
                XCTAssertEqual(error as? Failure, Failure(index: 7))
            }
            XCTAssertEqual(calls.withLock { $0 }, [Int](repeating: 1, count: 40))
        }
        XCTAssertNoThrow(try Gemm.forEachClaimed(0, parallel: true) { _ in XCTFail("no index") })
    }
}
