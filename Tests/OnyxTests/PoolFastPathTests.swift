import XCTest
@testable import Onyx

/// The float32 pooling fast paths (`PoolOps+Float.swift`) against the
/// reference pooling loop over many geometries, NaN handling, and thread counts.
final class PoolFastPathTests: XCTestCase {
    func testMaxAndAveragePoolMatchReference() throws {
        var values = DepthwiseConvTests.Values(state: 11)
        var cases = 0
        for (height, width) in [(1, 1), (6, 7), (15, 16), (2, 1), (7, 14)] {
            for kernel in [(1, 1), (2, 2), (3, 3), (3, 2), (5, 5)] {
                for stride in [1, 2, 3] {
                    // [1, 1, 1, 1] with 3×3, [2, 2, 2, 2] with 5×5 and [2, 2, 2, 2] with dilation 2 at stride 1
                    // keep the width: the flat rows-then-columns path.
                    for (dilation, pads, ceil) in [
                        (1, [0, 0, 0, 0], false), (1, [1, 1, 1, 1], false), (2, [1, 0, 2, 1], true), (1, [0, 1, 1, 0], true),
                        (1, [2, 2, 2, 2], true), (2, [2, 2, 2, 2], false), (1, [1, 2, 1, 0], false),
                    ] {
                        guard pads.allSatisfy({ $0 < min(kernel.0, kernel.1) || $0 == 0 }) else { continue }
                        let attributes = ConvGeometry.Attributes(
                            kernel: [kernel.0, kernel.1], strides: [stride, stride], dilations: [dilation, dilation], pads: pads,
                            autoPad: "NOTSET", ceilMode: ceil)
                        let x = try Tensor(shape: [2, 3, height, width], scalars: values.floats(6 * height * width))
                        for kind in [PoolOps.PoolKind.max, .average(includePad: false), .average(includePad: true)] {
                            guard let reference = try? PoolOps.pool(x, attributes, kind: kind)[0]?.asTensor() else { continue }
                            for threads in [1, 2] {
                                let fast = try XCTUnwrap(try PoolOps.fastPool(x, attributes, kind: kind, threads: threads))
                                XCTAssertEqual(fast.shape, reference.shape)
                                let got = try fast.scalars(as: Float.self)
                                let want = try reference.scalars(as: Float.self)
                                for index in want.indices {
                                    XCTAssertEqual(got[index], want[index], accuracy: 1e-6,
                                                   "\(kind) \(height)×\(width) k\(kernel) s\(stride) d\(dilation) \(pads) [\(index)]")
                                }
                            }
                            cases += 1
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 100)
    }

    func testNaNInAMaxWindowGivesNaNOnBothPaths() throws {
        let x = try Tensor(shape: [1, 1, 2, 3], scalars: [Float(1), .nan, 3, 4, 5, 6])
        let attributes = ConvGeometry.Attributes(
            kernel: [2, 2], strides: nil, dilations: nil, pads: nil, autoPad: "NOTSET", ceilMode: false)
        let fast = try XCTUnwrap(try PoolOps.fastPool(x, attributes, kind: .max, threads: 1)).scalars(as: Float.self)
        let reference = try XCTUnwrap(PoolOps.pool(x, attributes, kind: .max)[0]).asTensor().scalars(as: Float.self)
        XCTAssertTrue(fast[0].isNaN && fast[1].isNaN)
        XCTAssertTrue(reference[0].isNaN && reference[1].isNaN)
        // The stride-2 path (rows first, then even and odd columns), NaN in an odd column.
        let wide = try Tensor(shape: [1, 1, 3, 7], scalars: (0..<21).map { $0 == 10 ? Float.nan : Float($0) })
        let strided = ConvGeometry.Attributes(
            kernel: [3, 3], strides: [2, 2], dilations: nil, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        let pooled = try XCTUnwrap(try PoolOps.fastPool(wide, strided, kind: .max, threads: 1)).scalars(as: Float.self)
        // Output 2×4; column 3 (odd) of row 1 reaches outputs (0|1, 1) and (0|1, 2).
        XCTAssertEqual(pooled.map(\.isNaN), [false, true, true, false, false, true, true, false])
        XCTAssertEqual([pooled[0], pooled[3], pooled[4], pooled[7]], [8, 13, 15, 20])
        // The stride-1 path (rows, then columns, flat over the plane): NaN in an edge column
        // must not leak into the neighbouring row's other edge.
        let plane = try Tensor(shape: [1, 1, 3, 4], scalars: (0..<12).map { $0 == 4 ? Float.nan : Float($0) })
        let same = ConvGeometry.Attributes(
            kernel: [3, 3], strides: [1, 1], dilations: nil, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        let unit = try XCTUnwrap(try PoolOps.fastPool(plane, same, kind: .max, threads: 1)).scalars(as: Float.self)
        // Input (1, 0) is NaN: outputs in rows 0-2, columns 0-1 see it; column 3 of row 0 (input 3, 7) does not.
        XCTAssertEqual(unit.map(\.isNaN), [true, true, false, false, true, true, false, false, true, true, false, false])
        XCTAssertEqual([unit[2], unit[3], unit[6], unit[7], unit[10], unit[11]], [7, 7, 11, 11, 11, 11])
        // The flat stride-2 path (half the width): NaN in the last column of row 0 must not leak
        // into row 1's first output through the flat even/odd runs.
        let half = try Tensor(shape: [1, 1, 4, 4], scalars: (0..<16).map { $0 == 3 ? Float.nan : Float($0) })
        let strided2 = ConvGeometry.Attributes(
            kernel: [3, 3], strides: [2, 2], dilations: nil, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        let halved = try XCTUnwrap(try PoolOps.fastPool(half, strided2, kind: .max, threads: 1)).scalars(as: Float.self)
        // Output 2×2: (0, 1) covers input (0..1, 1..3) with the NaN; (1, 0) covers rows 1..3, columns 0..1.
        XCTAssertEqual(halved.map(\.isNaN), [false, true, false, false])
        XCTAssertEqual([halved[0], halved[2], halved[3]], [5, 13, 15])
    }

    func testWideStrideOneWindowsMatchReference() throws {
        // More than 16 taps reach the edge columns of a 1×19 window padded by 9: the tap-by-tap edge path.
        var values = DepthwiseConvTests.Values(state: 3)
        for (width, kernel, pads) in [(20, 19, [0, 9, 0, 9]), (30, 21, [1, 10, 1, 10]), (5, 3, [1, 1, 1, 1])] {
            let attributes = ConvGeometry.Attributes(
                kernel: [kernel == 3 ? 3 : 1, kernel], strides: [1, 1], dilations: nil, pads: pads, autoPad: "NOTSET",
                ceilMode: false)
            let x = try Tensor(shape: [1, 2, 3, width], scalars: values.floats(6 * width))
            let reference = try XCTUnwrap(PoolOps.pool(x, attributes, kind: .max)[0]).asTensor().scalars(as: Float.self)
            let fast = try XCTUnwrap(try PoolOps.fastPool(x, attributes, kind: .max, threads: 1)).scalars(as: Float.self)
            XCTAssertEqual(fast, reference, "width \(width) kernel \(kernel)")
        }
    }

    func testGlobalPoolsMatchReference() throws {
        var values = DepthwiseConvTests.Values(state: 5)
        for spatial in [[1], [7], [7, 7], [3, 1000], [2, 3, 4]] {
            let shape = [2, 5] + spatial
            let x = try Tensor(shape: shape, scalars: values.floats(shape.reduce(1, *)))
            for isMax in [false, true] {
                let fast = try XCTUnwrap(try PoolOps.fastGlobal(x, max: isMax, threads: 2))
                let reference = try XCTUnwrap(PoolOps.global(x, kind: isMax ? .max : .average(includePad: false))[0]).asTensor()
                XCTAssertEqual(fast.shape, reference.shape)
                let got = try fast.scalars(as: Float.self)
                for (index, want) in try reference.scalars(as: Float.self).enumerated() {
                    XCTAssertEqual(got[index], want, accuracy: 1e-6, "\(spatial) max \(isMax)")
                }
            }
        }
    }
}
