/// A DEFLATE (RFC 1951) decoder for PNG and TIFF payloads: stored, fixed
/// and dynamic Huffman blocks. Canonical codes are decoded length by
/// length from their counts. Output beyond `limit` bytes is an error,
/// which bounds the memory a crafted stream can claim.
struct Inflate {
    private let input: [UInt8]
    private var position: Int
    private var bitBuffer = 0
    private var bitCount = 0
    private var output: [UInt8] = []
    private let limit: Int

    /// Inflates a zlib stream (RFC 1950: 2-byte header, DEFLATE data; the
    /// Adler-32 trailer is not checked).
    static func zlib(_ bytes: [UInt8], limit: Int) throws -> [UInt8] {
        guard bytes.count >= 2, bytes[0] & 0x0F == 8, (Int(bytes[0]) << 8 | Int(bytes[1])) % 31 == 0,
              bytes[1] & 0x20 == 0
        else { throw ImageError.corrupt }
        var inflater = Inflate(input: bytes, position: 2, limit: limit)
        return try inflater.run()
    }

    private init(input: [UInt8], position: Int, limit: Int) {
        self.input = input
        self.position = position
        self.limit = limit
    }

    private struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: ArraySlice<Int>) throws {
            for length in lengths { counts[length] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for length in 1..<16 { offsets[length] = offsets[length - 1] + counts[length - 1] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, length) in zip(0..., lengths) where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
        }
    }

    private mutating func bits(_ count: Int) throws -> Int {
        while bitCount < count {
            guard position < input.count else { throw ImageError.corrupt }
            bitBuffer |= Int(input[position]) << bitCount
            position += 1
            bitCount += 8
        }
        let value = bitBuffer & ((1 << count) - 1)
        bitBuffer >>= count
        bitCount -= count
        return value
    }

    private mutating func decode(_ table: Huffman) throws -> Int {
        var code = 0, first = 0, index = 0
        for length in 1..<16 {
            code |= try bits(1)
            let count = table.counts[length]
            if code - count < first { return table.symbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw ImageError.corrupt
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
                                     99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5,
                                      5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11,
                                        11, 12, 12, 13, 13]

    private mutating func run() throws -> [UInt8] {
        var last = false
        while !last {
            last = try bits(1) == 1
            switch try bits(2) {
            case 0:
                (bitBuffer, bitCount) = (0, 0)
                guard position + 4 <= input.count else { throw ImageError.corrupt }
                let length = Int(input[position]) | Int(input[position + 1]) << 8
                let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
                guard length == ~complement & 0xFFFF, position + 4 + length <= input.count,
                      output.count + length <= limit
                else { throw ImageError.corrupt }
                output.append(contentsOf: input[(position + 4)..<(position + 4 + length)])
                position += 4 + length
            case 1:
                let lengths = [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112)
                    + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8)
                try block(try Huffman(lengths: lengths[...]), try Huffman(lengths: [Int](repeating: 5, count: 30)[...]))
            case 2:
                let literals = try bits(5) + 257, distances = try bits(5) + 1, codeLengths = try bits(4) + 4
                var lengthLengths = [Int](repeating: 0, count: 19)
                for i in 0..<codeLengths {
                    lengthLengths[[16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15][i]] = try bits(3)
                }
                let lengthCode = try Huffman(lengths: lengthLengths[...])
                var lengths: [Int] = []
                while lengths.count < literals + distances {
                    let symbol = try decode(lengthCode)
                    switch symbol {
                    case 0..<16: lengths.append(symbol)
                    case 16:
                        guard let previous = lengths.last else { throw ImageError.corrupt }
                        lengths += [Int](repeating: previous, count: 3 + (try bits(2)))
                    case 17: lengths += [Int](repeating: 0, count: 3 + (try bits(3)))
                    default: lengths += [Int](repeating: 0, count: 11 + (try bits(7)))
                    }
                }
                guard lengths.count == literals + distances else { throw ImageError.corrupt }
                try block(try Huffman(lengths: lengths[..<literals]), try Huffman(lengths: lengths[literals...]))
            default:
                throw ImageError.corrupt
            }
        }
        return output
    }

    private mutating func block(_ literal: Huffman, _ distance: Huffman) throws {
        while true {
            let symbol = try decode(literal)
            if symbol < 256 {
                guard output.count < limit else { throw ImageError.corrupt }
                output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let index = symbol - 257
            guard index < 29 else { throw ImageError.corrupt }
            let length = Self.lengthBase[index] + (try bits(Self.lengthExtra[index]))
            let code = try decode(distance)
            guard code < 30 else { throw ImageError.corrupt }
            let back = Self.distanceBase[code] + (try bits(Self.distanceExtra[code]))
            guard back <= output.count, output.count + length <= limit else { throw ImageError.corrupt }
            let start = output.count - back
            for k in 0..<length { output.append(output[start + k]) }
        }
    }
}
