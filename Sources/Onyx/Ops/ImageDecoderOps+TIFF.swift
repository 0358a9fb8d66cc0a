/// TIFF (first image only): strips, chunky samples, 8-bit gray
/// (BlackIsZero / WhiteIsZero), RGB or RGBA, 8-bit palette, 1-bit
/// bilevel; compression none, PackBits, LZW or Deflate, with optional
/// horizontal-differencing predictor. Tiles, planar layout, other
/// compressions and sample sizes are reported as unsupported.
enum TIFFDecoder {
    static func decode(_ bytes: [UInt8]) throws -> DecodedImage {
        let r = ByteReader(bytes: bytes, bigEndian: bytes[0] == 0x4D)
        let ifd = try r.u32(4)
        var tags: [Int: [Int]] = [:]
        for entry in 0..<(try r.u16(ifd)) {
            let at = ifd + 2 + entry * 12
            let (tag, type, count) = (try r.u16(at), try r.u16(at + 2), try r.u32(at + 4))
            let size = [1: 1, 2: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4][type] ?? 0
            guard size > 0, count <= 1 << 24 else { continue }
            let base = size * count <= 4 ? at + 8 : try r.u32(at + 8)
            tags[tag] = try (0..<count).map { i in
                size == 1 ? try r.u8(base + i) : (size == 2 ? try r.u16(base + 2 * i) : try r.u32(base + 4 * i))
            }
        }
        func value(_ tag: Int, _ fallback: Int? = nil) throws -> Int {
            guard let v = tags[tag]?.first ?? fallback else { throw ImageError.corrupt }
            return v
        }
        let (width, height) = (try value(256), try value(257))
        let bits = try value(258, 1), samples = try value(277, 1), photometric = try value(262)
        let compression = try value(259, 1), predictor = try value(317, 1)
        if tags[322] != nil { throw ImageError.unsupported("tiled TIFF") }
        guard try value(284, 1) == 1 else { throw ImageError.unsupported("planar-configuration TIFF") }
        guard [1, 5, 8, 32946, 32773].contains(compression) else {
            throw ImageError.unsupported("TIFF compression \(compression)")
        }
        let layout: Int
        switch (photometric, bits, samples) {
        case (0, 1, 1), (1, 1, 1), (0, 8, 1), (1, 8, 1), (3, 8, 1): layout = 1
        case (2, 8, 3), (2, 8, 4): layout = samples
        default:
            throw ImageError.unsupported("TIFF photometric \(photometric) with \(samples)×\(bits)-bit samples")
        }
        var image = try DecodedImage(width: width, height: height, channels: photometric >= 2 ? 3 : 1)
        let rowBytes = (width * bits * layout + 7) / 8
        let rowsPerStrip = min(try value(278, height), height)
        guard rowsPerStrip > 0, let offsets = tags[273], let counts = tags[279], offsets.count == counts.count else {
            throw ImageError.corrupt
        }
        let colorMap = tags[320] ?? []
        var y = 0
        for (offset, count) in zip(offsets, counts) where y < height {
            let rows = min(rowsPerStrip, height - y)
            var data = try strip(Array(try r.slice(offset, count)), compression: compression, expected: rows * rowBytes)
            guard data.count >= rows * rowBytes else { throw ImageError.corrupt }
            if predictor == 2 && bits == 8 {
                for row in 0..<rows {
                    for i in layout..<max(layout, rowBytes) { data[row * rowBytes + i] &+= data[row * rowBytes + i - layout] }
                }
            }
            for row in 0..<rows {
                for x in 0..<width {
                    let pixel = (y + row) * width + x
                    let at = row * rowBytes + x * layout
                    switch photometric {
                    case 2: for c in 0..<3 { image.samples[pixel * 3 + c] = data[at + c] }
                    case 3:
                        let index = Int(data[at])
                        for c in 0..<3 {
                            let entry = c * (1 << bits) + index
                            image.samples[pixel * 3 + c] = entry < colorMap.count ? UInt8(colorMap[entry] >> 8) : 0
                        }
                    default:
                        let v = bits == 1 ? ((data[row * rowBytes + x / 8] >> (7 - x % 8)) & 1) * 255 : data[at]
                        image.samples[pixel] = photometric == 0 ? 255 - v : v
                    }
                }
            }
            y += rows
        }
        guard y == height else { throw ImageError.corrupt }
        return image
    }

    private static func strip(_ data: [UInt8], compression: Int, expected: Int) throws -> [UInt8] {
        switch compression {
        case 5: return try lzw(data, limit: expected)
        case 8, 32946: return try Inflate.zlib(data, limit: expected)
        case 32773:
            var out: [UInt8] = []
            var i = 0
            while i < data.count, out.count < expected {
                let n = Int(Int8(bitPattern: data[i]))
                i += 1
                if n >= 0 {
                    guard i + n + 1 <= data.count else { throw ImageError.corrupt }
                    out += data[i..<(i + n + 1)]
                    i += n + 1
                } else if n > -128, i < data.count {
                    out += [UInt8](repeating: data[i], count: 1 - n)
                    i += 1
                }
            }
            return out
        default: return data
        }
    }

    /// TIFF LZW: MSB-first codes of 9–12 bits, 256 = clear, 257 = end, with
    /// TIFF's early code-width change.
    private static func lzw(_ data: [UInt8], limit: Int) throws -> [UInt8] {
        var table: [[UInt8]] = (0..<256).map { [UInt8($0)] } + [[], []]
        var out: [UInt8] = []
        var (bitPosition, width) = (0, 9)
        var previous: [UInt8]?
        while bitPosition + width <= data.count * 8, out.count < limit {
            var code = 0
            for _ in 0..<width {
                code = code << 1 | Int((data[bitPosition / 8] >> (7 - bitPosition % 8)) & 1)
                bitPosition += 1
            }
            if code == 257 { break }
            if code == 256 {
                table.removeSubrange(258...)
                (width, previous) = (9, nil)
                continue
            }
            let entry: [UInt8]
            if code < table.count {
                entry = table[code]
            } else if code == table.count, let previous, let first = previous.first {
                entry = previous + [first]
            } else {
                throw ImageError.corrupt
            }
            out += entry
            if let previous, let first = entry.first, table.count < 4096 { table.append(previous + [first]) }
            previous = entry
            if table.count + 1 >= 1 << width, width < 12 { width += 1 }
        }
        return out
    }
}
