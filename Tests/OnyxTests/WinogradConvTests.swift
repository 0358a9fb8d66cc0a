import CKernels
import XCTest
@testable import Onyx

/// The Winograd F(2×2, 3×3) Conv path (`ConvOps+Winograd.swift`) against the
/// reference unfold-and-multiply Conv: odd and even output sizes, pads
/// (asymmetric too), batch, bias, fused ReLU/Clip, thread counts (bitwise),
/// outputs too small to pay (direct path on plain weights packed on demand),
/// and the plan-time choice of which convolutions take it.
final class WinogradConvTests: XCTestCase {
    func testMatchesReferenceOverGeometries() throws {
        var values = DepthwiseConvTests.Values(state: 11)
        var checked = 0
        for (height, width) in [(14, 13), (15, 16), (18, 17), (23, 22), (30, 31), (12, 21)] {
            for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 3]] {
                for (channels, filters) in [(16, 16), (19, 33)] {
                    let attributes = ConvGeometry.Attributes(
                        kernel: nil, strides: nil, dilations: nil, pads: pads, autoPad: "NOTSET", ceilMode: false)
                    let batch = checked % 3 == 0 ? 2 : 1
                    let x = try Tensor(
                        shape: [batch, channels, height, width], scalars: values.floats(batch * channels * height * width))
                    let w = try Tensor(shape: [filters, channels, 3, 3], scalars: values.floats(filters * channels * 9))
                    let b = checked % 2 == 0 ? try Tensor(shape: [filters], scalars: values.floats(filters)) : nil
                    guard let (problem, outShape) = try? ConvOps.problem(x, w, b, attributes: attributes, group: 1),
                          problem.winogradPays
                    else { continue }
                    let packed = try XCTUnwrap(ConvProblem.packedWeights(w, group: 1, attributes: attributes))
                    XCTAssertEqual(packed.winograd.count, 16)
                    let reference = try problem.run(Float.self, x, w, b, outShape).scalars(as: Float.self)
                    // The scale of each output: the sum of |w| |x| over its window, bounded by the largest.
                    let scale = Float(channels * 9)
                    for activation in [Gemm.Activation.none, .relu, .clip(min: -0.5, max: 0.7)] {
                        let one = try problem.runFloat(x, w, b, outShape, packed: packed, activation: activation, threads: 1)
                        let two = try problem.runFloat(x, w, b, outShape, packed: packed, activation: activation, threads: 2)
                        let fast = try one.scalars(as: Float.self)
                        XCTAssertEqual(fast.map(\.bitPattern), try two.scalars(as: Float.self).map(\.bitPattern))
                        for (index, expected) in reference.enumerated() {
                            let want = activation.reference(expected)
                            XCTAssertEqual(fast[index], want, accuracy: 2e-6 * scale,
                                           "\(height)×\(width) \(pads) \(channels)→\(filters) [\(index)]")
                        }
                    }
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 30)
    }

    /// Bands of tile rows (each band's stages in L2) give the whole-image
    /// bits: any band height, uneven last bands, pads, batch, activations,
    /// one or two threads; and the automatic choice bands ResNet-50's layer1.
    func testTileRowBandsGiveTheWholeImageBits() throws {
        var values = DepthwiseConvTests.Values(state: 23)
        for (height, width, pads) in [(23, 22, [1, 1, 1, 1]), (30, 31, [2, 0, 1, 3]), (16, 16, [0, 0, 0, 0])] {
            let (channels, filters) = (19, 33)
            let attributes = ConvGeometry.Attributes(
                kernel: nil, strides: nil, dilations: nil, pads: pads, autoPad: "NOTSET", ceilMode: false)
            let x = try Tensor(shape: [2, channels, height, width], scalars: values.floats(2 * channels * height * width))
            let w = try Tensor(shape: [filters, channels, 3, 3], scalars: values.floats(filters * channels * 9))
            let b = try Tensor(shape: [filters], scalars: values.floats(filters))
            let (problem, outShape) = try ConvOps.problem(x, w, b, attributes: attributes, group: 1)
            let packed = try XCTUnwrap(ConvProblem.packedWeights(w, group: 1, attributes: attributes))
            for activation in [Gemm.Activation.none, .relu] {
                let whole = try problem.runWinograd(
                    x, b, outShape, weights: packed.winograd, activation: activation, threads: 1, bandTileRows: 0)
                    .scalars(as: Float.self).map(\.bitPattern)
                for (band, threads) in [(1, 1), (2, 2), (3, 1), (5, 2)] {
                    let banded = try problem.runWinograd(
                        x, b, outShape, weights: packed.winograd, activation: activation, threads: threads, bandTileRows: band)
                    XCTAssertEqual(try banded.scalars(as: Float.self).map(\.bitPattern), whole,
                                   "\(height)×\(width) \(pads) band \(band) threads \(threads)")
                }
            }
        }
        XCTAssertEqual(ConvProblem.winogradBandTileRows(channels: 64, filters: 64, tileRows: 28, tileColumns: 28, threads: 2), 3)
        XCTAssertNil(ConvProblem.winogradBandTileRows(channels: 256, filters: 256, tileRows: 7, tileColumns: 7, threads: 2))
        XCTAssertNil(ConvProblem.winogradBandTileRows(channels: 128, filters: 128, tileRows: 14, tileColumns: 14, threads: 2))
    }

