import Foundation
import XCTest
@testable import Onyx

final class SpectralTests: XCTestCase {
    private func naiveDFT(_ re: [Double], _ im: [Double], inverse: Bool) -> ([Double], [Double]) {
        let n = re.count
        var outRe = [Double](repeating: 0, count: n), outIm = outRe
        let sign: Double = inverse ? 1 : -1
        for k in 0..<n {
            for j in 0..<n {
                let angle = sign * 2 * Double.pi * Double(k * j % n) / Double(n)
                outRe[k] += re[j] * cos(angle) - im[j] * sin(angle)
                outIm[k] += re[j] * sin(angle) + im[j] * cos(angle)
            }
        }
        return (outRe, outIm)
    }

    func testFFTPlanMatchesNaiveDFTForAnyLength() throws {
        for n in [1, 2, 3, 5, 8, 12, 17, 64, 100] {
            let re = (0..<n).map { sin(Double($0) * 1.3) + 0.1 * Double($0) }
            let im = (0..<n).map { cos(Double($0) * 0.7) }
            for inverse in [false, true] {
                var plan = try FFTPlan(length: n)
                var (r, i) = (re, im)
                plan.transform(&r, &i, inverse: inverse)
                let (er, ei) = naiveDFT(re, im, inverse: inverse)
                for k in 0..<n {
                    XCTAssertEqual(r[k], er[k], accuracy: 1e-9, "n=\(n) k=\(k)")
                    XCTAssertEqual(i[k], ei[k], accuracy: 1e-9, "n=\(n) k=\(k)")
                }
            }
        }
    }

    func testDFTOnesidedPaddingAndIRFFTRoundTrip() throws {
        let signal = try Tensor(shape: [1, 3, 1], scalars: [Double(1), 2, 3])
        let length = Tensor(scalar: Int64(4))
        let rfft = try SingleOp.run("DFT", opset: 20, inputs: [("x", signal), ("n", length)],
                                    attributes: [.int("onesided", 1)])[0]
        XCTAssertEqual(rfft.shape, [1, 3, 2])
        // [1, 2, 3, 0] → X0 = 6, X1 = 1 − 3 + i(−2) = −2 − 2i, X2 = 1 − 2 + 3 = 2.
        let values = try rfft.scalars(as: Double.self)
        for (a, e) in zip(values, [6, 0, -2, -2, 2, 0] as [Double]) { XCTAssertEqual(a, e, accuracy: 1e-12) }
        let back = try SingleOp.run("DFT", opset: 20, inputs: [("x", rfft), ("n", length)],
                                    attributes: [.int("onesided", 1), .int("inverse", 1)])[0]
        XCTAssertEqual(back.shape, [1, 4, 1])
        for (a, e) in zip(try back.scalars(as: Double.self), [1, 2, 3, 0] as [Double]) { XCTAssertEqual(a, e, accuracy: 1e-12) }
    }

    func testDFTOpset17AxisAttribute() throws {
        let x = try Tensor(shape: [2, 2, 1], scalars: [Float(1), 2, 3, 4])
        let out = try SingleOp.run("DFT", opset: 17, inputs: [("x", x)], attributes: [.int("axis", 0)])[0]
        XCTAssertEqual(try out.scalars(as: Float.self), [4, 0, 6, 0, -2, 0, -2, 0])
        XCTAssertThrowsError(try SingleOp.run("DFT", opset: 17, inputs: [("x", x)], attributes: [.int("axis", 2)]))
    }

    func testSTFTFramesAndWindow() throws {
        let signal = try Tensor(shape: [1, 5, 1], scalars: [Float(1), 2, 3, 4, 5])
        let step = Tensor(scalar: Int64(2))
        let window = try Tensor(shape: [2], scalars: [Float(1), -1])
        let out = try SingleOp.run("STFT", opset: 17, inputs: [("s", signal), ("k", step), ("w", window)])[0]
        // Frames [1,2], [3,4]; windowed [1,−2], [3,−4]; bins 0 and 1 (onesided): (−1, 3), (−1, 7).
        XCTAssertEqual(out.shape, [1, 2, 2, 2])
        XCTAssertEqual(try out.scalars(as: Float.self), [-1, 0, 3, 0, -1, 0, 7, 0])
    }

    func testWindows() throws {
        let size = Tensor(scalar: Int64(4))
        let hann = try SingleOp.run("HannWindow", opset: 17, inputs: [("n", size)])[0].scalars(as: Float.self)
        for (a, e) in zip(hann, [0, 0.5, 1, 0.5] as [Float]) { XCTAssertEqual(a, e, accuracy: 1e-6) }
        let symmetric = try SingleOp.run("HannWindow", opset: 17, inputs: [("n", size)],
                                         attributes: [.int("periodic", 0)])[0].scalars(as: Float.self)
        for (a, e) in zip(symmetric, [0, 0.75, 0.75, 0] as [Float]) { XCTAssertEqual(a, e, accuracy: 1e-6) }
        let blackman = try SingleOp.run("BlackmanWindow", opset: 17, inputs: [("n", size)],
                                        attributes: [.int("output_datatype", 11)])[0]
        XCTAssertEqual(blackman.elementType, .double)
        XCTAssertEqual(try blackman.scalars(as: Double.self)[2], 0.42 + 0.5 + 0.08, accuracy: 1e-12)
    }

    func testMelWeightMatrixTriangles() throws {
        let out = try SingleOp.run("MelWeightMatrix", opset: 17, inputs: [
            ("m", Tensor(scalar: Int64(2))), ("d", Tensor(scalar: Int64(16))), ("r", Tensor(scalar: Int64(16))),
            ("l", Tensor(scalar: Float(0))), ("u", Tensor(scalar: Float(8))),
        ])[0]
        XCTAssertEqual(out.shape, [9, 2])
        let w = try out.scalars(as: Float.self)
        for column in 0..<2 { XCTAssertEqual((0..<9).map { w[$0 * 2 + column] }.max(), 1) }
    }
}
