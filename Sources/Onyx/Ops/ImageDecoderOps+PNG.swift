/// PNG: every color type and bit depth of the spec, Adam7 interlacing and
/// the five scanline filters. Gray below 8 bits scales to 0–255, 16-bit
/// samples keep their high byte, palette indices beyond PLTE are black,
/// alpha is dropped. CRCs are not checked.
enum PNGDecoder {
    static func decode(_ bytes: [UInt8]) throws -> DecodedImage {
        let reader = ByteReader(bytes: bytes, bigEndian: true)
        var position = 8
        var header: [Int] = []
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        while position + 8 <= bytes.count {
            let length = try reader.u32(position)
            let type = String(decoding: try reader.slice(position + 4, 4), as: UTF8.self)
            let body = try reader.slice(position + 8, length)
            switch type {
            case "IHDR":
                let r = ByteReader(bytes: Array(body), bigEndian: true)
                header = [try r.u32(0), try r.u32(4), try r.u8(8), try r.u8(9), try r.u8(10), try r.u8(11), try r.u8(12)]
            case "PLTE": palette = Array(body)
            case "IDAT": compressed += body
            default: break
            }
            if type == "IEND" { break }
            position += 12 + length
        }
        guard header.count == 7 else { throw ImageError.corrupt }
        let (width, height, depth, colorType, interlace) = (header[0], header[1], header[2], header[3], header[6])
        let samplesPerPixel: Int
        switch (colorType, depth) {
        case (0, 1), (0, 2), (0, 4), (0, 8), (0, 16), (3, 1), (3, 2), (3, 4), (3, 8): samplesPerPixel = 1
        case (2, 8), (2, 16): samplesPerPixel = 3
        case (4, 8), (4, 16): samplesPerPixel = 2
        case (6, 8), (6, 16): samplesPerPixel = 4
        default: throw ImageError.corrupt
        }
        guard header[4] == 0, header[5] == 0, interlace <= 1, colorType != 3 || !palette.isEmpty else {
            throw ImageError.corrupt
        }
        var image = try DecodedImage(width: width, height: height, channels: colorType == 0 || colorType == 4 ? 1 : 3)
        let passes: [(Int, Int, Int, Int)] = interlace == 1
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        let bitsPerPixel = samplesPerPixel * depth
        var expected = 0
        for (x0, y0, dx, dy) in passes {
            let (w, h) = ((width - x0 + dx - 1) / dx, (height - y0 + dy - 1) / dy)
            if w > 0 && h > 0 { expected += ((w * bitsPerPixel + 7) / 8 + 1) * h }
        }
        let data = try Inflate.zlib(compressed, limit: expected)
        guard data.count >= expected else { throw ImageError.corrupt }
        var offset = 0
        let filterStride = max(1, bitsPerPixel / 8)
        for (x0, y0, dx, dy) in passes {
            let (w, h) = ((width - x0 + dx - 1) / dx, (height - y0 + dy - 1) / dy)
            guard w > 0 && h > 0 else { continue }
            let rowBytes = (w * bitsPerPixel + 7) / 8
            var previous = [UInt8](repeating: 0, count: rowBytes)
            var row = [UInt8](repeating: 0, count: rowBytes)
            for y in 0..<h {
                let filter = data[offset]
                for i in 0..<rowBytes {
                    let raw = data[offset + 1 + i]
                    let left = i >= filterStride ? Int(row[i - filterStride]) : 0
                    let up = Int(previous[i])
                    let upLeft = i >= filterStride ? Int(previous[i - filterStride]) : 0
                    let predictor: Int
                    switch filter {
                    case 0: predictor = 0
                    case 1: predictor = left
                    case 2: predictor = up
                    case 3: predictor = (left + up) / 2
                    case 4: predictor = paeth(left, up, upLeft)
                    default: throw ImageError.corrupt
                    }
                    row[i] = raw &+ UInt8(truncatingIfNeeded: predictor)
                }
                offset += rowBytes + 1
                for x in 0..<w {
                    store(row, x: x, into: &image, at: (y0 + y * dy) * width + x0 + x * dx,
                          depth: depth, samplesPerPixel: samplesPerPixel, colorType: colorType, palette: palette)
                }
                swap(&previous, &row)
            }
        }
        return image
    }

    private static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
        return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
    }

    private static func store(
        _ row: [UInt8], x: Int, into image: inout DecodedImage, at pixel: Int, depth: Int, samplesPerPixel: Int,
        colorType: Int, palette: [UInt8]
    ) {
        func sample(_ s: Int) -> Int {
            if depth == 16 { return Int(row[(x * samplesPerPixel + s) * 2]) }
            if depth == 8 { return Int(row[x * samplesPerPixel + s]) }
            let bit = x * depth
            return (Int(row[bit / 8]) >> (8 - depth - bit % 8)) & ((1 << depth) - 1)
        }
        switch colorType {
        case 0, 4:
            image.samples[pixel] = UInt8(depth < 8 ? sample(0) * 255 / ((1 << depth) - 1) : sample(0))
        case 3:
            let index = sample(0)
            for c in 0..<3 { image.samples[pixel * 3 + c] = index * 3 + c < palette.count ? palette[index * 3 + c] : 0 }
        default:
            for c in 0..<3 { image.samples[pixel * 3 + c] = UInt8(sample(c)) }
        }
    }
}
