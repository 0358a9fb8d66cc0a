import OnyxTesting
import XCTest
@testable import Onyx

/// The float32 normalization kernels (`NormalizationKernels`) against the
/// Double reference loops, over many shapes, and their independence of the
/// thread count.
final class NormKernelTests: XCTestCase {
    /// Largest `|a − e| / max(|e|, 0.1 · max|e|)` (as ``OptimizerAssertions/compare(_:_:)``).
    private func relativeError(_ actual: Tensor, _ expected: Tensor) throws -> Double {
        try OptimizerAssertions.compare(["y": try actual.cast(to: .double)], ["y": expected])
    }

    private func random(_ shape: [Int], seed: UInt64, offset: Double = 0, spread: Double = 1) throws -> [Double] {
        var generator = SeededGenerator(seed: seed)
        return (0..<(try Tensor.checkedCount(shape))).map { _ in offset + spread * Double.random(in: -1...1, using: &generator) }
    }

    func testLayerNormMatchesReference() throws {
        let shapes: [([Int], Int)] = [
            ([1, 1], -1), ([3, 1], -1), ([1, 7], -1), ([5, 13], -1), ([4, 768], -1), ([2, 3, 17], -2), ([2, 3, 33], 1),
            ([300, 1000], -1), ([2, 5, 9, 8], 0),
        ]
        for (index, (shape, axis)) in shapes.enumerated() {
            for (offset, spread) in [(0.0, 1.0), (1000.0, 1.0), (0.0, 1e-3)] {
                let values = try random(shape, seed: UInt64(index), offset: offset, spread: spread)
                let columns = try Tensor.checkedCount(Array(shape[(axis < 0 ? shape.count + axis : axis)...]))
                let scale = try random([columns], seed: 99)
                let bias = try random([columns], seed: 98)
                let fast = try LayerNormOps.layerNormalization(
                    try Tensor.fromDoubles(values, shape: shape, as: .float),
                    scale: try Tensor.fromDoubles(scale, shape: [columns], as: .float),
                    bias: try Tensor.fromDoubles(bias, shape: [columns], as: .float), axis: axis, epsilon: 1e-5, stash: .float)
                // Reference: the same float32 inputs, widened to Double.
                let reference = try LayerNormOps.layerNormalization(
                    try Tensor.fromDoubles(values, shape: shape, as: .float).cast(to: .double),
                    scale: try Tensor.fromDoubles(scale, shape: [columns], as: .float).cast(to: .double),
                    bias: try Tensor.fromDoubles(bias, shape: [columns], as: .float).cast(to: .double), axis: axis, epsilon: 1e-5,
                    stash: .double)
                XCTAssertLessThan(try relativeError(fast.y, reference.y), 1e-5, "\(shape) axis \(axis) offset \(offset) spread \(spread)")
                XCTAssertLessThan(try relativeError(fast.mean, reference.mean), 1e-5, "\(shape) mean")
                XCTAssertLessThan(try relativeError(fast.invStdDev, reference.invStdDev), 1e-5, "\(shape) inverse")
            }
        }
    }

    func testGroupAndInstanceNormMatchReference() throws {
        let cases: [([Int], Int)] = [([1, 1, 1], 1), ([2, 4, 3, 3], 2), ([1, 6, 7], 3), ([3, 5, 1, 1], 5), ([2, 32, 40, 40], 8),
                                     ([1, 3, 1001], 3), ([2, 2], 1)]
        for (index, (shape, groups)) in cases.enumerated() {
            let values = try random(shape, seed: UInt64(index), offset: index % 2 == 0 ? 0 : 500)
            let scale = try random([shape[1]], seed: 7)
            let bias = try random([shape[1]], seed: 8)
            let x = try Tensor.fromDoubles(values, shape: shape, as: .float)
            let fast = try GroupNormOps.normalize(x, groups: groups, scale: scale, bias: bias, epsilon: 1e-5)
            let reference = try GroupNormOps.normalizeReference(x.cast(to: .double), groups: groups, scale: scale, bias: bias, epsilon: 1e-5)
            XCTAssertLessThan(try relativeError(fast, reference), 1e-5, "\(shape) groups \(groups)")
        }
    }

