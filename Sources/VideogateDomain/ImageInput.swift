import Foundation

/// A start image as the client gave it: a URL the server may fetch later, or bytes checked by content.
public enum ImageInput: Sendable, Equatable {
    case url(String)
    case bytes(Data, mediaType: String)

    /// Largest decoded image accepted.
    public static let maxBytes = 10 * 1024 * 1024
    /// Longest accepted image URL.
    public static let maxURLLength = 2048

    /// Parses the `image` field: an `https://` URL, or base64 bytes (optionally behind a
    /// `data:image/...;base64,` prefix) that decode to a PNG, JPEG or WebP of at most 10 MiB.
    public static func parse(_ value: String, policy: OutboundPolicy) throws(GatewayError) -> ImageInput {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        let lower = trimmed.prefix(8).lowercased()
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
            guard trimmed.utf8.count <= maxURLLength else {
                throw GatewayError(.invalidImage, "The image URL is longer than \(maxURLLength) characters.", param: "image")
            }
            do {
                try policy.checkURL(trimmed)
            } catch {
                throw GatewayError(.invalidImage, "The image URL is not allowed: \(error.reason)", param: "image")
            }
            return .url(trimmed)
        }
        var payload = Substring(trimmed)
        if payload.hasPrefix("data:") {
            guard let comma = payload.firstIndex(of: ","), payload[..<comma].lowercased().hasSuffix(";base64"),
                payload[..<comma].lowercased().hasPrefix("data:image/")
            else {
                throw GatewayError(.invalidImage, "A data URL image must be of the form data:image/...;base64,<bytes>.", param: "image")
            }
            payload = payload[payload.index(after: comma)...]
        }
        // 4 base64 characters carry 3 bytes: refuse oversize input before decoding it.
        guard payload.utf8.count <= (maxBytes / 3 + 1) * 4 + 4096 else {
            throw GatewayError(.invalidImage, "The image is larger than 10 MiB.", param: "image")
        }
        let compact = payload.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: String(compact)), !data.isEmpty else {
            throw GatewayError(
                .invalidImage, "The image must be an https:// URL or base64-encoded PNG, JPEG or WebP bytes.", param: "image")
        }
        guard data.count <= maxBytes else {
            throw GatewayError(.invalidImage, "The image is larger than 10 MiB.", param: "image")
        }
        guard let mediaType = sniffMediaType(data) else {
            throw GatewayError(.invalidImage, "The image is not a PNG, JPEG or WebP file.", param: "image")
        }
        return .bytes(data, mediaType: mediaType)
    }

    /// The media type of image bytes by their signature, or nil when they are not PNG, JPEG or WebP.
    public static func sniffMediaType(_ data: Data) -> String? {
        let bytes = [UInt8](data.prefix(12))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.count >= 12, bytes[0..<4] == [0x52, 0x49, 0x46, 0x46], bytes[8..<12] == [0x57, 0x45, 0x42, 0x50] {
            return "image/webp"
        }
        return nil
    }
}
