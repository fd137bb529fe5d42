import Foundation
import Testing
import VideogateProviders

/// Files that come from outside (provider downloads, start images) are read by ffprobe and ffmpeg
/// with an explicit demuxer and the `file` protocol only: a playlist or a concat script from a
/// compromised CDN cannot make them open the local files or URLs it names.
@Suite struct MediaInputHardeningTests {
    /// A real MPEG-TS video on local disk, and a "video.mp4" that is an HLS playlist naming it.
    func playlistNamingALocalVideo(in scratch: ScratchDirectory) async throws -> (playlist: URL, segment: URL) {
        let segment = scratch.file("secret.ts")
        let made = try await ProcessRunner.run(
            "ffmpeg",
            arguments: ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=128x72:rate=10", "-t", "1", "-f", "mpegts", segment.path],
            timeout: 30)
        try #require(made.succeeded)
        let playlist = scratch.file("video.mp4")
        try Data("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://\(segment.path)\n#EXT-X-ENDLIST\n".utf8)
            .write(to: playlist)
        return (playlist, segment)
    }

    @Test func anHLSPlaylistNamingALocalFileIsNotAVideoAndNothingItNamesIsRead() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let (playlist, _) = try await playlistNamingALocalVideo(in: scratch)
        // Control: ffprobe left to guess the format follows the playlist into the local file and finds its video.
        let guessing = try await ProcessRunner.run(
            "ffprobe", arguments: ["-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", playlist.path], timeout: 30)
        #expect(String(decoding: guessing.stdout, as: UTF8.self).contains("video"))

        await #expect {
            try await MediaProbe().inspect(playlist)
        } throws: { error in
            guard case MediaProbeError.notAVideo = error else { return false }
            return true
        }
    }

    @Test func aPosterIsNotCutFromAPlaylistEvenWithAReportInHand() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let (playlist, _) = try await playlistNamingALocalVideo(in: scratch)
        let poster = scratch.file("poster.jpg")
        let claimed = MediaInfo(codec: "h264", width: 128, height: 72, durationSeconds: 1, sizeBytes: 100)
        await #expect(throws: MediaProbeError.self) {
            try await MediaProbe().makePoster(from: playlist, to: poster, at: 0.5, inspected: claimed)
        }
        #expect(!FileManager.default.fileExists(atPath: poster.path))
    }

    @Test func aConcatScriptBehindAnMP4BoxIsNotFollowed() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let (_, segment) = try await playlistNamingALocalVideo(in: scratch)
        // Starts like an MP4 (passes the box check), then is an ffconcat script naming the local video.
        let script = scratch.file("video.mp4")
        try Data([0, 0, 0, 8] + Array("free".utf8) + Array("\nffconcat version 1.0\nfile '\(segment.path)'\n".utf8)).write(to: script)
        await #expect(throws: MediaProbeError.self) { try await MediaProbe().inspect(script) }
    }

    @Test func aStartImageThatIsNotAnImageIsNotHandedToFFmpeg() async throws {
        let playlist = Data("#EXTM3U\n#EXTINF:1.0,\nfile:///etc/hostname\n".utf8)
        #expect(MediaProbe.imageDemuxer(for: playlist) == nil)
        await #expect {
            _ = try await MediaProbe(ffmpegPath: "/nonexistent/ffmpeg").fitImage(playlist, width: 64, height: 64)
        } throws: { error in
            guard case MediaProbeError.toolFailed(_, let message) = error else { return false }
            return message.contains("not a PNG")
        }
    }
}
