/// Turns decoded JPEG coefficients into 8-bit pixels with libjpeg-turbo's
/// default arithmetic: the accurate integer IDCT ("islow", 13-bit
/// constants, two passes, range-limit table wraparound), "fancy"
/// upsampling (triangle filter; h2v1 / h2v2 only for downsampled widths
/// above 2, h1v2 always; other integer ratios replicate), edge rows and
/// columns replicated, and the fixed-point YCbCr→RGB tables (16 fraction
/// bits). Color space: RGB when an Adobe marker says transform 0 or,
/// without JFIF, the component ids spell "RGB"; else YCbCr.
enum JPEGReconstruction {
    static func image(_ jpeg: JPEGDecoder) throws -> DecodedImage {
        let (width, height) = (jpeg.width, jpeg.height)
        let (hMax, vMax) = (jpeg.components.map(\.h).max() ?? 1, jpeg.components.map(\.v).max() ?? 1)
        var planes: [[UInt8]] = []
        for component in jpeg.components {
            guard hMax % component.h == 0, vMax % component.v == 0 else {
                throw ImageError.unsupported("JPEG with fractional sampling ratios")
            }
            let plane = try samples(component)
            let (planeWidth, dsWidth) = (component.blocksPerLine * 8, (width * component.h + hMax - 1) / hMax)
            let dsHeight = (height * component.v + vMax - 1) / vMax
            planes.append(upsample(plane, stride: planeWidth, width: dsWidth, height: dsHeight,
                                   by: (hMax / component.h, vMax / component.v), outWidth: width, outHeight: height))
        }
        var image = try DecodedImage(width: width, height: height, channels: planes.count == 1 ? 1 : 3)
        if planes.count == 1 {
            image.samples = planes[0]
            return image
        }
        let ids = jpeg.components.map(\.id)
        let rgb = jpeg.adobeTransform.map { $0 == 0 } ?? (!jpeg.sawJFIF && ids == [82, 71, 66])
        for p in 0..<(width * height) {
            let (y, cb, cr) = (Int(planes[0][p]), Int(planes[1][p]), Int(planes[2][p]))
            if rgb {
                (image.samples[p * 3], image.samples[p * 3 + 1], image.samples[p * 3 + 2]) = (UInt8(y), UInt8(cb), UInt8(cr))
                continue
            }
            let (x, z) = (cb - 128, cr - 128)
            let red = y + ((91881 * z + 32768) >> 16)
            let green = y + ((-22554 * x + 32768 - 46802 * z) >> 16)
            let blue = y + ((116130 * x + 32768) >> 16)
            image.samples[p * 3] = clamp(red)
            image.samples[p * 3 + 1] = clamp(green)
            image.samples[p * 3 + 2] = clamp(blue)
        }
        return image
    }

    private static func clamp(_ v: Int) -> UInt8 { UInt8(min(max(v, 0), 255)) }

    /// The component's full block grid of samples after dequantization and IDCT.
    private static func samples(_ component: JPEGDecoder.Component) throws -> [UInt8] {
        guard let quant = component.quantization else { throw ImageError.corrupt }
        let stride = component.blocksPerLine * 8
        var plane = [UInt8](repeating: 0, count: stride * component.blockRows * 8)
        var workspace = [Int](repeating: 0, count: 64)
        var block = [Int](repeating: 0, count: 64)
        for row in 0..<component.blockRows {
            for column in 0..<component.blocksPerLine {
                let base = (row * component.blocksPerLine + column) * 64
                for k in 0..<64 { block[k] = Int(component.coefficients[base + k]) * Int(quant[k]) }
                idct(block, &workspace)
                for y in 0..<8 {
                    for x in 0..<8 { plane[(row * 8 + y) * stride + column * 8 + x] = UInt8(workspace[y * 8 + x]) }
                }
            }
        }
        return plane
    }

    private static func descale(_ x: Int, _ n: Int) -> Int { (x + (1 << (n - 1))) >> n }

    /// The final output mapping of libjpeg's range-limit table: the low 10
    /// bits read as a signed value, plus 128, clamped to 0…255.
    private static func rangeLimit(_ x: Int) -> Int {
        let index = x & 1023
        return min(max((index < 512 ? index : index - 1024) + 128, 0), 255)
    }

