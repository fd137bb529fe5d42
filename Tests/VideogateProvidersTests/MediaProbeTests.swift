import Foundation
import Testing
import VideogateProviders

@Suite struct MediaProbeTests {
    @Test func posterIsAJPEGOfTheVideoSize() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let video = scratch.file("video.mp4")
        try await SandboxProvider(delay: 0, shortSide: 240).fetchResult(sandboxHandle(aspectRatio: .portrait, duration: 4), result: ProviderResult(), to: video)
        let probe = MediaProbe()
        let poster = scratch.file("poster.jpg")
        // Past the end: the seek is clamped inside the video.
        try await probe.makePoster(from: video, to: poster, at: 60)
        let bytes = try Data(contentsOf: poster)
        #expect(Array(bytes.prefix(3)) == [0xFF, 0xD8, 0xFF])
        let size = try await probe.inspect(video)
        let posterInfo = try await ProcessRunner.run(
            "ffprobe", arguments: ["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", poster.path], timeout: 30)
        #expect(posterInfo.succeeded)
        #expect(String(decoding: posterInfo.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "\(size.width),\(size.height)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).sorted() == ["poster.jpg", "video.mp4"])
    }

    /// A stand-in ffmpeg that counts its runs, then runs the real one.
    private func countingFFmpeg(in scratch: ScratchDirectory) throws -> (tool: URL, runs: URL) {
        let runs = scratch.file("runs.txt")
        let tool = scratch.file("ffmpeg-counting")
        try Data("#!/bin/sh\necho run >> '\(runs.path)'\nexec ffmpeg \"$@\"\n".utf8).write(to: tool)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        return (tool, runs)
    }

    @Test(arguments: [0.5, 1.0, 3.5])
    func aPosterIsOneFFmpegRunWhereverTheKeyFramesAre(at seconds: Double) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        // One key frame only (at 0), as short provider clips often have.
        let video = scratch.file("video.mp4")
        let made = try await ProcessRunner.run(
            "ffmpeg", arguments: ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=128x72:rate=10", "-t", "4",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "250", video.path], timeout: 60)
        try #require(made.succeeded)
        let (tool, runs) = try countingFFmpeg(in: scratch)
        let poster = scratch.file("poster.jpg")
        try await retryingTextFileBusy { () async throws(ProviderFailure) in
            do {
                try await MediaProbe(ffmpegPath: tool.path).makePoster(from: video, to: poster, at: seconds)
            } catch {
                throw .retryable("\(error)", retryAfter: nil)
            }
        }
        #expect(Array(try Data(contentsOf: poster).prefix(3)) == [0xFF, 0xD8, 0xFF])
        // No second run from the first frame: the seek found a frame.
        #expect(try String(contentsOf: runs, encoding: .utf8).split(separator: "\n").count == 1)
    }

    @Test func inspectOfATextFileThrows() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let file = scratch.file("notes.mp4")
        try Data("this is not a video".utf8).write(to: file)
        await #expect(throws: MediaProbeError.self) { try await MediaProbe().inspect(file) }
    }

    @Test func inspectOfAStillImageThrowsNotAVideo() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let png = scratch.file("still.png")
        let made = try await ProcessRunner.run(
            "ffmpeg", arguments: ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", png.path],
            timeout: 30)
        try #require(made.succeeded)
        await #expect {
            try await MediaProbe().inspect(png)
        } throws: { error in
            guard case MediaProbeError.notAVideo = error else { return false }
            return true
        }
    }

    @Test func inspectOfAMissingFileThrows() async {
        await #expect(throws: MediaProbeError.self) {
            try await MediaProbe().inspect(URL(fileURLWithPath: "/nonexistent/video.mp4"))
        }
    }

    @Test func missingToolIsReportedAsToolFailed() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        // An MP4's first box, so that the file passes the container check and the tool is needed.
        let video = scratch.file("video.mp4")
        try Data([0, 0, 0, 0x18] + Array("ftypisom".utf8)).write(to: video)
        let probe = MediaProbe(ffprobePath: "/nonexistent/ffprobe")
        await #expect {
            try await probe.inspect(video)
        } throws: { error in
            guard case MediaProbeError.toolFailed(let tool, _) = error else { return false }
            return tool == "ffprobe"
        }
    }
}
