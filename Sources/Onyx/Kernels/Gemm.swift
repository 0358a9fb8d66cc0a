import CKernels
import Dispatch
import Foundation

/// Float32 matrix multiplication on the packed-panel kernels of `CKernels`:
/// `C = act(alpha · A · B + beta · C + bias)`, split over threads.
///
/// Threads take disjoint rectangles of C, cut on tile boundaries (6 rows,
/// 16 columns), and never split the reduction over k; each element of C is
/// computed by the same operations whatever the split, so the result is
/// bitwise identical for any thread count. Small products stay on the
/// calling thread.
enum Gemm {
    /// Rows and columns of one microkernel tile.
    static let tileRows = Int(ONYX_SGEMM_MR)
    static let tileColumns = Int(ONYX_SGEMM_NR)

    /// Least multiply-adds worth giving one thread (~5 µs of kernel time).
    /// Measured here: two threads break even near 48³ (110 K multiply-adds)
    /// and give 1.35× at 80³, 1.6× at 96³; this limit splits from about 80³
    /// on, leaving room for waking a sleeping worker.
    static let minimumWorkPerThread = 1 << 16

    /// A float32 operand in memory: element (r, c) at `base[r · rowStride + c · columnStride]`.
    struct Matrix {
        /// nil only for an empty matrix.
        var base: UnsafePointer<Float>?
        var rowStride: Int
        var columnStride: Int

        /// A row-major matrix with `columns` elements per row.
        static func rowMajor(_ base: UnsafePointer<Float>?, columns: Int) -> Matrix {
            Matrix(base: base, rowStride: columns, columnStride: 1)
        }

        /// The transpose of this view (no copy).
        var transposed: Matrix { Matrix(base: base, rowStride: columnStride, columnStride: rowStride) }
    }

    /// An operand either read from memory (and packed per call) or packed in advance.
    enum Operand {
        case matrix(Matrix)
        case packed(PackedMatrix)
        /// Packed by the caller for exactly this product's shape (`packB(part:)`).
        case packedBuffer(UnsafePointer<Float>)
    }

    enum Bias {
        case none
        /// One value per row of C.
        case row(UnsafePointer<Float>)
        /// One value per column of C.
        case column(UnsafePointer<Float>)
    }

    enum Activation: Sendable, Equatable {
        case none
        case relu
        case clip(min: Float, max: Float)
        /// x · sigmoid(x), the bits of the unfused SiLU (the same C approximation).
        case silu

        /// The C kernels' form: an `onyx_activation` and the clip bounds (0 when unused).
        var c: (kind: Int32, low: Float, high: Float) {
            switch self {
            case .none: return (Int32(ONYX_ACTIVATION_NONE.rawValue), 0, 0)
            case .relu: return (Int32(ONYX_ACTIVATION_RELU.rawValue), 0, 0)
            case .clip(let low, let high): return (Int32(ONYX_ACTIVATION_CLIP.rawValue), low, high)
            case .silu: return (Int32(ONYX_ACTIVATION_SILU.rawValue), 0, 0)
            }
        }
    }

    /// Which microkernel runs; `.portable` exists so tests can check the fallback.
    enum KernelChoice: Sendable {
        case automatic
        case portable
        /// The 6x16 kernels alone, without the AVX-512 12x32 blocks (bitwise the same results).
        case noWide
    }

    /// The default thread count: one per active core. Read once: Foundation
    /// reads the cgroup files again on every query.
    static let activeCores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// The product of non-negative `factors`, or Int.max when it overflows.
    static func saturatingProduct(_ factors: Int...) -> Int {
        var product = 1
        for factor in factors {
            let (next, overflow) = product.multipliedReportingOverflow(by: factor)
            if overflow { return Int.max }
            product = next
        }
        return product
    }

    /// Threads to use for `work` multiply-adds when `requested` are allowed.
    static func threadCount(requested: Int?, work: Int) -> Int {
        let allowed = min(max(requested ?? activeCores, 1), activeCores)
        return max(1, min(allowed, work / minimumWorkPerThread))
    }