    func testOnlyUnitStride3x3SingleGroupWideEnoughConvsArePrepared() throws {
        func attributes(strides: [Int]? = nil, dilations: [Int]? = nil) -> ConvGeometry.Attributes {
            ConvGeometry.Attributes(
                kernel: nil, strides: strides, dilations: dilations, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        }
        let w = try Tensor(shape: [16, 16, 3, 3], scalars: [Float](repeating: 0.5, count: 16 * 16 * 9))
        XCTAssertEqual(ConvProblem.packedWeights(w, group: 1, attributes: attributes())?.winograd.count, 16)
        XCTAssertEqual(ConvProblem.packedWeights(w, group: 1, attributes: attributes(strides: [2, 2]))?.winograd.count, 0)
        XCTAssertEqual(ConvProblem.packedWeights(w, group: 1, attributes: attributes(dilations: [2, 2]))?.winograd.count, 0)
        let narrow = try Tensor(shape: [16, 3, 3, 3], scalars: [Float](repeating: 0.5, count: 16 * 27))
        XCTAssertEqual(ConvProblem.packedWeights(narrow, group: 1, attributes: attributes())?.winograd.count, 0)
        let grouped = try Tensor(shape: [32, 16, 3, 3], scalars: [Float](repeating: 0.5, count: 32 * 16 * 9))
        XCTAssertEqual(ConvProblem.packedWeights(grouped, group: 2, attributes: attributes())?.winograd.count, 0)
        // A 1×1 output does not pay: the direct path runs, with unpacked weights, and still agrees.
        let x = try Tensor(shape: [1, 16, 1, 1], scalars: (0..<16).map { Float($0) })
        let packed = try XCTUnwrap(ConvProblem.packedWeights(w, group: 1, attributes: attributes()))
        let (problem, outShape) = try ConvOps.problem(x, w, nil, attributes: attributes(), group: 1)
        XCTAssertFalse(problem.winogradPays)
        let y = try problem.runFloat(x, w, nil, outShape, packed: packed, threads: 1).scalars(as: Float.self)
        XCTAssertEqual(y, [Float](repeating: 60, count: 16))
        // A 7×7 output (16 tiles) takes the direct path too, on plain weights packed once and kept.
        var values = DepthwiseConvTests.Values(state: 3)
        let wide = try Tensor(shape: [1, 16, 7, 7], scalars: values.floats(16 * 49))
        let (small, smallShape) = try ConvOps.problem(wide, w, nil, attributes: attributes(), group: 1)
        XCTAssertFalse(small.winogradPays)
        let reference = try small.run(Float.self, wide, w, nil, smallShape).scalars(as: Float.self)
        for threads in [1, 2] {
            let direct = try small.runFloat(wide, w, nil, smallShape, packed: packed, threads: threads).scalars(as: Float.self)
            for (index, expected) in reference.enumerated() {
                XCTAssertEqual(direct[index], expected, accuracy: 1e-5 * 16 * 9, "7×7 direct [\(index)]")
            }
        }
        XCTAssertEqual(packed.direct?.get { [] }.count, 1, "the plain weights were packed and kept")
        let (large, _) = try ConvOps.problem(
            try Tensor(shape: [1, 16, 16, 16], scalars: values.floats(16 * 256)), w, nil, attributes: attributes(), group: 1)
        XCTAssertTrue(large.winogradPays)
    }
}

/// The im2col unfolding writes the same columns whether it packs them for
/// the GEMM or leaves them row-major (for kernels that read B in place).
final class UnfoldingLayoutTests: XCTestCase {
    func testRowMajorColumnsPackToThePackedUnfolding() throws {
        var values = DepthwiseConvTests.Values(state: 5)
        for (input, kernel, strides, pads) in [
            ([9, 11], [3, 3], [2, 2], [1, 0, 2, 1]), ([7, 7], [7, 7], [1, 1], [3, 3, 3, 3]), ([4, 5, 6], [2, 3, 2], [1, 2, 1], [0, 1, 0, 1, 0, 1]),
        ] {
            let attributes = ConvGeometry.Attributes(
                kernel: kernel, strides: strides, dilations: nil, pads: pads, autoPad: "NOTSET", ceilMode: false)
            let geometry = try ConvGeometry(attributes, input: input)
            let taps = try Tensor.checkedCount(kernel), positions = try Tensor.checkedCount(geometry.output)
            let channels = 3, depth = channels * taps
            let unfold = try Unfolding(geometry: geometry, taps: taps, positions: positions)
            let x = values.floats(channels * input.reduce(1, *))
            var packed = [Float](repeating: .nan, count: onyx_sgemm_packed_b_count(depth, positions))
            var rows = [Float](repeating: .nan, count: depth * positions)
            var repacked = packed
            x.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                packed.withUnsafeMutableBufferPointer { unfold.run(base, channels: channels, into: $0.baseAddress!, threads: 2) }
                rows.withUnsafeMutableBufferPointer {
                    unfold.run(base, channels: channels, into: $0.baseAddress!, packed: false, threads: 2)
                }
            }
            repacked.withUnsafeMutableBufferPointer { onyx_sgemm_pack_b(depth, positions, rows, positions, 1, $0.baseAddress) }
            XCTAssertEqual(packed.map(\.bitPattern), repacked.map(\.bitPattern), "\(input) k\(kernel) s\(strides)")
            XCTAssertFalse(rows.contains { $0.isNaN }, "every row-major element written")
        }
    }
}

