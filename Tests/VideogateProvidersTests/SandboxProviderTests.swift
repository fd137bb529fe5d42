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

    @Test func promptWithQuotesColonsPercentBackslashesAndEmojiRenders() async throws {
        // The directory name itself needs filter-graph escaping too.
        let scratch = try ScratchDirectory("it's a [test], 100%: ok; \\ dir")
        defer { scratch.remove() }
        let destination = scratch.file("odd 'name'.mp4")
        let prompt = #"She said "it's 100% done": C:\path\to\file, 50%% {x} %{pts} 'single' ;[brackets] 🎬🦊 ünïcødé 日本語のテキスト \n "#
            + String(repeating: "very long prompt words ", count: 300)
        let provider = SandboxProvider(delay: 0, shortSide: 240)
        try await provider.fetchResult(sandboxHandle(prompt: prompt, aspectRatio: .portrait, duration: 4), result: ProviderResult(), to: destination)
        let info = try await MediaProbe().inspect(destination)
        #expect(info.codec == "h264")
        #expect(info.width == 240 && info.height == 426)
    }

    @Test func startImageBytesBecomeTheBackground() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let png = scratch.file("start.png")
        let made = try await ProcessRunner.run(
            "ffmpeg", arguments: ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=300x200", "-frames:v", "1", png.path],
            timeout: 30)
        try #require(made.succeeded)
        let image = ProviderImage.bytes(try Data(contentsOf: png), mediaType: "image/png")
        let destination = scratch.file("video.mp4")
        try await SandboxProvider(delay: 0, shortSide: 360).fetchResult(sandboxHandle(image: image), result: ProviderResult(), to: destination)
        let info = try await MediaProbe().inspect(destination)
        #expect(info.width == 640 && info.height == 360)
        #expect(abs(info.durationSeconds - 4) <= 0.1)
    }

    @Test func undecodableStartImageFallsBackToTheTestPicture() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("video.mp4")
        let image = ProviderImage.bytes(Data("not an image at all".utf8), mediaType: "image/png")
        try await SandboxProvider(delay: 0, shortSide: 144).fetchResult(sandboxHandle(image: image), result: ProviderResult(), to: destination)
        #expect(try await MediaProbe().inspect(destination).codec == "h264")
    }

    @Test func ffmpegFailureIsRetryableAndLeavesNoFile() async throws {
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
        let provider = SandboxProvider(delay: 0, shortSide: 144, ffmpegPath: fakeFFmpeg.path)
        await #expect {
            try await provider.fetchResult(sandboxHandle(), result: ProviderResult(), to: destination)
        } throws: { error in
            guard case ProviderFailure.retryable(let message, _) = error else { return false }
            return message.contains("ffmpeg exit 1") && message.contains("encoder exploded")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
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