    /// True when the kernels read a row-major m × n × k product's B where it
    /// lies instead of packing it (the AVX-512 kernels; see `onyx_sgemm_reads_b_in_place`).
    static func readsBInPlace(m: Int, n: Int, k: Int) -> Bool {
        guard m > 0, n > 0, k > 0 else { return false }
        var problem = onyx_sgemm_problem()
        (problem.m, problem.n, problem.k) = (m, n, k)
        problem.b_row_stride = n
        problem.b_col_stride = 1
        problem.kernel = Int32(ONYX_KERNEL_AUTO.rawValue)
        return onyx_sgemm_reads_b_in_place(&problem) != 0
    }

    /// C (m × n, row stride `ldc`) = act(alpha · A · B + beta · C + bias + R), with A m × k and B k × n.
    /// With beta = 0, C is not read. `residual` (R, C's row stride, not overlapping C) is added
    /// after the bias, so each element gets the same bits as adding R to the unfused product.
    static func multiply(
        m: Int, n: Int, k: Int, alpha: Float = 1, a: Operand, b: Operand, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, bias: Bias = .none, residual: UnsafePointer<Float>? = nil,
        activation: Activation = .none, threads requested: Int?, kernel: KernelChoice = .automatic
    ) throws {
        guard m > 0, n > 0 else { return }
        var problem = onyx_sgemm_problem()
        problem.residual = residual
        problem.m = m
        problem.n = n
        problem.k = k
        problem.alpha = alpha
        problem.beta = beta
        problem.c = c
        problem.ldc = ldc
        switch kernel {
        case .automatic: problem.kernel = Int32(ONYX_KERNEL_AUTO.rawValue)
        case .portable: problem.kernel = Int32(ONYX_KERNEL_PORTABLE.rawValue)
        case .noWide: problem.kernel = Int32(ONYX_KERNEL_NO_WIDE.rawValue)
        }
        switch a {
        case .matrix(let matrix):
            problem.a = matrix.base
            problem.a_row_stride = matrix.rowStride
            problem.a_col_stride = matrix.columnStride
        case .packed(let packed):
            guard packed.side == .a, packed.rows == m, packed.columns == k else {
                throw OnyxError.shapeMismatch("packed A is \(packed.rows)×\(packed.columns), the product needs \(m)×\(k)")
            }
            problem.packed_a = UnsafePointer(packed.storage)
        case .packedBuffer(let buffer):
            problem.packed_a = buffer
        }
        switch b {
        case .matrix(let matrix):
            problem.b = matrix.base
            problem.b_row_stride = matrix.rowStride
            problem.b_col_stride = matrix.columnStride
        case .packed(let packed):
            guard packed.side == .b, packed.rows == k, packed.columns == n else {
                throw OnyxError.shapeMismatch("packed B is \(packed.rows)×\(packed.columns), the product needs \(k)×\(n)")
            }
            problem.packed_b = UnsafePointer(packed.storage)
        case .packedBuffer(let buffer):
            problem.packed_b = buffer
        }
        switch bias {
        case .none: problem.bias_kind = Int32(ONYX_BIAS_NONE.rawValue)
        case .row(let values):
            problem.bias = values
            problem.bias_kind = Int32(ONYX_BIAS_ROW.rawValue)
        case .column(let values):
            problem.bias = values
            problem.bias_kind = Int32(ONYX_BIAS_COLUMN.rawValue)
        }
        (problem.activation, problem.clip_min, problem.clip_max) = activation.c
        let threads = threadCount(requested: requested, work: saturatingProduct(m, n, max(k, 1)))
        try run(problem, threads: threads, bPacked: problem.packed_b != nil)
    }

    /// One rectangle of C per thread, on tile boundaries.
    struct Split: Equatable {
        let rowParts: Int
        let columnParts: Int
    }