    /// libjpeg's jpeg_idct_islow on a dequantized block (natural order);
    /// writes 8×8 samples into `out`.
    private static func idct(_ input: [Int], _ out: inout [Int]) {
        var ws = [Int](repeating: 0, count: 64)
        for column in 0..<8 {
            let c = { (row: Int) in input[row * 8 + column] }
            if (1..<8).allSatisfy({ c($0) == 0 }) {
                for row in 0..<8 { ws[row * 8 + column] = c(0) << 2 }
                continue
            }
            let r = butterfly(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7))
            for row in 0..<8 { ws[row * 8 + column] = descale(r[row], 11) }
        }
        for row in 0..<8 {
            let w = { (k: Int) in ws[row * 8 + k] }
            if (1..<8).allSatisfy({ w($0) == 0 }) {
                let value = rangeLimit(descale(w(0), 5))
                for k in 0..<8 { out[row * 8 + k] = value }
                continue
            }
            let r = butterfly(w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7))
            for k in 0..<8 { out[row * 8 + k] = rangeLimit(descale(r[k], 18)) }
        }
    }

    /// The islow 1-D transform before descaling (results scaled by 2^13).
    private static func butterfly(_ d0: Int, _ d1: Int, _ d2: Int, _ d3: Int, _ d4: Int, _ d5: Int, _ d6: Int,
                                  _ d7: Int) -> [Int] {
        var z1 = (d2 + d6) * 4433
        let tmp2e = z1 + d6 * -15137
        let tmp3e = z1 + d2 * 6270
        let tmp0e = (d0 + d4) << 13
        let tmp1e = (d0 - d4) << 13
        let (tmp10, tmp13, tmp11, tmp12) = (tmp0e + tmp3e, tmp0e - tmp3e, tmp1e + tmp2e, tmp1e - tmp2e)
        var (tmp0, tmp1, tmp2, tmp3) = (d7, d5, d3, d1)
        z1 = tmp0 + tmp3
        var z2 = tmp1 + tmp2
        var z3 = tmp0 + tmp2
        var z4 = tmp1 + tmp3
        let z5 = (z3 + z4) * 9633
        tmp0 *= 2446
        tmp1 *= 16819
        tmp2 *= 25172
        tmp3 *= 12299
        z1 *= -7373
        z2 *= -20995
        z3 = z3 * -16069 + z5
        z4 = z4 * -3196 + z5
        tmp0 += z1 + z3
        tmp1 += z2 + z4
        tmp2 += z2 + z3
        tmp3 += z1 + z4
        return [tmp10 + tmp3, tmp11 + tmp2, tmp12 + tmp1, tmp13 + tmp0,
                tmp13 - tmp0, tmp12 - tmp1, tmp11 - tmp2, tmp10 - tmp3]
    }

    /// Upsamples the `width × height` region of `plane` by integer factors
    /// and crops to `outWidth × outHeight`.
    private static func upsample(
        _ plane: [UInt8], stride: Int, width: Int, height: Int, by factor: (Int, Int), outWidth: Int, outHeight: Int
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: outWidth * outHeight)
        func at(_ x: Int, _ y: Int) -> Int { Int(plane[min(max(y, 0), height - 1) * stride + min(max(x, 0), width - 1)]) }
        for oy in 0..<outHeight {
            let (y, v) = (oy / factor.1, oy % factor.1)
            for ox in 0..<outWidth {
                let (x, u) = (ox / factor.0, ox % factor.0)
                let value: Int
                switch factor {
                case (1, 1):
                    value = at(x, y)
                case (2, 1) where width > 2:
                    value = (3 * at(x, y) + at(u == 0 ? x - 1 : x + 1, y) + (u == 0 ? 1 : 2)) >> 2
                case (1, 2):
                    value = (3 * at(x, y) + at(x, v == 0 ? y - 1 : y + 1) + (v == 0 ? 1 : 2)) >> 2
                case (2, 2) where width > 2:
                    let neighborRow = v == 0 ? y - 1 : y + 1
                    let sum = { (cx: Int) in 3 * at(cx, y) + at(cx, neighborRow) }
                    value = u == 0 ? (3 * sum(x) + sum(x - 1) + 8) >> 4 : (3 * sum(x) + sum(x + 1) + 7) >> 4
                default:
                    value = at(x, y)
                }
                out[oy * outWidth + ox] = UInt8(value)
            }
        }
        return out
    }
}
