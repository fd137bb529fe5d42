import Foundation
import VideogateDomain

extension MediaProbe {
    /// The ffmpeg pipe demuxer for image bytes of the sniffed type (`png_pipe`, `jpeg_pipe`,
    /// `webp_pipe`); nil when they are not PNG, JPEG or WebP. Naming it keeps ffmpeg from guessing a
    /// format (a playlist, a concat script) from content or name.
    public static func imageDemuxer(for data: Data) -> String? {
        switch ImageInput.sniffMediaType(data) {
        case "image/png": "png_pipe"
        case "image/jpeg": "jpeg_pipe"
        case "image/webp": "webp_pipe"
        default: nil
        }
    }

    /// The image scaled to cover `width`x`height` and cropped to exactly that size, as PNG
    /// (Sora takes a start image only at the video's pixel size).
    /// The image is read with the pipe demuxer of its sniffed type and the `file` protocol only.
    /// - Throws: `MediaProbeError.toolFailed` when the bytes are not PNG, JPEG or WebP or ffmpeg cannot decode them.
    public func fitImage(_ image: Data, width: Int, height: Int) async throws(MediaProbeError) -> Data {
        guard let demuxer = Self.imageDemuxer(for: image) else {
            throw .toolFailed(tool: "ffmpeg", message: "the image is not a PNG, JPEG or WebP file")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-image-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("input")
        let output = directory.appendingPathComponent("fitted.png")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try image.write(to: input)
        } catch {
            throw .toolFailed(tool: "ffmpeg", message: "could not write the image to scratch space: \(error)")
        }
        _ = try await runTool(ffmpegPath, [
            "-nostdin", "-hide_banner", "-v", "error", "-y", "-protocol_whitelist", "file", "-f", demuxer, "-i", "file:" + input.path,
            "-vf", "scale=\(width):\(height):force_original_aspect_ratio=increase,crop=\(width):\(height)",
            "-frames:v", "1", "-f", "image2", "-c:v", "png", output.path,
        ])
        guard let data = try? Data(contentsOf: output), !data.isEmpty else {
            throw .toolFailed(tool: "ffmpeg", message: "no image was written")
        }
        return data
    }
}