    /// The split of an m × n × k product over `threads` with the least
    /// per-thread cost: kernel work on its tiles plus its share of packing.
    /// When rows are split, B is packed once up front by all threads
    /// together; A is packed by each thread for its rows, so splitting
    /// columns repeats A's packing in every thread. A pre-packed A (constant
    /// weights) costs as much, streaming from memory once per thread for its
    /// rows: with few columns (a 7×7 ResNet-50 layer4 conv, 4 MB of weights,
    /// n = 49) splitting columns had both threads read all of it, and two
    /// threads ran barely faster than one. Likewise each thread reads its
    /// columns of a B the kernels read in place.
    static func split(m: Int, n: Int, k: Int, threads: Int, bPacked: Bool) -> Split {
        let rowTiles = (m + tileRows - 1) / tileRows
        let columnTiles = (n + tileColumns - 1) / tileColumns
        // A packed element costs about as much as 16 kernel multiply-adds
        // when packed block by block as the kernel goes (still in cache when
        // used); packed all at once up front it goes through L3 and back. A
        // pre-packed A element read from memory (~0.2 ns at a core's share of
        // DRAM bandwidth) costs about the same as packing one; a B read in
        // place (an activation, more often still in cache) half that.
        let packCost = 16
        let upFrontPackCost = 64
        let bStreamCost = 8
        var best = Split(rowParts: 1, columnParts: 1)
        var bestCost = Int.max
        for rowParts in 1...threads where threads % rowParts == 0 {
            let columnParts = threads / rowParts
            guard rowParts <= rowTiles, columnParts <= columnTiles else { continue }
            let rows = (rowTiles + rowParts - 1) / rowParts * tileRows
            let columns = (columnTiles + columnParts - 1) / columnParts * tileColumns
            var cost = rows &* columns &* k
            cost &+= packCost &* min(rows, m) &* k
            if bPacked {
                cost &+= bStreamCost &* min(columns, n) &* k
            } else {
                cost &+= rowParts > 1 ? upFrontPackCost &* (n / threads) &* k : packCost &* min(columns, n) &* k
            }
            if cost < bestCost || (cost == bestCost && columnParts > best.columnParts) {
                best = Split(rowParts: rowParts, columnParts: columnParts)
                bestCost = cost
            }
        }
        return best
    }

    private static func run(_ problem: onyx_sgemm_problem, threads: Int, bPacked: Bool) throws {
        var problem = problem
        if threads <= 1 {
            guard onyx_sgemm(&problem) == 0 else { throw packingFailure }
            return
        }
        let (m, n, k) = (Int(problem.m), Int(problem.n), Int(problem.k))
        // A B the kernels read in place costs no packing, whichever way the product is split.
        let bReady = bPacked || onyx_sgemm_reads_b_in_place(&problem) != 0
        let layout = split(m: m, n: n, k: k, threads: threads, bPacked: bReady)
        guard layout.rowParts > 1, !bReady, k > 0 else { return try runParts(problem, layout: layout) }
        let count = onyx_sgemm_packed_b_count(k, n)
        _ = try TensorAllocation.checkedBytes(.float, count: count)
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { packed.deallocate() }
        let source = Matrix(base: problem.b, rowStride: problem.b_row_stride, columnStride: problem.b_col_stride)
        packB(source, k: k, n: n, into: packed, threads: threads)
        problem.packed_b = UnsafePointer(packed)
        try runParts(problem, layout: layout)
    }

    /// Packs all of B (k × n) into `packed` (`onyx_sgemm_packed_b_count(k, n)`
    /// floats), each of `threads` threads taking a band of columns.
    static func packB(_ b: Matrix, k: Int, n: Int, into packed: UnsafeMutablePointer<Float>, threads: Int) {
        let columnTiles = (n + tileColumns - 1) / tileColumns
        let parts = max(1, min(threads, columnTiles))
        parallelFor(parts) { part in
            let j0 = columnTiles * part / parts * tileColumns
            let j1 = min(columnTiles * (part + 1) / parts * tileColumns, n)
            _ = onyx_sgemm_pack_b_part(k, n, b.base, b.rowStride, b.columnStride, 0, k, j0, j1, packed)
        }
    }