    func testSkipLayerNormMatchesAddThenLayerNorm() throws {
        for (index, shape) in [[1, 1], [3, 5], [2, 7, 768], [513, 64]].enumerated() {
            let a = try Tensor.fromDoubles(try random(shape, seed: UInt64(index)), shape: shape, as: .float)
            let b = try Tensor.fromDoubles(try random(shape, seed: UInt64(index + 50)), shape: shape, as: .float)
            let columns = shape[shape.count - 1]
            let scale = try Tensor.fromDoubles(try random([columns], seed: 3), shape: [columns], as: .float)
            let fused = try FusedNormOps.skipLayerNorm(a, b, scale: scale, bias: nil, axis: -1, epsilon: 1e-5, wantsSum: true, threads: nil)
            let sum = try Tensor.fromFloats(zip(try a.scalars(as: Float.self), try b.scalars(as: Float.self)).map { $0 + $1 },
                                            shape: shape, as: .float)
            XCTAssertEqual(fused.sum, sum, "\(shape) sum")
            let reference = try LayerNormOps.layerNormalization(
                sum.cast(to: .double), scale: scale.cast(to: .double), bias: nil, axis: -1, epsilon: 1e-5, stash: .double)
            XCTAssertLessThan(try relativeError(fused.y, reference.y), 1e-5, "\(shape)")
            // A row repeating along the leading axes (first or second operand), and a
            // column that broadcasts across the row (the general path).
            let row = try Tensor.fromDoubles(try random([columns], seed: 9), shape: [columns], as: .float)
            let rowValues = try row.scalars(as: Float.self)
            let rowSum = try Tensor.fromFloats(
                try a.scalars(as: Float.self).enumerated().map { $0.element + rowValues[$0.offset % columns] }, shape: shape, as: .float)
            let rowReference = try LayerNormOps.layerNormalization(
                rowSum.cast(to: .double), scale: scale.cast(to: .double), bias: nil, axis: -1, epsilon: 1e-5, stash: .double)
            for (x, y) in [(a, row), (row, a)] {
                let broadcast = try FusedNormOps.skipLayerNorm(x, y, scale: scale, bias: nil, axis: -1, epsilon: 1e-5, wantsSum: true, threads: nil)
                XCTAssertEqual(broadcast.sum, rowSum, "\(shape) row sum")
                XCTAssertLessThan(try relativeError(broadcast.y, rowReference.y), 1e-5, "\(shape) row")
            }
            var columnShape = shape
            columnShape[shape.count - 1] = 1
            let column = try Tensor.fromDoubles(try random(columnShape, seed: 11), shape: columnShape, as: .float)
            let general = try FusedNormOps.skipLayerNorm(a, column, scale: scale, bias: nil, axis: -1, epsilon: 1e-5, wantsSum: false, threads: nil)
            XCTAssertEqual(general.y.shape, shape)
            XCTAssertNil(general.sum)
        }
    }

    func testResultsDoNotDependOnThreadCount() throws {
        let shape = [512, 384]
        let x = try Tensor.fromDoubles(try random(shape, seed: 5, offset: 3), shape: shape, as: .float)
        let scale = try Tensor.fromDoubles(try random([384], seed: 6), shape: [384], as: .float)
        XCTAssertGreaterThan(NormalizationKernels.threadCount(rows: 512, elementsPerRow: 384, requested: 8), Gemm.activeCores > 1 ? 1 : 0)
        let one = try LayerNormOps.layerNormalization(x, scale: scale, bias: scale, axis: -1, epsilon: 1e-5, stash: .float, threads: 1)
        let many = try LayerNormOps.layerNormalization(x, scale: scale, bias: scale, axis: -1, epsilon: 1e-5, stash: .float, threads: 8)
        XCTAssertEqual(one.y, many.y)
        XCTAssertEqual(one.mean, many.mean)
        let image = try x.reshaped([4, 32, 48, 32])
        let channelScale = [Double](repeating: 1.5, count: 32)
        let g1 = try GroupNormOps.normalize(image, groups: 8, scale: channelScale, bias: channelScale, epsilon: 1e-5, threads: 1)
        let g8 = try GroupNormOps.normalize(image, groups: 8, scale: channelScale, bias: channelScale, epsilon: 1e-5, threads: 8)
        XCTAssertEqual(g1, g8)
    }
}

private extension Tensor {
    /// The same values as a double tensor (exact for float32).
    func cast(to type: ElementType) throws -> Tensor {
        try Tensor.fromDoubles(try doubleValues(), shape: shape, as: type)
    }
}
