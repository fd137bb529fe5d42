import Foundation
import Testing

@testable import VideogateProviders

/// The MP4 box reader against ffmpeg's own files: what it reads must be what ffprobe reports, and
/// whatever it cannot be sure of must go to ffprobe.
@Suite struct MP4MovieTests {
    /// Makes a video with ffmpeg from a lavfi source; `extra` are output options.
    private func makeVideo(_ file: URL, size: String = "320x180", seconds: Double = 2, codec: String = "libx264", extra: [String] = [])
        async throws
    {
        let made = try await ProcessRunner.run(
            "ffmpeg",
            arguments: ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(size):rate=24:duration=\(seconds)",
                "-c:v", codec, "-pix_fmt", "yuv420p"] + extra + [file.path],
            timeout: 60)
        try #require(made.succeeded, "\(made.stderrText)")
    }

    private func ffprobeInfo(_ file: URL) async throws -> MediaInfo {
        try await MediaProbe().inspectWithFFprobe(file)
    }

    @Test(arguments: [
        ["-movflags", "+faststart"],  // moov before mdat
        [],  // moov after mdat: found by walking the top-level boxes
    ])
    func boxesGiveWhatFFprobeReports(movflags: [String]) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let video = scratch.file("video.mp4")
        try await makeVideo(video, size: "176x320", seconds: 2.5, extra: movflags)
        let movie = try MP4Movie.read(video)
        guard case .video(let boxes) = MediaProbe.mediaInfo(of: movie) else {
            Issue.record("the boxes left the file undecided: \(movie)")
            return
        }
        let reference = try await ffprobeInfo(video)
        #expect(boxes.codec == reference.codec)
        #expect(boxes.width == 176 && boxes.height == 320)
        #expect(boxes.width == reference.width && boxes.height == reference.height)
        #expect(abs(boxes.durationSeconds - reference.durationSeconds) < 0.05)
        #expect(boxes.sizeBytes == reference.sizeBytes)
        #expect(try await MediaProbe().inspect(video) == boxes)
    }

    @Test func hevcIsNamedLikeFFprobe() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let video = scratch.file("video.mp4")
        try await makeVideo(video, seconds: 1, codec: "libx265", extra: ["-tag:v", "hvc1", "-x265-params", "log-level=error"])
        guard case .video(let boxes) = MediaProbe.mediaInfo(of: try MP4Movie.read(video)) else {
            Issue.record("the boxes left an HEVC file undecided")
            return
        }
        #expect(boxes.codec == "hevc")
        #expect(boxes.codec == (try await ffprobeInfo(video)).codec)
    }

    @Test func fragmentedFileGoesToFFprobe() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let video = scratch.file("video.mp4")
        try await makeVideo(video, extra: ["-movflags", "frag_keyframe+empty_moov"])
        let movie = try MP4Movie.read(video)
        #expect(movie.fragmented)
        #expect(MediaProbe.mediaInfo(of: movie) == .undecided)
        let info = try await MediaProbe().inspect(video)
        #expect(info.codec == "h264" && info.width == 320 && info.height == 180)
        #expect(abs(info.durationSeconds - 2) < 0.1)
    }

    @Test func audioOnlyFileIsNotAVideo() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let audio = scratch.file("audio.mp4")
        let made = try await ProcessRunner.run(
            "ffmpeg", arguments: ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio.path],
            timeout: 60)
        try #require(made.succeeded)
        #expect(MediaProbe.mediaInfo(of: try MP4Movie.read(audio)) == .noVideo)
        await #expect {
            try await MediaProbe().inspect(audio)
        } throws: { error in
            guard case MediaProbeError.notAVideo = error else { return false }
            return true
        }
    }

    @Test func fileCutShortIsNotTrustedToTheBoxes() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let video = scratch.file("video.mp4")
        try await makeVideo(video, extra: ["-movflags", "+faststart"])
        let whole = try Data(contentsOf: video)
        // The moov stays whole, the sample data is cut: the last box now claims more than the file holds.
        try whole.prefix(whole.count / 2).write(to: video)
        #expect(throws: MP4Movie.ReadError.self) { try MP4Movie.read(video) }
    }

    @Test func chunksPastTheEndLeaveTheFileUndecided() throws {
        let movie = MP4Movie(
            timescale: 1000, duration: 2000, fragmented: false,
            tracks: [.init(handler: "vide", sampleEntry: "avc1", width: 64, height: 64, timescale: 24, duration: 48, sampleCount: 48,
                lastChunkOffset: 10_000)],
            fileSize: 9_000)
        #expect(MediaProbe.mediaInfo(of: movie) == .undecided)
        var whole = movie
        whole.fileSize = 20_000
        #expect(MediaProbe.mediaInfo(of: whole) == .video(MediaInfo(codec: "h264", width: 64, height: 64, durationSeconds: 2, sizeBytes: 20_000)))
        var unknown = whole
        unknown.tracks[0].sampleEntry = "mp4v"
        #expect(MediaProbe.mediaInfo(of: unknown) == .undecided)
        var empty = whole
        empty.tracks[0].sampleCount = 0
        #expect(MediaProbe.mediaInfo(of: empty) == .undecided)
    }

    @Test func versionOneHeadersAndLargeSizesAreRead() throws {
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(UInt32(body.count + 8)) + Array(type.utf8) + body }
        func largeBox(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(1) + Array(type.utf8) + be64(UInt64(body.count + 16)) + body }
        // mvhd version 1: version+flags, creation(8), modification(8), timescale, duration(8), rest ignored.
        let mvhd = box("mvhd", [1, 0, 0, 0] + be64(0) + be64(0) + be32(90_000) + be64(450_000) + [UInt8](repeating: 0, count: 80))
        let movie = try MP4Movie.parse(movie: largeBox("free", [1, 2, 3]) + mvhd, fileSize: 100)
        #expect(movie.timescale == 90_000 && movie.duration == 450_000)
        #expect(movie.durationSeconds == 5)
        #expect(movie.tracks.isEmpty)
        // A child that claims more bytes than its parent holds is refused.
        #expect(throws: MP4Movie.ReadError.self) { try MP4Movie.parse(movie: be32(64) + Array("trak".utf8) + [0, 0], fileSize: 100) }
    }

    private func be32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
    private func be64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) } }
}