/// Convolutions with few filters and a large unfolded matrix run a band of
/// output rows at a time (`runBands`): against the reference, bitwise across
/// thread counts, with uneven last bands, packed and unpacked weights, and
/// an activation applied after the product (tanh) as well as in it (ReLU).
final class BandedConvTests: XCTestCase {
    func testBandsMatchReferenceAndThreadCounts() throws {
        var values = DepthwiseConvTests.Values(state: 17)
        // (input, filters, kernel, stride, pad): a first-layer 7×7 s2 conv, a 3×3 s1 one, a 5×5 s2 one on a batch of 2.
        let cases: [([Int], Int, Int, Int, Int)] = [
            ([1, 3, 75, 70], 16, 7, 2, 3), ([1, 16, 70, 33], 24, 3, 1, 1), ([2, 5, 61, 90], 12, 5, 2, 2),
        ]
        for (shape, filters, kernel, stride, pad) in cases {
            let channels = shape[1]
            let attributes = ConvGeometry.Attributes(
                kernel: nil, strides: [stride, stride], dilations: nil, pads: [pad, pad, pad, pad], autoPad: "NOTSET",
                ceilMode: false)
            let x = try Tensor(shape: shape, scalars: values.floats(shape.reduce(1, *)))
            let w = try Tensor(shape: [filters, channels, kernel, kernel], scalars: values.floats(filters * channels * kernel * kernel))
            let b = try Tensor(shape: [filters], scalars: values.floats(filters))
            let (problem, outShape) = try ConvOps.problem(x, w, b, attributes: attributes, group: 1)
            let unfold = try Unfolding(
                geometry: problem.geometry, taps: kernel * kernel, positions: outShape[2] * outShape[3])
            let rows = try XCTUnwrap(unfold.bandRows(depth: channels * kernel * kernel, filters: filters), "\(shape)")
            XCTAssertNotEqual(outShape[2] % rows, 0, "the last band is shorter: \(shape)")
            let reference = try problem.run(Float.self, x, w, b, outShape).scalars(as: Float.self)
            let packed = ConvProblem.packedWeights(w, group: 1)
            for (activation, fused) in [(Gemm.Activation.relu, nil), (.none, try FusedActivation(.tanh))] {
                var first: [UInt32]?
                for (threads, weights) in [(1, packed), (2, packed), (2, nil)] {
                    let y = try problem.runFloat(
                        x, w, b, outShape, packed: weights, activation: activation, fused: fused, threads: threads)
                        .scalars(as: Float.self)
                    if let first {
                        XCTAssertEqual(y.map(\.bitPattern), first, "\(shape) threads \(threads)")
                    } else {
                        first = y.map(\.bitPattern)
                    }
                    let scale = Float(channels * kernel * kernel)
                    for (index, expected) in reference.enumerated() {
                        let want = fused == nil ? max(expected, 0) : Float(Foundation.tanh(Double(expected)))
                        XCTAssertEqual(y[index], want, accuracy: 2e-6 * scale, "\(shape) [\(index)]")
                    }
                }
            }
        }
        // Deep columns would make bands too narrow (ResNet-50's 3×3 stride-2 conv at depth 1152): no bands.
        let deep = ConvGeometry.Attributes(
            kernel: nil, strides: [2, 2], dilations: nil, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        let (problem, outShape) = try ConvOps.problem(
            try Tensor(shape: [1, 128, 56, 56], scalars: [Float](repeating: 0, count: 128 * 56 * 56)),
            try Tensor(shape: [128, 128, 3, 3], scalars: [Float](repeating: 0, count: 128 * 128 * 9)), nil,
            attributes: deep, group: 1)
        let unfold = try Unfolding(geometry: problem.geometry, taps: 9, positions: outShape[2] * outShape[3])
        XCTAssertNil(unfold.bandRows(depth: 128 * 9, filters: 128))
    }
}
