import XCTest
@testable import Onyx

/// Transpose's table-free paths (the innermost axis kept: whole runs
/// copied; the innermost axis moved to second-innermost: 8×8 tiles for 4-byte
/// elements, the copy tables otherwise) and Gather's slice copies,
/// against the index arithmetic written out, over ranks 2–5, edges that are
/// not multiples of 8, and element widths 1, 4 and 8.
final class PermuteFastPathTests: XCTestCase {
    /// out[i] = input[Σ index_k · stride(perm[k])], written out.
    func naive<T>(_ input: [T], _ shape: [Int], _ perm: [Int]) -> [T] {
        let strides = Tensor.strides(shape)
        let outShape = perm.map { shape[$0] }
        let count = outShape.reduce(1, *)
        var out: [T] = []
        out.reserveCapacity(count)
        for flat in 0..<count {
            var rest = flat
            var source = 0
            for axis in (0..<outShape.count).reversed() {
                source += rest % outShape[axis] * strides[perm[axis]]
                rest /= outShape[axis]
            }
            out.append(input[source])
        }
        return out
    }

    func testPermutationsMatchIndexArithmetic() throws {
        let cases: [([Int], [Int])] = [
            ([9, 16], [1, 0]), ([17, 11], [1, 0]), ([3, 8, 13], [1, 0, 2]), ([2, 13, 3, 64], [0, 2, 1, 3]),
            ([1, 19, 12, 24], [0, 2, 3, 1]), ([2, 9, 3, 10], [2, 0, 3, 1]), ([2, 3, 4, 9, 8], [4, 2, 0, 3, 1]),
            ([4, 10, 9], [2, 0, 1]), ([5, 7, 3], [0, 2, 1]),
        ]
        for (shape, perm) in cases {
            let count = shape.reduce(1, *)
            let floats = (0..<count).map { Float($0) * 0.5 - 7 }
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let longs = (0..<count).map { Int64($0) &* 1_000_003 }
            let f = try IndexedCopy.permuted(Tensor(shape: shape, scalars: floats), viewShape: shape, perm: perm)
            XCTAssertEqual(f.shape, perm.map { shape[$0] })
            XCTAssertEqual(try f.scalars(as: Float.self), naive(floats, shape, perm), "float \(shape) \(perm)")
            let b = try IndexedCopy.permuted(Tensor(shape: shape, scalars: bytes), viewShape: shape, perm: perm)
            XCTAssertEqual(try b.scalars(as: UInt8.self), naive(bytes, shape, perm), "uint8 \(shape) \(perm)")
            let l = try IndexedCopy.permuted(Tensor(shape: shape, scalars: longs), viewShape: shape, perm: perm)
            XCTAssertEqual(try l.scalars(as: Int64.self), naive(longs, shape, perm), "int64 \(shape) \(perm)")
        }
        // NaN payloads and signed zeros move bit for bit through the tiles.
        let odd: [Float] = (0..<64).map { (i: Int) -> Float in
            switch i % 3 {
            case 0: return Float(bitPattern: 0x7FA0_0001 &+ UInt32(i))
            case 1: return -0.0
            default: return Float(i)
            }
        }
        let moved = try IndexedCopy.permuted(Tensor(shape: [8, 8], scalars: odd), viewShape: [8, 8], perm: [1, 0])
        XCTAssertEqual(try moved.scalars(as: Float.self).map(\.bitPattern), naive(odd, [8, 8], [1, 0]).map(\.bitPattern))
    }

    func testGatherSlicesMatchIndexArithmetic() throws {
        let shape = [3, 4, 10]
        let data = (0..<120).map { Float($0) }
        for axis in 0..<2 {
            let indices = try Tensor(shape: [2], scalars: [Int64(-1), 0])
            let out = try IndexingOps.gather(try Tensor(shape: shape, scalars: data), indices, axis: axis)
            let dim = shape[axis]
            var expected: [Float] = []
            let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            for o in 0..<outer {
                for index in [dim - 1, 0] {
                    expected += data[(o * dim + index) * inner..<(o * dim + index + 1) * inner]
                }
            }
            XCTAssertEqual(try out.scalars(as: Float.self), expected, "axis \(axis)")
        }
    }
}
