import Foundation

/// ImageDecoder (20): decodes a 1-D uint8 tensor holding an encoded image
/// into uint8 `[H, W, 3]` (RGB or BGR) or `[H, W, 1]` (Grayscale).
///
/// Decoders written here, without external libraries: BMP (uncompressed
/// 1/4/8/16/24/32-bit and bit-field masks), PNM (P1–P6), PNG (all bit depths
/// and color types, Adam7, own inflate), TIFF (uncompressed, PackBits, LZW,
/// Deflate; strips, 8-bit gray / RGB(A) / palette, 1-bit bilevel) and
/// baseline / extended-sequential Huffman JPEG, which reproduces
/// libjpeg-turbo's default output bit for bit (integer "islow" IDCT,
/// "fancy" triangle-filter chroma upsampling, fixed-point YCbCr→RGB).
///
/// Valid files of other kinds — WebP, JPEG 2000, progressive / lossless /
/// arithmetic-coded / CMYK JPEG, tiled or otherwise compressed TIFF, RLE
/// BMP — fail with an error naming the format. Data that is no recognized
/// image, or is corrupt, gives an empty `[0, 0, C]` tensor, as the spec
/// requires. Grayscale from color uses Pillow's weights
/// `(19595 R + 38470 G + 7471 B + 2^15) >> 16`; alpha is dropped; 16-bit
/// samples keep their high byte.
enum ImageDecoderOps {
    enum PixelFormat: String, Sendable { case rgb = "RGB", bgr = "BGR", grayscale = "Grayscale" }

    static func register(into registry: inout OpRegistry) {
        registry.register("ImageDecoder", since: 20) { context in
            let name = try context.string("pixel_format", default: "RGB")
            guard let format = PixelFormat(rawValue: name) else {
                throw OnyxError.invalidModel("pixel_format must be RGB, BGR or Grayscale, got \"\(name)\"")
            }
            return ClosureKernel { inputs, _ in
                let encoded = try inputs.tensor(0)
                guard encoded.elementType == .uint8, encoded.shape.count == 1 else {
                    throw OnyxError.wrongElementType("encoded_stream must be a 1-D uint8 tensor, got \(encoded)")
                }
                let bytes = encoded.withUnsafeBytes { Array($0) }
                return [.tensor(try decode(bytes, format: format))]
            }
        }
    }

    static func decode(_ bytes: [UInt8], format: PixelFormat) throws -> Tensor {
        let channels = format == .grayscale ? 1 : 3
        let image: DecodedImage
        do {
            image = try decodeAny(bytes)
        } catch ImageError.corrupt {
            return try Tensor.zeros(.uint8, [0, 0, channels])
        } catch ImageError.unsupported(let what) {
            throw OnyxError.unsupportedOperator("ImageDecoder cannot decode \(what)")
        }
        let pixels = image.width * image.height
        return try Tensor.make(UInt8.self, [image.height, image.width, channels]) { out in
            for p in 0..<pixels {
                if image.channels == 1 {
                    let v = image.samples[p]
                    for c in 0..<channels { out[p * channels + c] = v }
                    continue
                }
                let (r, g, b) = (image.samples[p * 3], image.samples[p * 3 + 1], image.samples[p * 3 + 2])
                switch format {
                case .rgb: (out[p * 3], out[p * 3 + 1], out[p * 3 + 2]) = (r, g, b)
                case .bgr: (out[p * 3], out[p * 3 + 1], out[p * 3 + 2]) = (b, g, r)
                case .grayscale:
                    let weighted = Int(r) * 19595 + Int(g) * 38470 + Int(b) * 7471
                    out[p] = UInt8((weighted + 0x8000) >> 16)
                }
            }
        }
    }

    static func decodeAny(_ bytes: [UInt8]) throws -> DecodedImage {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<(offset + prefix.count)]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) {
            var jpeg = JPEGDecoder(bytes)
            return try jpeg.decode()
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try PNGDecoder.decode(bytes) }
        if starts([0x42, 0x4D]) { return try decodeBMP(bytes) }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return try TIFFDecoder.decode(bytes) }
        if bytes.count >= 2, bytes[0] == 0x50, (0x31...0x36).contains(bytes[1]) { return try decodePNM(bytes) }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { throw ImageError.unsupported("WebP images") }
        if starts([0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) {
            throw ImageError.unsupported("JPEG 2000 images")
        }
        throw ImageError.corrupt
    }
}

enum ImageError: Error {
    /// A valid image of a kind these decoders do not implement.
    case unsupported(String)
    /// Not an image, or a damaged one.
    case corrupt
}

/// 8-bit samples, row-major, 1 (gray) or 3 (RGB) interleaved channels.
struct DecodedImage {
    let width: Int
    let height: Int
    let channels: Int
    var samples: [UInt8]

    init(width: Int, height: Int, channels: Int) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard width > 0, height > 0, !overflow, pixels <= 1 << 30 else { throw ImageError.corrupt }
        _ = try TensorAllocation.checkedBytes(.uint8, count: pixels * 4)
        self.width = width
        self.height = height
        self.channels = channels
        samples = [UInt8](repeating: 0, count: pixels * channels)
    }
}

/// Bounds-checked reads; any read past the end is `ImageError.corrupt`.
struct ByteReader {
    let bytes: [UInt8]
    var bigEndian = false

    func u8(_ at: Int) throws -> Int {
        guard at >= 0, at < bytes.count else { throw ImageError.corrupt }
        return Int(bytes[at])
    }

    func u16(_ at: Int) throws -> Int {
        let (a, b) = (try u8(at), try u8(at + 1))
        return bigEndian ? a << 8 | b : b << 8 | a
    }

    func u32(_ at: Int) throws -> Int {
        let (a, b) = (try u16(at), try u16(at + 2))
        return bigEndian ? a << 16 | b : b << 16 | a
    }

    func i32(_ at: Int) throws -> Int { Int(Int32(truncatingIfNeeded: try u32(at))) }

    func slice(_ at: Int, _ count: Int) throws -> ArraySlice<UInt8> {
        guard at >= 0, count >= 0, at <= bytes.count - count else { throw ImageError.corrupt }
        return bytes[at..<(at + count)]
    }
}
