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