    private static func runParts(_ problem: onyx_sgemm_problem, layout: Split) throws {
        var problem = problem
        let (m, n) = (Int(problem.m), Int(problem.n))
        let rowTiles = (m + tileRows - 1) / tileRows
        let columnTiles = (n + tileColumns - 1) / tileColumns
        let parts = layout.rowParts * layout.columnParts
        var status = [Int32](repeating: 0, count: parts)
        withUnsafePointer(to: &problem) { shared in
            status.withUnsafeMutableBufferPointer { results in
                parallelFor(parts) { part in
                    let rowPart = part / layout.columnParts
                    let columnPart = part % layout.columnParts
                    let m0 = rowTiles * rowPart / layout.rowParts * tileRows
                    let m1 = rowTiles * (rowPart + 1) / layout.rowParts * tileRows
                    let n0 = columnTiles * columnPart / layout.columnParts * tileColumns
                    let n1 = columnTiles * (columnPart + 1) / layout.columnParts * tileColumns
                    results[part] = onyx_sgemm_range(shared, m0, min(m1, m), n0, min(n1, n))
                }
            }
        }
        guard status.allSatisfy({ $0 == 0 }) else { throw packingFailure }
    }

    /// Calls `body(index)` for every index below `iterations` on the
    /// ``WorkerPool`` threads and returns when all are done. The calls run
    /// concurrently, so each must touch only memory no other index touches.
    static func parallelFor(_ iterations: Int, _ body: (Int) -> Void) {
        WorkerPool.shared.run(iterations, body)
    }

    /// Calls `body(index)` for every index below `count`: claimed one at a
    /// time by the ``WorkerPool`` threads when `parallel`, else in order on
    /// the calling thread. Throws the first error by index once all are done.
    static func forEachClaimed(_ count: Int, parallel: Bool, _ body: (Int) throws -> Void) throws {
        guard count > 0 else { return }
        var failures = [Error?](repeating: nil, count: count)
        failures.withUnsafeMutableBufferPointer { buffer in
            let errors = buffer
            if parallel {
                parallelFor(count) { index in
                    do { try body(index) } catch { errors[index] = error }
                }
            } else {
                for index in 0..<count {
                    do { try body(index) } catch { errors[index] = error }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }

    private static var packingFailure: OnyxError { .resourceLimit("no memory for the GEMM packing buffers") }

    /// Runs `body(index, threadsForItem, &scratch)` for `count` independent
    /// items (batch matrices, conv groups): spread over threads when there
    /// are enough items to share out evenly (each worker making its own
    /// scratch with `makeScratch`), otherwise one after another with the
    /// threads handed to each item.
    static func forEachItem<Scratch>(
        count: Int, threads requested: Int?, workPerItem: Int,
        makeScratch: () throws -> Scratch, _ body: (Int, Int, inout Scratch) throws -> Void
    ) throws {
        guard count > 0 else { return }
        let threads = threadCount(requested: requested, work: saturatingProduct(workPerItem, count))
        let spread = threads > 1 && count >= threads && (count % threads == 0 || count >= 4 * threads)
        guard spread else {
            var scratch = try makeScratch()
            for index in 0..<count { try body(index, requested ?? activeCores, &scratch) }
            return
        }
        var failures = [Error?](repeating: nil, count: threads)
        failures.withUnsafeMutableBufferPointer { errors in
            parallelFor(threads) { worker in
                do {
                    var scratch = try makeScratch()
                    for index in stride(from: worker, to: count, by: threads) { try body(index, 1, &scratch) }
                } catch {
                    errors[worker] = error
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
    }
}
