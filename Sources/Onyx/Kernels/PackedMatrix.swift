import Foundation
import CKernels

/// An operand packed once (at plan time, for constant weights) in the layout
/// the kernels read: A as m × k in 6-row panels, or B as k × n in 16-column panels.
final class PackedMatrix: @unchecked Sendable {
    enum Side { case a, b }
    let side: Side
    let rows: Int
    let columns: Int
    let storage: UnsafeMutablePointer<Float>
    private let count: Int

    /// Packs `matrix` (rows × columns) as the A (`.a`) or B (`.b`) operand.
    init(_ side: Side, rows: Int, columns: Int, from matrix: Gemm.Matrix) throws {
        self.side = side
        self.rows = rows
        self.columns = columns
        count = side == .a ? onyx_sgemm_packed_a_count(rows, columns) : onyx_sgemm_packed_b_count(rows, columns)
        _ = try TensorAllocation.checkedBytes(.float, count: count)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        storage = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        if side == .a {
            onyx_sgemm_pack_a(rows, columns, matrix.base, matrix.rowStride, matrix.columnStride, storage)
        } else {
            onyx_sgemm_pack_b(rows, columns, matrix.base, matrix.rowStride, matrix.columnStride, storage)
        }
    }

    deinit { storage.deallocate() }
}

/// Constant weights packed at plan time, kept with the buffer they were packed
/// from: a run uses them only when it is handed that same tensor (a feed may
/// override an initializer that is also a graph input).
struct PackedConstant: Sendable {
    let source: TensorBuffer
    let shape: [Int]
    /// One packed matrix per group (Conv) or a single one (MatMul, Gemm).
    let matrices: [PackedMatrix]
    /// A 3×3 Conv's Winograd F(2×2, 3×3) weights: 16 packed A matrices
    /// (filters × channels), or empty.
    let winograd: [PackedMatrix]

    /// For Winograd weights: the plain packed matrices, made the first time
    /// a run's geometry does not pay for Winograd (plan time does not know
    /// the input's size) and kept for later runs.
    let direct: LazyPackedGroups?

    init?(_ tensor: Tensor, matrices: [PackedMatrix], winograd: [PackedMatrix] = []) {
        guard let buffer = tensor.buffer else { return nil }
        source = buffer
        shape = tensor.shape
        self.matrices = matrices
        self.winograd = winograd
        direct = winograd.isEmpty ? nil : LazyPackedGroups()
    }

    func matches(_ tensor: Tensor) -> Bool { tensor.buffer === source && tensor.shape == shape }
}

/// Packed matrices built once, on first use, by whichever thread asks first.
final class LazyPackedGroups: @unchecked Sendable {
    private let lock = NSLock()
    private var groups: [PackedMatrix]?

    /// The matrices `make` builds, built on the first call only.
    func get(_ make: () throws -> [PackedMatrix]) rethrows -> [PackedMatrix] {
        lock.lock()
        defer { lock.unlock() }
        if let groups { return groups }
        let made = try make()
        groups = made
        return made
    }
}
