import Foundation
import Testing

@testable import VideogateProviders

/// Joining MP4 parts in Swift: the result must decode whole in ffmpeg, with every sample in place.
@Suite struct MP4JoinTests {
    private func encode(_ file: URL, frames: Int, start: Int = 0, size: String = "160x90", extra: [String] = [], joinable: Bool = true)
        async throws
    {
        let encoding = joinable ? SandboxProvider.joinableEncoding(singleThreaded: frames == 1) : ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
        let made = try await ProcessRunner.run(
            "ffmpeg",
            arguments: ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=24:duration=\(Double(start + frames) / 24 + 1)",
                "-vf", "trim=start_frame=\(start),setpts=PTS-STARTPTS", "-frames:v", "\(frames)", "-an"] + encoding + extra + [file.path],
            timeout: 60)
        try #require(made.succeeded, "\(made.stderrText)")
    }

    private func packets(_ file: URL) async throws -> [Substring] {
        let listed = try await ProcessRunner.run(
            "ffprobe",
            arguments: ["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,duration_time,flags", "-of", "csv=p=0", file.path],
            timeout: 60)
        try #require(listed.succeeded)
        return String(decoding: listed.stdout, as: UTF8.self).split(separator: "\n")
    }

    @Test(arguments: [["-movflags", "+faststart"], []])
    func aOneFrameCardAndAClipJoinIntoOneDecodableVideo(movflags: [String]) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let card = scratch.file("card.mp4")
        let clip = scratch.file("clip.mp4")
        let joined = scratch.file("joined.mp4")
        try await encode(card, frames: 1, extra: movflags)
        try await encode(clip, frames: 72, start: 48, extra: movflags)
        try MP4Join.join([.init(file: card, lastSampleSeconds: 2), .init(file: clip)], to: joined)

        let decoded = try await ProcessRunner.run("ffmpeg", arguments: ["-v", "error", "-xerror", "-i", joined.path, "-f", "null", "-"], timeout: 60)
        #expect(decoded.succeeded && decoded.stderrText.isEmpty, "\(decoded.stderrText)")
        let lines = try await packets(joined)
        #expect(lines.count == 73)
        #expect(lines.first?.hasPrefix("0.000000,2.000000,K") == true)
        #expect(lines.dropFirst().first?.hasPrefix("2.000000,0.041667,K") == true)
        // Key frames stay where the clip had them: every 24 frames.
        #expect(lines.filter { $0.hasSuffix("K__") || $0.hasSuffix("K_") }.count == 1 + 3)
        let info = try await MediaProbe().inspect(joined)
        #expect(info.codec == "h264" && info.width == 160 && info.height == 90)
        #expect(abs(info.durationSeconds - 5) < 0.01)
        // The samples are the parts' own bytes: the joined file is the parts' sample data plus a small header.
        let partBytes = try MP4Join.samples(of: card).sizes.reduce(0) { $0 + Int($1) } + MP4Join.samples(of: clip).sizes.reduce(0) { $0 + Int($1) }
        let joinedSize = try FileManager.default.attributesOfItem(atPath: joined.path)[.size] as? Int ?? 0
        #expect(joinedSize > partBytes && joinedSize < partBytes + 4_096)
        // moov before mdat: playback can start while downloading.
        let head = try Data(contentsOf: joined).prefix(64)
        #expect(head.range(of: Data("moov".utf8)) != nil)
    }

    @Test func partsOfDifferentSizesAreRefused() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let small = scratch.file("small.mp4")
        let large = scratch.file("large.mp4")
        try await encode(small, frames: 2)
        try await encode(large, frames: 2, size: "320x180")
        #expect(throws: MP4Join.JoinError.incompatible("the sample entries (codec settings) differ")) {
            try MP4Join.join([.init(file: small), .init(file: large)], to: scratch.file("joined.mp4"))
        }
    }

    @Test func partsWithBFramesAreRefused() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let reordered = scratch.file("reordered.mp4")
        try await encode(reordered, frames: 48, joinable: false)
        #expect(throws: MP4Join.JoinError.incompatible("composition offsets (B-frames)")) {
            try MP4Join.join([.init(file: reordered), .init(file: reordered)], to: scratch.file("joined.mp4"))
        }
    }

    @Test func aPartThatIsNotAnMP4IsUnreadable() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let text = scratch.file("text.mp4")
        try Data("not a movie".utf8).write(to: text)
        #expect {
            try MP4Join.join([.init(file: text)], to: scratch.file("joined.mp4"))
        } throws: { error in
            guard case MP4Join.JoinError.unreadable = error else { return false }
            return true
        }
    }
}
