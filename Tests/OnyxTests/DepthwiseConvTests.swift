import CKernels
import XCTest
@testable import Onyx

/// The direct depthwise kernel (`ConvOps+Depthwise.swift`) against the
/// reference unfold-and-multiply Conv over many geometries, with and without
/// bias and fused activations, by each of its methods (stride phases, rows,
/// and 16 channels per vector, the blocked one; a 9×9 kernel takes the phase
/// method's multi-pass tap loop), and across thread counts. The phase and
/// blocked methods must agree bit for bit.
final class DepthwiseConvTests: XCTestCase {
    struct Values {
        var state: UInt64
        mutating func floats(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 40) - (1 << 23)) / Float(1 << 23)
            }
        }
    }

    func testMatchesReferenceOverManyGeometries() throws {
        var values = Values(state: 7)
        var cases = 0
        for (height, width) in [(1, 1), (5, 7), (14, 14), (17, 33)] {
            for kernel in [1, 3, 5, 9] {
                for stride in [1, 2, 3] {
                    for dilation in [1, 2] {
                        for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 3]] {
                            // Some counts past one and two blocks of 16 lanes.
                            let channels = [3, 5, 16, 21, 37][cases % 5]
                            let attributes = ConvGeometry.Attributes(
                                kernel: nil, strides: [stride, stride], dilations: [dilation, dilation], pads: pads,
                                autoPad: "NOTSET", ceilMode: false)
                            let x = try Tensor(shape: [2, channels, height, width], scalars: values.floats(2 * channels * height * width))
                            let w = try Tensor(shape: [channels, 1, kernel, kernel], scalars: values.floats(channels * kernel * kernel))
                            let b = cases % 2 == 0 ? try Tensor(shape: [channels], scalars: values.floats(channels)) : nil
                            guard let (problem, outShape) = try? ConvOps.problem(x, w, b, attributes: attributes, group: channels)
                            else { continue }
                            XCTAssertTrue(problem.isDepthwise2D)
                            let reference = try problem.run(Float.self, x, w, b, outShape).scalars(as: Float.self)
                            for activation in [Gemm.Activation.none, .relu, .clip(min: -0.2, max: 0.3), .silu] {
                                let one = try problem.runDepthwise(x, w, b, outShape, activation: activation, threads: 1)
                                let two = try problem.runDepthwise(x, w, b, outShape, activation: activation, threads: 2)
                                let rows = try problem.runDepthwise(
                                    x, w, b, outShape, activation: activation, threads: 1, method: .rows)
                                let phases = try problem.runDepthwise(
                                    x, w, b, outShape, activation: activation, threads: 2, method: .phases)
                                let blocked = try problem.runDepthwise(
                                    x, w, b, outShape, activation: activation, threads: 2, method: .blocked)
                                let fast = try one.scalars(as: Float.self)
                                XCTAssertEqual(fast.map(\.bitPattern), try two.scalars(as: Float.self).map(\.bitPattern))
                                XCTAssertEqual(
                                    try phases.scalars(as: Float.self).map(\.bitPattern),
                                    try blocked.scalars(as: Float.self).map(\.bitPattern),
                                    "blocked: \(height)×\(width) k\(kernel) s\(stride) d\(dilation) \(pads) c\(channels)")
                                for (index, value) in try rows.scalars(as: Float.self).enumerated() {
                                    XCTAssertEqual(value, fast[index], accuracy: 1e-5, "rows method [\(index)]")
                                }
                                for (index, expected) in reference.enumerated() {
                                    let want = activation.reference(expected)
                                    XCTAssertEqual(fast[index], want, accuracy: 1e-5,
                                                   "\(height)×\(width) k\(kernel) s\(stride) d\(dilation) \(pads) [\(index)]")
                                }
                            }
                            cases += 1
                        }
                    }
                }
            }
        }
        XCTAssertGreaterThan(cases, 150)
    }

    /// Odd block counts are split into bands of output rows for two
    /// threads; the bands must give the one-thread bits, and a band computed
    /// after the band below it must not spill its last row's 8-wide stores
    /// into that band (on two threads the order is arbitrary).
    func testRowBandsGiveTheSameBitsInAnyOrder() throws {
        var values = Values(state: 11)
        XCTAssertEqual(ConvProblem.depthwiseRowParts(blocks: 9, rows: 56, threads: 2), 2)
        XCTAssertEqual(ConvProblem.depthwiseRowParts(blocks: 6, rows: 56, threads: 2), 1)
        XCTAssertEqual(ConvProblem.depthwiseRowParts(blocks: 1, rows: 7, threads: 2), 1)
        for (channels, kernel, stride) in [(37, 3, 1), (16, 5, 2), (45, 3, 2)] {
            let (height, width) = (40, 33)
            let attributes = ConvGeometry.Attributes(
                kernel: nil, strides: [stride, stride], dilations: [1, 1], pads: [kernel / 2, kernel / 2, kernel / 2, kernel / 2],
                autoPad: "NOTSET", ceilMode: false)
            let x = try Tensor(shape: [1, channels, height, width], scalars: values.floats(channels * height * width))
            let w = try Tensor(shape: [channels, 1, kernel, kernel], scalars: values.floats(channels * kernel * kernel))
            let b = try Tensor(shape: [channels], scalars: values.floats(channels))
            let (problem, outShape) = try ConvOps.problem(x, w, b, attributes: attributes, group: channels)
            let blocks = (channels + 15) / 16
            XCTAssertGreaterThan(ConvProblem.depthwiseRowParts(blocks: blocks, rows: outShape[2], threads: 2), 1)
            let one = try problem.runDepthwise(x, w, b, outShape, activation: .silu, threads: 1, method: .blocked)
            let two = try problem.runDepthwise(x, w, b, outShape, activation: .silu, threads: 2, method: .blocked)
            let expected = try one.scalars(as: Float.self).map(\.bitPattern)
            XCTAssertEqual(try two.scalars(as: Float.self).map(\.bitPattern), expected, "c\(channels) k\(kernel) s\(stride)")

            // Bands from the bottom up, one call each, straight into the kernel.
            var geometry = PoolOps.planeGeometry(problem.geometry)
            (geometry.activation, geometry.clip_min, geometry.clip_max) = Gemm.Activation.silu.c
            let scratchCount = Int(onyx_depthwise2d_blocked_scratch_count(&geometry))
            var scratch = [Float](repeating: 0, count: scratchCount + 16)
            var output = [Float](repeating: .nan, count: expected.count)
            let rows = outShape[2]
            let bands = [0, 5, 6, 13, rows]
            let xs = try x.scalars(as: Float.self), ws = try w.scalars(as: Float.self), bs = try b.scalars(as: Float.self)
            for band in (0..<(bands.count - 1)).reversed() {
                onyx_depthwise2d_blocked_f32(
                    &geometry, 0, blocks, bands[band], bands[band + 1], channels, xs, ws, bs, &output, &scratch)
            }
            XCTAssertEqual(output.map(\.bitPattern), expected, "bottom-up bands: c\(channels) k\(kernel) s\(stride)")
        }
    }

    func testConvOperatorUsesDepthwisePathAndKeepsNaN() throws {
        let x = try Tensor(shape: [1, 2, 3, 3], scalars: [Float](repeating: 1, count: 9) + [.nan] + [Float](repeating: 2, count: 8))
        let w = try Tensor(shape: [2, 1, 3, 3], scalars: [Float](repeating: 1, count: 18))
        let attributes = ConvGeometry.Attributes(
            kernel: nil, strides: nil, dilations: nil, pads: [1, 1, 1, 1], autoPad: "NOTSET", ceilMode: false)
        let y = try ConvOps.conv(x, w, nil, attributes: attributes, group: 2).scalars(as: Float.self)
        XCTAssertEqual(Array(y[0..<9]), [4, 6, 4, 6, 9, 6, 4, 6, 4])
        // The NaN at (0, 0) of channel 1 reaches the outputs whose window covers it.
        let nanOutputs = (0..<9).filter { y[9 + $0].isNaN }
        XCTAssertEqual(nanOutputs, [0, 1, 3, 4])
        XCTAssertEqual(y[9 + 8], 8)
    }
}

extension Gemm.Activation {
    /// The activation applied to one value, as the kernels' epilogues define it.
    func reference(_ value: Float) -> Float {
        switch self {
        case .none: return value
        case .relu: return max(value, 0)
        case .clip(let low, let high): return min(max(value, low), high)
        case .silu: return value / (1 + exp(-value))
        }
    }
}
