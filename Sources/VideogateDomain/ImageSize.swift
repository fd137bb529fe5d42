import Foundation

/// The pixel size of a start image, read from its PNG, JPEG or WebP header (no decoding, no I/O).
public struct ImageSize: Sendable, Equatable, CustomStringConvertible {
    /// Width in pixels, as stored (EXIF orientation is not applied; the limits are symmetric, so it does not matter).
    public var width: Int
    /// Height in pixels, as stored.
    public var height: Int

    /// A size of `width` x `height` pixels.
    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    /// `WxH`, as messages show it.
    public var description: String { "\(width)x\(height)" }

    /// The size stated in the header of PNG, JPEG or WebP bytes, or nil when the header is missing,
    /// truncated or states a zero size.
    public static func read(_ data: Data) -> ImageSize? {
        let bytes = [UInt8](data.prefix(64 * 1024))
        let size: ImageSize?
        switch ImageInput.sniffMediaType(data) {
        case "image/png": size = png(bytes)
        case "image/jpeg": size = jpeg([UInt8](data))
        case "image/webp": size = webp(bytes)
        default: size = nil
        }
        guard let size, size.width > 0, size.height > 0 else { return nil }
        return size
    }

    /// PNG: the first chunk is IHDR, holding big-endian width and height.
    private static func png(_ bytes: [UInt8]) -> ImageSize? {
        guard bytes.count >= 24, bytes[12..<16] == [0x49, 0x48, 0x44, 0x52] else { return nil }
        return ImageSize(width: bigEndian(bytes, 16, 4), height: bigEndian(bytes, 20, 4))
    }

    /// JPEG: walks the marker segments to the first start-of-frame (SOF0–SOF15 but DHT, JPG and DAC).
    private static func jpeg(_ bytes: [UInt8]) -> ImageSize? {
        var index = 2
        while index + 3 < bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            let marker = bytes[index + 1]
            if marker == 0xFF {
                index += 1
                continue
            }
            // Markers without a length: TEM, RST0–7 (SOI and EOI cannot precede a frame header).
            if marker == 0x01 || (0xD0...0xD7).contains(marker) {
                index += 2
                continue
            }
            let length = bigEndian(bytes, index + 2, 2)
            guard length >= 2 else { return nil }
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                guard index + 9 <= bytes.count else { return nil }
                return ImageSize(width: bigEndian(bytes, index + 7, 2), height: bigEndian(bytes, index + 5, 2))
            }
            if marker == 0xDA || marker == 0xD9 { return nil }
            index += 2 + length
        }
        return nil
    }

    /// WebP: the first chunk is `VP8 ` (lossy), `VP8L` (lossless) or `VP8X` (extended, canvas size).
    private static func webp(_ bytes: [UInt8]) -> ImageSize? {
        guard bytes.count >= 30 else { return nil }
        switch String(decoding: bytes[12..<16], as: UTF8.self) {
        case "VP8 ":
            guard bytes[23..<26] == [0x9D, 0x01, 0x2A] else { return nil }
            return ImageSize(width: littleEndian(bytes, 26, 2) & 0x3FFF, height: littleEndian(bytes, 28, 2) & 0x3FFF)
        case "VP8L":
            guard bytes[20] == 0x2F else { return nil }
            let bits = littleEndian(bytes, 21, 4)
            return ImageSize(width: (bits & 0x3FFF) + 1, height: ((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            return ImageSize(width: littleEndian(bytes, 24, 3) + 1, height: littleEndian(bytes, 27, 3) + 1)
        default:
            return nil
        }
    }

    private static func bigEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> Int {
        bytes[offset..<offset + count].reduce(0) { $0 << 8 | Int($1) }
    }

    private static func littleEndian(_ bytes: [UInt8], _ offset: Int, _ count: Int) -> Int {
        bytes[offset..<offset + count].reversed().reduce(0) { $0 << 8 | Int($1) }
    }
}
