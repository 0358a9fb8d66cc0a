/// Baseline and extended-sequential Huffman JPEG (SOF0/SOF1, 8-bit, 1 or 3
/// components, any sampling factors, restart intervals, interleaved or
/// single-component scans). Samples are reconstructed as libjpeg-turbo
/// does by default (see `JPEGReconstruction`), so output matches Pillow.
struct JPEGDecoder {
    struct Component {
        let id: Int
        let h: Int
        let v: Int
        let table: Int
        var blocksPerLine = 0
        var blockRows = 0
        var coefficients: [Int32] = []
        var quantization: [Int32]?
        var prediction = 0
    }

    /// Canonical Huffman codes as per-length code ranges (JPEG F.2.2.3).
    struct HuffmanTable {
        var minCode = [Int](repeating: 0, count: 17)
        var maxCode = [Int](repeating: -1, count: 17)
        var firstIndex = [Int](repeating: 0, count: 17)
        var symbols: [Int]

        init(counts: ArraySlice<UInt8>, symbols: ArraySlice<UInt8>) {
            self.symbols = symbols.map(Int.init)
            var code = 0
            var index = 0
            for (offset, count) in counts.enumerated() {
                let length = offset + 1
                if count > 0 {
                    (firstIndex[length], minCode[length]) = (index, code)
                    code += Int(count)
                    index += Int(count)
                    maxCode[length] = code - 1
                }
                code <<= 1
            }
        }
    }

    let bytes: [UInt8]
    var position = 2
    var components: [Component] = []
    var quantTables = [[Int32]?](repeating: nil, count: 4)
    var dcTables = [HuffmanTable?](repeating: nil, count: 4)
    var acTables = [HuffmanTable?](repeating: nil, count: 4)
    var width = 0
    var height = 0
    var restartInterval = 0
    var sawJFIF = false
    var adobeTransform: Int?
    var bitBuffer = 0
    var bitCount = 0

