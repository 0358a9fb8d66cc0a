import Foundation

extension ImageDecoderOps {
    /// BMP: uncompressed (BI_RGB) 1/4/8-bit palette, 16-bit 5-5-5, 24-bit
    /// BGR, 32-bit BGRX, and BI_BITFIELDS 16/32-bit; bottom-up or top-down.
    /// Channels of fewer than 8 bits scale as ⌊v·255 / max⌋ (as Pillow).
    static func decodeBMP(_ bytes: [UInt8]) throws -> DecodedImage {
        let r = ByteReader(bytes: bytes)
        let dataOffset = try r.u32(10)
        let headerSize = try r.u32(14)
        let width: Int, rawHeight: Int, bits: Int, compression: Int, paletteEntrySize: Int
        var colorsUsed = 0
        if headerSize == 12 {
            (width, rawHeight, bits, compression, paletteEntrySize) = (try r.u16(18), try r.u16(20), try r.u16(24), 0, 3)
        } else if headerSize >= 40 {
            (width, rawHeight, bits, compression) = (try r.i32(18), try r.i32(22), try r.u16(28), try r.u32(30))
            colorsUsed = try r.u32(46)
            paletteEntrySize = 4
        } else {
            throw ImageError.corrupt
        }
        guard compression == 0 || compression == 3 else {
            let names = [1: "RLE8", 2: "RLE4", 4: "JPEG-payload", 5: "PNG-payload", 6: "alpha-bit-field"]
            guard let name = names[compression] else { throw ImageError.corrupt }
            throw ImageError.unsupported("\(name) BMP")
        }
        let height = abs(rawHeight)
        var image = try DecodedImage(width: width, height: height, channels: 3)
        var masks: [Int] = bits == 16 ? [0x7C00, 0x03E0, 0x001F] : [0xFF0000, 0xFF00, 0xFF]
        if compression == 3 {
            guard bits == 16 || bits == 32 else { throw ImageError.corrupt }
            let at = 14 + (headerSize >= 52 ? 40 : headerSize)
            masks = [try r.u32(at), try r.u32(at + 4), try r.u32(at + 8)]
        }
        var palette: [(UInt8, UInt8, UInt8)] = []
        if bits <= 8 {
            guard [1, 4, 8].contains(bits) else { throw ImageError.corrupt }
            let count = colorsUsed > 0 ? min(colorsUsed, 1 << bits) : 1 << bits
            for i in 0..<count {
                let at = 14 + headerSize + i * paletteEntrySize
                palette.append((UInt8(try r.u8(at + 2)), UInt8(try r.u8(at + 1)), UInt8(try r.u8(at))))
            }
        } else {
            guard [16, 24, 32].contains(bits) else { throw ImageError.corrupt }
        }
        let stride = (width * bits + 31) / 32 * 4
        let rows = try r.slice(dataOffset, stride * height)
        for y in 0..<height {
            let rowStart = rows.startIndex + (rawHeight > 0 ? height - 1 - y : y) * stride
            for x in 0..<width {
                let out = (y * width + x) * 3
                switch bits {
                case 24:
                    let p = rowStart + x * 3
                    (image.samples[out], image.samples[out + 1], image.samples[out + 2]) = (bytes[p + 2], bytes[p + 1], bytes[p])
                case 16, 32:
                    let p = rowStart + x * bits / 8
                    var pixel = 0
                    for k in 0..<(bits / 8) { pixel |= Int(bytes[p + k]) << (8 * k) }
                    for c in 0..<3 { image.samples[out + c] = maskedChannel(pixel, masks[c]) }
                default:
                    let bit = x * bits
                    let index = (Int(bytes[rowStart + bit / 8]) >> (8 - bits - bit % 8)) & ((1 << bits) - 1)
                    let color = index < palette.count ? palette[index] : (0, 0, 0)
                    (image.samples[out], image.samples[out + 1], image.samples[out + 2]) = color
                }
            }
        }
        return image
    }

    /// The channel selected by `mask`, scaled from its width to 8 bits.
    private static func maskedChannel(_ pixel: Int, _ mask: Int) -> UInt8 {
        guard mask != 0 else { return 0 }
        let shift = mask.trailingZeroBitCount
        let maximum = mask >> shift
        return UInt8(((pixel & mask) >> shift) * 255 / maximum)
    }

    /// PNM: P1/P4 bitmaps (1 = black), P2/P5 gray, P3/P6 RGB, ASCII or
    /// binary (16-bit big-endian when maxval > 255); samples scale as
    /// `round(v·255 / maxval)`.
    static func decodePNM(_ bytes: [UInt8]) throws -> DecodedImage {
        let kind = Int(bytes[1]) - 0x30
        var position = 2
        func token() throws -> Int {
            while position < bytes.count {
                if bytes[position] == UInt8(ascii: "#") {
                    while position < bytes.count, bytes[position] != 0x0A, bytes[position] != 0x0D { position += 1 }
                } else if [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains(bytes[position]) {
                    position += 1
                } else {
                    break
                }
            }
            var value = 0
            let start = position
            while position < bytes.count, (0x30...0x39).contains(bytes[position]), value < 1 << 40 {
                value = value * 10 + Int(bytes[position] - 0x30)
                position += 1
            }
            guard position > start else { throw ImageError.corrupt }
            return value
        }
        let width = try token(), height = try token()
        let bitmap = kind == 1 || kind == 4
        let maxval = bitmap ? 1 : try token()
        guard maxval >= 1, maxval <= 65535 else { throw ImageError.corrupt }
        let channels = kind == 3 || kind == 6 ? 3 : 1
        var image = try DecodedImage(width: width, height: height, channels: channels)
        let count = width * height * channels
        func scaled(_ v: Int) -> UInt8 {
            bitmap ? (v == 0 ? 255 : 0) : UInt8((min(v, maxval) * 255 * 2 + maxval) / (2 * maxval))
        }
        if kind <= 3 {
            for i in 0..<count {
                if kind == 1 {
                    while position < bytes.count, ![0x30, 0x31].contains(bytes[position]) { position += 1 }
                    guard position < bytes.count else { throw ImageError.corrupt }
                    image.samples[i] = scaled(Int(bytes[position] - 0x30))
                    position += 1
                } else {
                    image.samples[i] = scaled(try token())
                }
            }
            return image
        }
        position += 1
        let r = ByteReader(bytes: bytes, bigEndian: true)
        if kind == 4 {
            let stride = (width + 7) / 8
            for y in 0..<height {
                for x in 0..<width {
                    image.samples[y * width + x] = scaled((try r.u8(position + y * stride + x / 8) >> (7 - x % 8)) & 1)
                }
            }
            return image
        }
        let wide = maxval > 255
        for i in 0..<count { image.samples[i] = scaled(wide ? try r.u16(position + 2 * i) : try r.u8(position + i)) }
        return image
    }
}
