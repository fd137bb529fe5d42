import Foundation

extension MediaProbe {
    /// The image scaled to cover `width`x`height` and cropped to exactly that size, as PNG
    /// (Sora takes a start image only at the video's pixel size).
    /// - Throws: `MediaProbeError.toolFailed` when ffmpeg cannot decode the image.
    public func fitImage(_ image: Data, width: Int, height: Int) async throws(MediaProbeError) -> Data {
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
            "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", input.path,
            "-vf", "scale=\(width):\(height):force_original_aspect_ratio=increase,crop=\(width):\(height)",
            "-frames:v", "1", "-f", "image2", "-c:v", "png", output.path,
        ])
        guard let data = try? Data(contentsOf: output), !data.isEmpty else {
            throw .toolFailed(tool: "ffmpeg", message: "no image was written")
        }
        return data
    }
}