    static let zigzag: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
        21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
        61, 54, 47, 55, 62, 63,
    ]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func decode() throws -> DecodedImage {
        let r = ByteReader(bytes: bytes, bigEndian: true)
        var scans = 0
        while true {
            while try r.u8(position) == 0xFF && r.u8(position + 1) == 0xFF { position += 1 }
            guard try r.u8(position) == 0xFF else { throw ImageError.corrupt }
            let marker = try r.u8(position + 1)
            position += 2
            if marker == 0xD9 { break }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { continue }
            let length = try r.u16(position)
            guard length >= 2 else { throw ImageError.corrupt }
            let body = try r.slice(position + 2, length - 2)
            position += length
            switch marker {
            case 0xC0, 0xC1: try frame(Array(body))
            case 0xC2, 0xC6, 0xCA, 0xCE: throw ImageError.unsupported("progressive JPEG")
            case 0xC3, 0xC7, 0xCB, 0xCF: throw ImageError.unsupported("lossless JPEG")
            case 0xC5, 0xC9, 0xCD: throw ImageError.unsupported("arithmetic-coded or hierarchical JPEG")
            case 0xC4: try huffmanTables(Array(body))
            case 0xDB: try quantizationTables(Array(body))
            case 0xDD: restartInterval = try ByteReader(bytes: Array(body), bigEndian: true).u16(0)
            case 0xE0: sawJFIF = sawJFIF || body.starts(with: Array("JFIF\0".utf8))
            case 0xEE where body.starts(with: Array("Adobe".utf8)) && body.count >= 12:
                adobeTransform = Int(body[body.startIndex + 11])
            case 0xDA:
                try scan(Array(body))
                scans += 1
                while position + 1 < bytes.count,
                      !(bytes[position] == 0xFF && bytes[position + 1] != 0 && !(0xD0...0xD7).contains(bytes[position + 1])) {
                    position += 1
                }
            default: break
            }
        }
        guard scans > 0 else { throw ImageError.corrupt }
        return try JPEGReconstruction.image(self)
    }

    private mutating func frame(_ body: [UInt8]) throws {
        let r = ByteReader(bytes: body, bigEndian: true)
        guard try r.u8(0) == 8 else { throw ImageError.unsupported("\(try r.u8(0))-bit JPEG") }
        (height, width) = (try r.u16(1), try r.u16(3))
        let count = try r.u8(5)
        guard count == 1 || count == 3 else { throw ImageError.unsupported("JPEG with \(count) components (CMYK/YCCK)") }
        guard width > 0, height > 0, components.isEmpty else { throw ImageError.corrupt }
        for i in 0..<count {
            let sampling = try r.u8(7 + 3 * i)
            let (h, v, table) = (sampling >> 4, sampling & 15, try r.u8(8 + 3 * i))
            guard (1...4).contains(h), (1...4).contains(v), table < 4 else { throw ImageError.corrupt }
            components.append(Component(id: try r.u8(6 + 3 * i), h: h, v: v, table: table))
        }
        let (hMax, vMax) = (components.map(\.h).max() ?? 1, components.map(\.v).max() ?? 1)
        let mcuColumns = (width + 8 * hMax - 1) / (8 * hMax), mcuRows = (height + 8 * vMax - 1) / (8 * vMax)
        for i in components.indices {
            components[i].blocksPerLine = mcuColumns * components[i].h
            components[i].blockRows = mcuRows * components[i].v
            let count = components[i].blocksPerLine * components[i].blockRows * 64
            _ = try TensorAllocation.checkedBytes(.int32, count: count)
            components[i].coefficients = [Int32](repeating: 0, count: count)
        }
    }

    private mutating func huffmanTables(_ body: [UInt8]) throws {
        var at = 0
        while at < body.count {
            guard at + 17 <= body.count else { throw ImageError.corrupt }
            let (kind, index) = (Int(body[at] >> 4), Int(body[at] & 15))
            let total = body[(at + 1)..<(at + 17)].reduce(0) { $0 + Int($1) }
            guard kind <= 1, index < 4, at + 17 + total <= body.count else { throw ImageError.corrupt }
            let table = HuffmanTable(counts: body[(at + 1)..<(at + 17)], symbols: body[(at + 17)..<(at + 17 + total)])
            if kind == 0 { dcTables[index] = table } else { acTables[index] = table }
            at += 17 + total
        }
    }

    private mutating func quantizationTables(_ body: [UInt8]) throws {
        var at = 0
        while at < body.count {
            let (wide, index) = (body[at] >> 4 != 0, Int(body[at] & 15))
            guard index < 4, at + 1 + (wide ? 128 : 64) <= body.count else { throw ImageError.corrupt }
            var table = [Int32](repeating: 0, count: 64)
            for k in 0..<64 {
                table[Self.zigzag[k]] = wide ? Int32(body[at + 1 + 2 * k]) << 8 | Int32(body[at + 2 + 2 * k]) : Int32(body[at + 1 + k])
            }
            quantTables[index] = table
            at += 1 + (wide ? 128 : 64)
        }
    }

    private mutating func scan(_ body: [UInt8]) throws {
        let r = ByteReader(bytes: body, bigEndian: true)
        let count = try r.u8(0)
        var members: [(Int, HuffmanTable, HuffmanTable)] = []
        for i in 0..<count {
            let id = try r.u8(1 + 2 * i), tables = try r.u8(2 + 2 * i)
            guard let c = components.firstIndex(where: { $0.id == id }), let dc = dcTables[tables >> 4 & 3],
                  let ac = acTables[tables & 3], let quant = quantTables[components[c].table]
            else { throw ImageError.corrupt }
            if components[c].quantization == nil { components[c].quantization = quant }
            members.append((c, dc, ac))
        }
        guard !members.isEmpty else { throw ImageError.corrupt }
        let (hMax, vMax) = (components.map(\.h).max() ?? 1, components.map(\.v).max() ?? 1)
        let single = members.count == 1
        let first = components[members[0].0]
        let columns = single ? ((width * first.h + hMax - 1) / hMax + 7) / 8 : first.blocksPerLine / first.h
        let rows = single ? ((height * first.v + vMax - 1) / vMax + 7) / 8 : first.blockRows / first.v
        (bitBuffer, bitCount) = (0, 0)
        for i in components.indices { components[i].prediction = 0 }
        for mcu in 0..<(columns * rows) {
            if restartInterval > 0 && mcu > 0 && mcu % restartInterval == 0 { restart() }
            let (mcuX, mcuY) = (mcu % columns, mcu / columns)
            for (c, dc, ac) in members {
                let (h, v) = single ? (1, 1) : (components[c].h, components[c].v)
                for by in 0..<v {
                    for bx in 0..<h {
                        let block = (mcuY * v + by) * components[c].blocksPerLine + mcuX * h + bx
                        try decodeBlock(c, at: block * 64, dc, ac)
                    }
                }
            }
        }
    }

    private mutating func restart() {
        (bitBuffer, bitCount) = (0, 0)
        for i in components.indices { components[i].prediction = 0 }
        while position + 1 < bytes.count && !(bytes[position] == 0xFF && (0xD0...0xD7).contains(bytes[position + 1])) {
            position += 1
        }
        if position + 1 < bytes.count { position += 2 }
    }

    private mutating func decodeBlock(_ c: Int, at base: Int, _ dc: HuffmanTable, _ ac: HuffmanTable) throws {
        let size = try symbol(dc)
        components[c].prediction += try extend(try bits(size), size)
        components[c].coefficients[base] = Int32(truncatingIfNeeded: components[c].prediction)
        var k = 1
        while k < 64 {
            let rs = try symbol(ac)
            let (run, size) = (rs >> 4, rs & 15)
            if size == 0 {
                if run != 15 { break }
                k += 16
                continue
            }
            k += run
            let value = try extend(try bits(size), size)
            components[c].coefficients[base + Self.zigzag[min(k, 63)]] = Int32(value)
            k += 1
        }
    }

    private func extend(_ value: Int, _ size: Int) throws -> Int {
        guard size <= 16 else { throw ImageError.corrupt }
        return size == 0 || value >= 1 << (size - 1) ? value : value - (1 << size) + 1
    }

    private mutating func symbol(_ table: HuffmanTable) throws -> Int {
        var code = 0
        for length in 1...16 {
            code = code << 1 | (try bits(1))
            if code <= table.maxCode[length] {
                let index = table.firstIndex[length] + code - table.minCode[length]
                guard index < table.symbols.count else { throw ImageError.corrupt }
                return table.symbols[index]
            }
        }
        throw ImageError.corrupt
    }

    /// Entropy-coded bits; a marker ends the data and zeros follow (as libjpeg).
    private mutating func bits(_ count: Int) throws -> Int {
        while bitCount < count {
            var byte = 0
            if position < bytes.count {
                byte = Int(bytes[position])
                if byte == 0xFF {
                    let next = position + 1 < bytes.count ? bytes[position + 1] : 0xD9
                    if next == 0 { position += 2 } else { byte = 0 }
                } else {
                    position += 1
                }
            }
            bitBuffer = (bitBuffer << 8 | byte) & 0xFFFF_FFFF
            bitCount += 8
        }
        bitCount -= count
        return (bitBuffer >> bitCount) & ((1 << count) - 1)
    }
}
