import Foundation
import Testing
import VideogateDomain
import VideogateProviders

@Suite struct SandboxProviderTests {
    let submittedAt = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        (AspectRatio.landscape, 4, 1280, 720),
        (AspectRatio.portrait, 5, 720, 1280),
        (AspectRatio.square, 4, 720, 720),
    ])
    func rendersH264OfTheRequestedShapeAndDuration(aspectRatio: AspectRatio, duration: Int, width: Int, height: Int) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("video.mp4")
        let provider = SandboxProvider(delay: 0)
        try await provider.fetchResult(sandboxHandle(aspectRatio: aspectRatio, duration: duration), result: ProviderResult(), to: destination)

        let info = try await MediaProbe().inspect(destination)
        #expect(info.codec == "h264")
        #expect(info.width == width && info.height == height)
        #expect(abs(info.durationSeconds - Double(duration)) <= 0.1)
        #expect(info.sizeBytes > 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path)
        #expect(leftovers == ["video.mp4"])
    }

    @Test(arguments: [false, true])
    func promptWithQuotesColonsPercentBackslashesAndEmojiRenders(cached: Bool) async throws {
        // The directory name itself needs filter-graph escaping too.
        let scratch = try ScratchDirectory("it's a [test], 100%: ok; \\ dir")
        defer { scratch.remove() }
        let destination = scratch.file("odd 'name'.mp4")
        let prompt = #"She said "it's 100% done": C:\path\to\file, 50%% {x} %{pts} 'single' ;[brackets] 🎬🦊 ünïcødé 日本語のテキスト \n "#
            + String(repeating: "very long prompt words ", count: 300)
        let provider = SandboxProvider(delay: 0, shortSide: 240, clipCache: cached ? scratch.file("clip 'cache'") : nil)
        try await provider.fetchResult(sandboxHandle(prompt: prompt, aspectRatio: .portrait, duration: 4), result: ProviderResult(), to: destination)
        let info = try await MediaProbe().inspect(destination)
        #expect(info.codec == "h264")
        #expect(info.width == 240 && info.height == 426)
    }

    @Test func startImageBytesBecomeTheBackground() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let png = try await stillPNG(in: scratch, width: 300, height: 200)
        let image = ProviderImage.bytes(try Data(contentsOf: png), mediaType: "image/png")
        let destination = scratch.file("video.mp4")
        try await SandboxProvider(delay: 0, shortSide: 360).fetchResult(sandboxHandle(image: image), result: ProviderResult(), to: destination)
        let info = try await MediaProbe().inspect(destination)
        #expect(info.width == 640 && info.height == 360)
        #expect(abs(info.durationSeconds - 4) <= 0.1)
    }

    @Test(arguments: [Data("not an image at all".utf8), Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) + Data("broken".utf8)])
    func undecodableStartImageIsAFinalInvalidImage(bytes: Data) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("video.mp4")
        let image = ProviderImage.bytes(bytes, mediaType: "image/png")
        await #expect {
            try await SandboxProvider(delay: 0, shortSide: 144).fetchResult(sandboxHandle(image: image), result: ProviderResult(), to: destination)
        } throws: { error in
            guard case ProviderFailure.final(let failure) = error else { return false }
            return failure.code == .invalidImage
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
    }

    @Test func cachedClipVideoIsATitleCardThenTheTestPictureAndDecodesWhole() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let cache = scratch.file("clips")
        let provider = SandboxProvider(delay: 0, shortSide: 240, clipCache: cache)
        let destination = scratch.file("video.mp4")
        let poster = scratch.file("poster.jpg")
        let made = try await provider.fetchResult(
            sandboxHandle(aspectRatio: .portrait, duration: 5), result: ProviderResult(), to: destination, poster: poster, on: .sandbox)
        #expect(made)
        let info = try await MediaProbe().inspect(destination)
        #expect(info.codec == "h264" && info.width == 240 && info.height == 426)
        #expect(abs(info.durationSeconds - 5) <= 0.05)
        // Every frame decodes, the title card (one key frame) lasts 2 s, then 3 s of the cached picture at 24 fps.
        let decoded = try await ProcessRunner.run("ffmpeg", arguments: ["-v", "error", "-xerror", "-i", destination.path, "-f", "null", "-"], timeout: 60)
        #expect(decoded.succeeded && decoded.stderrText.isEmpty, "\(decoded.stderrText)")
        let packets = try await ProcessRunner.run(
            "ffprobe", arguments: ["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,duration_time,flags", "-of", "csv=p=0", destination.path],
            timeout: 60)
        let lines = String(decoding: packets.stdout, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 1 + 3 * SandboxProvider.frameRate)
        #expect(lines.first == "0.000000,2.000000,K__" || lines.first == "0.000000,2.000000,K_")
        // Joined in Swift: MP4Join writes no udta box (ffmpeg's muxer writes one naming itself).
        #expect(try Data(contentsOf: destination).range(of: Data("udta".utf8)) == nil)
        // The poster is the title card, a JPEG of the frame size.
        let posterSize = try await ProcessRunner.run(
            "ffprobe", arguments: ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", poster.path], timeout: 30)
        #expect(String(decoding: posterSize.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,240,426")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).sorted() == ["clips", "poster.jpg", "video.mp4"])

        // A second video of that shape and length reuses the clip: the cache still holds the one file, unchanged.
        let clips = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(clips.count == 1)
        let clip = cache.appendingPathComponent(clips[0])
        let before = try FileManager.default.attributesOfItem(atPath: clip.path)[.modificationDate] as? Date
        let second = scratch.file("second.mp4")
        let madeSecond = try await provider.fetchResult(
            sandboxHandle(prompt: "another prompt", aspectRatio: .portrait, duration: 5), result: ProviderResult(), to: second, poster: nil,
            on: .sandbox)
        #expect(!madeSecond)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path) == clips)
        #expect(try FileManager.default.attributesOfItem(atPath: clip.path)[.modificationDate] as? Date == before)
        // Different prompts give different title cards over the same picture.
        #expect(try Data(contentsOf: second) != Data(contentsOf: destination))
        #expect(abs(try await MediaProbe().inspect(second).durationSeconds - 5) <= 0.05)
    }

    /// The regression of issue 9: ffmpeg looped a pipe-demuxed PNG by re-reading it, and on a PNG with
    /// bytes after IEND its parser grew without end ("Failed to reallocate parser buffer") until the
    /// 280 s timeout. The still is now decoded once and repeated by the `loop` filter.
    @Test(arguments: [Data(), Data("trailing bytes after IEND".utf8)])
    func aOnePixelPNGRendersWithinSeconds(trailer: Data) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("video.mp4")
        let onePixel = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!
        let image = ProviderImage.bytes(onePixel + trailer, mediaType: "image/png")
        // Before the fix this render hung until its time limit and failed; now it takes about a second.
        let provider = SandboxProvider(delay: 0, shortSide: 360)
        try await provider.fetchResult(sandboxHandle(duration: 1, image: image), result: ProviderResult(), to: destination)
        let info = try await MediaProbe().inspect(destination)
        #expect(info.width == 640 && info.height == 360)
        #expect(abs(info.durationSeconds - 1) <= 0.1)
    }

    @Test(arguments: [true, false])
    func aHangingRenderEndsAtItsDurationBoundedTimeout(withImage: Bool) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let tools = try ScratchDirectory()
        defer { tools.remove() }
        let fakeFFmpeg = tools.file("ffmpeg")
        try Data("#!/bin/sh\nexec sleep 600\n".utf8).write(to: fakeFFmpeg)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fakeFFmpeg.path)
        let provider = SandboxProvider(delay: 0, shortSide: 144, ffmpegPath: fakeFFmpeg.path, renderMargin: 0)
        #expect(provider.renderTimeout(seconds: 1) == 5)
        #expect(SandboxProvider(delay: 0).renderTimeout(seconds: 8) == 70)
        let png = try Data(contentsOf: try await stillPNG(in: scratch, width: 320, height: 240))
        let handle = sandboxHandle(duration: 1, image: withImage ? .bytes(png, mediaType: "image/png") : nil)
        let started = ContinuousClock.now
        let failure: ProviderFailure?
        do {
            try await retryingTextFileBusy { () async throws(ProviderFailure) in
                try await provider.fetchResult(handle, result: ProviderResult(), to: scratch.file("video.mp4"))
            }
            failure = nil
        } catch {
            failure = error
        }
        // 5 s limit, 2 s until SIGKILL; generous for a loaded machine, far below the old 140 s for 1 s of video.
        #expect(ContinuousClock.now - started < .seconds(60))
        switch failure {
        case .final(let jobFailure)?: #expect(withImage && jobFailure.code == .invalidImage)
        case .retryable(let message, _)?: #expect(!withImage && message.contains("did not finish"))
        case .credentialRefused(let message)?: Issue.record("the sandbox has no credential to refuse: \(message)")
        case nil: Issue.record("a hanging ffmpeg produced a video")
        }
    }

    @Test(arguments: [false, true])
    func ffmpegFailureIsRetryableAndLeavesNoFile(cached: Bool) async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("video.mp4")
        let tools = try ScratchDirectory()
        defer { tools.remove() }
        // A stand-in ffmpeg that leaves a half-written output behind and fails.
        let fakeFFmpeg = tools.file("ffmpeg")
        try Data("#!/bin/sh\nfor last; do :; done\nprintf partial > \"$last\"\necho 'Error: encoder exploded' >&2\nexit 1\n".utf8)
            .write(to: fakeFFmpeg)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fakeFFmpeg.path)
        let cache = tools.file("clips")
        let provider = SandboxProvider(delay: 0, shortSide: 144, ffmpegPath: fakeFFmpeg.path, clipCache: cached ? cache : nil)
        await #expect {
            try await retryingTextFileBusy { () async throws(ProviderFailure) in
                try await provider.fetchResult(sandboxHandle(), result: ProviderResult(), to: destination)
            }
        } throws: { error in
            guard case ProviderFailure.retryable(let message, _) = error else { return false }
            return message.contains("ffmpeg exit 1") && message.contains("encoder exploded")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
        if cached { #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).isEmpty) }
    }

    @Test func pollIsRunningBeforeTheDelayAndSucceededAfter() async throws {
        let handle = sandboxHandle(submittedAt: submittedAt)
        let early = SandboxProvider(delay: 4, clock: FixedClock(instant: submittedAt.addingTimeInterval(1)))
        #expect(try await early.poll(handle) == .running(progress: 25))
        let late = SandboxProvider(delay: 4, clock: FixedClock(instant: submittedAt.addingTimeInterval(4)))
        #expect(try await late.poll(handle) == .succeeded(ProviderResult()))
        // No delay: done at once, even when the clock reads slightly before the submission.
        let immediate = SandboxProvider(delay: 0, clock: FixedClock(instant: submittedAt.addingTimeInterval(-1)))
        #expect(try await immediate.poll(handle) == .succeeded(ProviderResult()))
    }

    @Test(arguments: [
        ("please fail [sandbox:error] now", JobErrorCode.providerError),
        ("[sandbox:policy] something forbidden", JobErrorCode.contentPolicyViolation),
    ])
    func markersFailTheJob(prompt: String, code: JobErrorCode) async throws {
        let provider = SandboxProvider(delay: 2, clock: FixedClock(instant: submittedAt.addingTimeInterval(10)))
        let poll = try await provider.poll(sandboxHandle(prompt: prompt, submittedAt: submittedAt))
        guard case .failed(let failure) = poll else {
            Issue.record("expected a failure, got \(poll)")
            return
        }
        #expect(failure.code == code)
        #expect(!failure.message.isEmpty)
        let beforeDelay = SandboxProvider(delay: 2, clock: FixedClock(instant: submittedAt.addingTimeInterval(1)))
        #expect(try await beforeDelay.poll(sandboxHandle(prompt: prompt, submittedAt: submittedAt)) == .running(progress: 50))
    }

    @Test func submitIsDeterministic() async throws {
        let provider = SandboxProvider(delay: 1)
        let request = sandboxHandle().request
        let first = try await provider.submit(request)
        let second = try await provider.submit(request)
        #expect(first == second)
        #expect(first.providerJobID == "sbx_job_test")
        #expect(provider.kind == .sandbox)
        #expect(provider.schedule.firstPoll == 1)
        #expect(provider.schedule.delay(beforePoll: 1, jitter: 0) == 0.5)
        #expect(provider.schedule.delay(beforePoll: 10, jitter: 0) == 2)
    }

    @Test(arguments: [(720, 1280), (480, 854), (1080, 1920), (361, 640)])
    func frameSizesAreEvenAndProportional(shortSide: Int, longSide: Int) {
        #expect(SandboxProvider.frameSize(for: .landscape, shortSide: shortSide) == (longSide, shortSide / 2 * 2))
        #expect(SandboxProvider.frameSize(for: .portrait, shortSide: shortSide) == (shortSide / 2 * 2, longSide))
        #expect(SandboxProvider.frameSize(for: .square, shortSide: shortSide) == (shortSide / 2 * 2, shortSide / 2 * 2))
    }
}

/// A still PNG of the test picture, written by ffmpeg into `scratch`.
func stillPNG(in scratch: ScratchDirectory, width: Int, height: Int) async throws -> URL {
    let png = scratch.file("still-\(width)x\(height).png")
    let made = try await ProcessRunner.run(
        "ffmpeg", arguments: ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height)", "-frames:v", "1", png.path],
        timeout: 30)
    try #require(made.succeeded)
    return png
}

/// Runs a render with a just-written stand-in tool, again (at most 5 times) while spawning it fails with
/// ETXTBSY: a process forked by a parallel test can hold the script's write descriptor until it execs.
func retryingTextFileBusy(_ operation: () async throws(ProviderFailure) -> Void) async throws(ProviderFailure) {
    for attempt in 1...5 {
        do {
            return try await operation()
        } catch .retryable(let message, let after) where message.contains("Text file busy") {
            if attempt == 5 { throw .retryable(message, retryAfter: after) }
            try? await Task.sleep(for: .milliseconds(100 * attempt))
        }
    }
}
