import Foundation
import VideogateDomain

/// The renderer of `test` keys: answers after `delay` and renders, locally with ffmpeg, a real H.264
/// MP4 of the requested duration and aspect ratio (a moving test picture, or the start image, with
/// the prompt written on it). A prompt containing `[sandbox:error]` fails with `provider_error`, one
/// containing `[sandbox:policy]` with `content_policy_violation`.
public struct SandboxProvider: VideoProvider {
    /// Frames per second of rendered videos.
    public static let frameRate = 24
    /// Marker that makes a job fail with `provider_error`.
    public static let errorMarker = "[sandbox:error]"
    /// Marker that makes a job fail with `content_policy_violation`.
    public static let policyMarker = "[sandbox:policy]"

    /// Always `.sandbox`.
    public let kind = ProviderKind.sandbox
    /// Seconds between submission and the job being done.
    public let delay: TimeInterval
    /// The short side of rendered frames in pixels (even).
    public let shortSide: Int
    /// ffmpeg: a path, or a name looked up on `PATH`.
    public let ffmpegPath: String
    /// Font for the prompt; nil lets fontconfig choose a sans-serif face.
    public let fontFile: String?
    /// Seconds a render may take beyond 5 s per second of video (see `renderTimeout(seconds:)`).
    public let renderMargin: TimeInterval
    /// Where the moving test picture is kept once rendered, one file per frame size, start and
    /// length; nil renders every video whole.
    public let clipCache: URL?
    private let clock: any WallClock

    /// - Parameters:
    ///   - delay: seconds from submission to success (`VIDEOGATE_SANDBOX_DELAY_MS` / 1000).
    ///   - shortSide: frame short side, made even and clamped to 16...4320; 720 gives 1280x720, 720x1280 and 720x720.
    ///   - fontFile: defaults to DejaVu Sans (Debian `fonts-dejavu-core`) when installed, else fontconfig's "Sans".
    ///   - renderMargin: the fixed part of a render's time limit (30 s; tests shorten it).
    ///   - clipCache: a directory of ours for the rendered test pictures (created when first used).
    public init(
        delay: TimeInterval, shortSide: Int = 720, ffmpegPath: String = "ffmpeg", fontFile: String? = SandboxProvider.defaultFontFile,
        renderMargin: TimeInterval = 30, clipCache: URL? = nil, clock: any WallClock = SystemWallClock()
    ) {
        self.delay = max(0, delay.isFinite ? delay : 0)
        self.shortSide = max(16, min(4320, shortSide)) / 2 * 2
        self.ffmpegPath = ffmpegPath
        self.fontFile = fontFile
        self.renderMargin = max(0, renderMargin)
        self.clipCache = clipCache
        self.clock = clock
    }

    /// DejaVu Sans at its Debian path when present.
    public static var defaultFontFile: String? {
        let path = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// First poll when the render is due, then every 0.5 s growing to 2 s.
    public var schedule: PollSchedule { PollSchedule(firstPoll: delay, interval: 0.5, maxInterval: 2) }

    /// Frame size for an aspect ratio: the short side is `shortSide`, the long side scaled to the ratio
    /// and rounded to an even number (16:9 at 720 gives 1280x720).
    public static func frameSize(for aspectRatio: AspectRatio, shortSide: Int) -> (width: Int, height: Int) {
        let short = max(2, shortSide / 2 * 2)
        let long = Int((Double(short) * 16 / 9 / 2).rounded()) * 2
        switch aspectRatio {
        case .landscape: return (long, short)
        case .portrait: return (short, long)
        case .square: return (short, short)
        }
    }

    /// Accepts every job under the id `sbx_<jobID>`; calling it again for a job gives the same id.
    public func submit(_ request: ProviderRequest, on credential: ProviderCredential = .sandbox) async throws(ProviderFailure) -> ProviderSubmission {
        ProviderSubmission(providerJobID: "sbx_" + request.jobID)
    }

    /// Running (progress by elapsed time) until `delay` after submission, then the outcome the prompt's markers ask for.
    public func poll(_ handle: ProviderHandle, on credential: ProviderCredential = .sandbox) async throws(ProviderFailure) -> ProviderPoll {
        let elapsed = clock.now().timeIntervalSince(handle.submittedAt)
        if delay > 0, elapsed < delay {
            return .running(progress: min(99, max(0, Int(elapsed / delay * 100))))
        }
        let prompt = handle.request.prompt.lowercased()
        if prompt.contains(Self.policyMarker) {
            return .failed(JobFailure(.contentPolicyViolation, "The sandbox refused the prompt as asked by \(Self.policyMarker)."))
        }
        if prompt.contains(Self.errorMarker) {
            return .failed(JobFailure(.providerError, "The sandbox failed the job as asked by \(Self.errorMarker)."))
        }
        return .succeeded(ProviderResult())
    }

    /// Longest time one render may take: `renderMargin` plus 5 s per second of video (70 s for 8 s
    /// by default, where 280 s was once allowed). A normal 8 s render takes one to two seconds on one core.
    public func renderTimeout(seconds: Int) -> TimeInterval { renderMargin + 5 * Double(max(1, seconds)) }

    /// Renders the video; see `fetchResult(_:result:to:poster:on:)`.
    public func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential = .sandbox) async throws(ProviderFailure) {
        _ = try await fetchResult(handle, result: result, to: destination, poster: nil, on: credential)
    }

    /// Renders the video into a temporary file beside `destination`, then renames it into place.
    ///
    /// Without a start image, and with a `clipCache`, the video is a title card and the cached test
    /// picture: one ffmpeg run encodes a single key frame (the test picture's first frame with the
    /// prompt on it, shown for `captionSeconds`) and writes the poster from the same frame; then
    /// `MP4Join` copies it and the cached clip's samples into one MP4 without re-encoding. Both parts come from the same encoder settings
    /// (`stitchable`, a key frame every second, no B-frames), so the joined stream decodes as one.
    /// The clip itself is rendered once per frame size and length.
    ///
    /// A start image given as bytes becomes the background of a whole render (nothing to cache),
    /// read with the demuxer of its sniffed type.
    /// - Returns: true when a poster was written to `poster`.
    /// - Throws: `ProviderFailure.final` `invalid_image` when ffmpeg fails or times out on the start
    ///   image (the same input would fail again); `ProviderFailure.retryable` with ffmpeg's error
    ///   output when the test picture fails to render.
    public func fetchResult(
        _ handle: ProviderHandle, result: ProviderResult, to destination: URL, poster: URL?, on credential: ProviderCredential = .sandbox
    ) async throws(ProviderFailure) -> Bool {
        let request = handle.request
        let seconds = max(1, request.duration)
        if let clipCache, request.image == nil, seconds >= 2 {
            try await renderFromClip(request, seconds: seconds, cache: clipCache, to: destination, poster: poster)
            return poster != nil
        }
        try await renderWhole(request, seconds: seconds, to: destination)
        return false
    }

    /// Seconds the title card with the prompt is shown before the moving test picture.
    static func captionSeconds(of seconds: Int) -> Int { seconds >= 4 ? 2 : 1 }

    /// The x264 settings every clip and title card share, so that they can be joined without
    /// re-encoding. One frame is encoded fastest on one thread (x264's thread pool costs more than
    /// the frame); the thread count does not change the stream's parameter sets.
    static func joinableEncoding(singleThreaded: Bool = false) -> [String] {
        [
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p",
            "-x264-params", "keyint=\(frameRate):min-keyint=\(frameRate):scenecut=0:bframes=0:stitchable=1"
                + (singleThreaded ? ":threads=1:lookahead-threads=1" : ""),
        ]
    }

    private func renderFromClip(_ request: ProviderRequest, seconds: Int, cache: URL, to destination: URL, poster: URL?) async throws(ProviderFailure) {
        let size = Self.frameSize(for: request.aspectRatio, shortSide: shortSide)
        let card = Self.captionSeconds(of: seconds)
        let clip = try await cachedClip(size: size, start: card, seconds: seconds - card, in: cache)
        let directory = destination.deletingLastPathComponent()
        let stem = ".\(destination.lastPathComponent).\(UUID().uuidString)"
        let title = directory.appendingPathComponent(stem + ".title.mp4")
        let caption = directory.appendingPathComponent(stem + ".txt")
        let video = directory.appendingPathComponent(stem + ".part.mp4")
        let posterPart = directory.appendingPathComponent(stem + ".poster.jpg")
        defer {
            for file in [title, caption, video, posterPart] { try? FileManager.default.removeItem(at: file) }
        }
        let fontSize = max(12, min(size.width, size.height) / 18)
        let text = SandboxCaption.layout(
            prompt: request.prompt, header: "videogate sandbox \u{B7} \(request.aspectRatio.rawValue) \u{B7} \(seconds) s",
            width: size.width, height: size.height, fontSize: fontSize)
        do {
            try Data(text.utf8).write(to: caption)
        } catch {
            throw .retryable("sandbox render could not write its temporary files: \(error)", retryAfter: nil)
        }
        let overlay = drawText(caption: caption, fontSize: fontSize, seconds: nil)
        var arguments = [
            "-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", "1",
            "-f", "lavfi", "-i", "testsrc2=size=\(size.width)x\(size.height):rate=\(Self.frameRate)",
            "-filter_complex", "[0:v]format=yuv420p,\(overlay)" + (poster == nil ? "[card]" : ",split=2[card][poster]"),
            "-map", "[card]", "-frames:v", "1", "-an",
        ] + Self.joinableEncoding(singleThreaded: true) + ["-f", "mp4", title.path]
        if poster != nil {
            arguments += ["-map", "[poster]", "-frames:v", "1", "-update", "1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", posterPart.path]
        }
        try await runRender(arguments, seconds: 1, what: "title card")
        do {
            try MP4Join.join([.init(file: title, lastSampleSeconds: Double(card)), .init(file: clip)], to: video)
        } catch {
            throw .retryable("sandbox join failed: \(error)", retryAfter: nil)
        }
        if let poster {
            guard rename(posterPart.path, poster.path) == 0 else {
                throw .retryable("sandbox render could not move the poster into place (errno \(errno))", retryAfter: nil)
            }
        }
        guard rename(video.path, destination.path) == 0 else {
            throw .retryable("sandbox render could not move the video into place (errno \(errno))", retryAfter: nil)
        }
    }

    /// The moving test picture from `start` seconds on, `seconds` long, rendered into `cache` the first
    /// time it is asked for (a render written under a temporary name, then renamed: concurrent first
    /// requests each render, and the last rename wins with identical bytes).
    private func cachedClip(size: (width: Int, height: Int), start: Int, seconds: Int, in cache: URL) async throws(ProviderFailure) -> URL {
        let clip = cache.appendingPathComponent("testsrc2-\(size.width)x\(size.height)-from\(start)s-\(seconds)s-v1.mp4")
        if FileManager.default.fileExists(atPath: clip.path) { return clip }
        let part = cache.appendingPathComponent(".\(clip.lastPathComponent).\(UUID().uuidString).part")
        defer { try? FileManager.default.removeItem(at: part) }
        do {
            try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        } catch {
            throw .retryable("sandbox clip cache \(cache.path) could not be made: \(error)", retryAfter: nil)
        }
        let rate = Self.frameRate
        try await runRender([
            "-nostdin", "-hide_banner", "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=\(size.width)x\(size.height):rate=\(rate):duration=\(start + seconds)",
            "-vf", "trim=start_frame=\(start * rate),setpts=PTS-STARTPTS,format=yuv420p", "-frames:v", "\(seconds * rate)", "-an",
        ] + Self.joinableEncoding() + ["-movflags", "+faststart", "-f", "mp4", part.path], seconds: start + seconds, what: "test picture")
        guard rename(part.path, clip.path) == 0 else {
            throw .retryable("sandbox render could not move the clip into the cache (errno \(errno))", retryAfter: nil)
        }
        return clip
    }

    /// One ffmpeg run of the clip path; a failure is retryable (the inputs are ours).
    private func runRender(_ arguments: [String], seconds: Int, what: String) async throws(ProviderFailure) {
        let output: ProcessOutput
        do {
            output = try await ProcessRunner.run(ffmpegPath, arguments: arguments, timeout: renderTimeout(seconds: seconds))
        } catch {
            throw .retryable("sandbox \(what) render failed: \(error.description)", retryAfter: nil)
        }
        guard output.succeeded else {
            let tail = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1500)
            throw .retryable("sandbox \(what) render failed (ffmpeg exit \(output.exitCode)): \(tail)", retryAfter: nil)
        }
    }

    /// Renders the whole video in one ffmpeg run.
    private func renderWhole(_ request: ProviderRequest, seconds: Int, to destination: URL) async throws(ProviderFailure) {
        let size = Self.frameSize(for: request.aspectRatio, shortSide: shortSide)
        let directory = destination.deletingLastPathComponent()
        let stem = ".\(destination.lastPathComponent).\(UUID().uuidString)"
        let video = directory.appendingPathComponent(stem + ".part.mp4")
        let caption = directory.appendingPathComponent(stem + ".txt")
        let image = directory.appendingPathComponent(stem + ".image")
        defer {
            for file in [video, caption, image] { try? FileManager.default.removeItem(at: file) }
        }
        let fontSize = max(12, min(size.width, size.height) / 18)
        let text = SandboxCaption.layout(
            prompt: request.prompt, header: "videogate sandbox \u{B7} \(request.aspectRatio.rawValue) \u{B7} \(seconds) s",
            width: size.width, height: size.height, fontSize: fontSize)
        var background: SandboxBackground?
        if case .bytes(let data, _) = request.image {
            guard let demuxer = MediaProbe.imageDemuxer(for: data) else {
                throw .final(JobFailure(.invalidImage, "The start image is not a PNG, JPEG or WebP file."))
            }
            background = SandboxBackground(file: image, demuxer: demuxer)
        }
        do {
            try Data(text.utf8).write(to: caption)
            if case .bytes(let data, _) = request.image, background != nil { try data.write(to: image) }
        } catch {
            throw .retryable("sandbox render could not write its temporary files: \(error)", retryAfter: nil)
        }
        let overlay = drawText(caption: caption, fontSize: fontSize, seconds: Double(seconds))
        let output: ProcessOutput
        do {
            output = try await render(size: size, seconds: seconds, background: background, overlay: overlay, to: video)
        } catch .timedOut(let limit, _) where background != nil {
            throw .final(JobFailure(.invalidImage, "The start image could not be rendered within \(Int(limit)) s."))
        } catch {
            throw .retryable("sandbox render failed: \(error.description)", retryAfter: nil)
        }
        guard output.succeeded else {
            let tail = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines).suffix(1500)
            // ffmpeg's own words name scratch paths: the client gets a plain reason.
            if background != nil { throw .final(JobFailure(.invalidImage, "The start image could not be decoded.")) }
            throw .retryable("sandbox render failed (ffmpeg exit \(output.exitCode)): \(tail)", retryAfter: nil)
        }
        guard rename(video.path, destination.path) == 0 else {
            throw .retryable("sandbox render could not move the video into place (errno \(errno))", retryAfter: nil)
        }
    }

    /// One ffmpeg run writing `video`: the test source, or the still `background` decoded once with an
    /// explicit demuxer, repeated by the `loop` filter (not by re-reading the file: looping a pipe
    /// demuxer made ffmpeg's parser grow without bound on some PNGs until the timeout), scaled and
    /// padded to the frame. `-frames:v` bounds the output whatever the input's timestamps say.
    private func render(
        size: (width: Int, height: Int), seconds: Int, background: SandboxBackground?, overlay: String, to video: URL
    ) async throws(ProcessRunnerError) -> ProcessOutput {
        let (width, height) = (size.width, size.height)
        let rate = Self.frameRate
        var arguments = ["-nostdin", "-hide_banner", "-v", "error", "-y"]
        let filter: String
        if let background {
            arguments += [
                "-protocol_whitelist", "file", "-f", background.demuxer, "-framerate", "\(rate)", "-i", "file:" + background.file.path,
            ]
            filter = "loop=loop=-1:size=1:start=0,"
                + "scale=\(width):\(height):force_original_aspect_ratio=decrease,pad=\(width):\(height):(ow-iw)/2:(oh-ih)/2:color=black,"
                + "setsar=1,fps=\(rate),format=yuv420p,\(overlay)"
        } else {
            arguments += ["-f", "lavfi", "-i", "testsrc2=size=\(width)x\(height):rate=\(rate):duration=\(seconds)"]
            filter = "format=yuv420p,\(overlay)"
        }
        arguments += [
            "-vf", filter, "-t", "\(seconds)", "-frames:v", "\(seconds * rate)", "-r", "\(rate)", "-an", "-c:v", "libx264",
            "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", video.path,
        ]
        return try await ProcessRunner.run(ffmpegPath, arguments: arguments, timeout: renderTimeout(seconds: seconds))
    }

    /// The drawtext filter: the caption file read verbatim (no `%{}` expansion), centred on a
    /// translucent box; over `seconds` it drifts up and down so that even a still background moves.
    private func drawText(caption: URL, fontSize: Int, seconds: Double?) -> String {
        let font = fontFile.map { "fontfile=\(SandboxCaption.filterValue($0))" } ?? "font=Sans"
        let drift = seconds.map { "+h/12*sin(2*PI*t/\(Int($0)))" } ?? ""
        return "drawtext=\(font):textfile=\(SandboxCaption.filterValue(caption.path)):expansion=none:fontsize=\(fontSize)"
            + ":fontcolor=white:line_spacing=\(fontSize / 4):box=1:boxcolor=black@0.6:boxborderw=\(fontSize / 3)"
            + ":x=(w-text_w)/2:y=(h-text_h)/2\(drift)"
    }
}

/// A start image written to scratch space, and the ffmpeg demuxer that reads it.
struct SandboxBackground {
    var file: URL
    var demuxer: String
}

/// The text drawn on sandbox videos, and the escaping of file paths inside ffmpeg filter graphs.
enum SandboxCaption {
    /// Lays out a header line and the prompt word-wrapped to the frame, truncated with an ellipsis
    /// when it does not fit. Control characters and runs of white space become single spaces.
    static func layout(prompt: String, header: String, width: Int, height: Int, fontSize: Int) -> String {
        // DejaVu Sans averages about 0.55 em per Latin character; wide characters count double.
        let columns = max(8, Int(Double(width) * 0.86 / (Double(fontSize) * 0.56)))
        let maxLines = max(1, Int(Double(height) * 0.6 / (Double(fontSize) * 1.25)) - 1)
        let words = String(prompt.map { $0.unicodeScalars.contains { $0.properties.generalCategory == .control } ? " " : $0 })
            .split(whereSeparator: \.isWhitespace)
        var lines: [String] = []
        var line = ""
        var used = 0
        for word in words {
            var rest = Substring(word)
            while !rest.isEmpty {
                let needed = units(rest) + (line.isEmpty ? 0 : 1)
                if used + needed <= columns {
                    line += (line.isEmpty ? "" : " ") + rest
                    used += needed
                    rest = ""
                } else if line.isEmpty {
                    // A word longer than a whole line is cut where the line is full.
                    let (head, tail) = split(rest, columns: columns)
                    lines.append(String(head))
                    rest = tail
                } else {
                    lines.append(line)
                    (line, used) = ("", 0)
                }
            }
            if lines.count > maxLines { break }
        }
        if !line.isEmpty { lines.append(line) }
        if lines.count > maxLines {
            lines = Array(lines.prefix(maxLines))
            let last = lines[maxLines - 1]
            lines[maxLines - 1] = String(split(Substring(last), columns: columns - 1).head) + "\u{2026}"
        }
        return ([header] + lines).joined(separator: "\n")
    }

    /// Escapes a filter option value for both levels of ffmpeg's filter graph syntax: first the
    /// option value (`\`, `'`, `:` and spaces), then the graph description (`\`, `'`, `[`, `]`, `,`, `;`).
    static func filterValue(_ value: String) -> String {
        var optionLevel = ""
        for character in value {
            if "\\':".contains(character) || character.isWhitespace { optionLevel.append("\\") }
            optionLevel.append(character)
        }
        var graphLevel = ""
        for character in optionLevel {
            if "\\'[],;".contains(character) { graphLevel.append("\\") }
            graphLevel.append(character)
        }
        return graphLevel
    }

    private static func split(_ text: Substring, columns: Int) -> (head: Substring, tail: Substring) {
        var used = 0
        var end = text.startIndex
        while end < text.endIndex, used + units(text[end]) <= max(1, columns) {
            used += units(text[end])
            end = text.index(after: end)
        }
        if end == text.startIndex, !text.isEmpty { end = text.index(after: end) }
        return (text[..<end], text[end...])
    }

    private static func units(_ text: Substring) -> Int { text.reduce(0) { $0 + units($1) } }

    /// Display width in character cells: 2 for East Asian wide characters and emoji, else 1.
    private static func units(_ character: Character) -> Int {
        guard let value = character.unicodeScalars.first?.value else { return 0 }
        switch value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
            0x1F300...0x1FAFF, 0x20000...0x3FFFD:
            return 2
        default:
            return 1
        }
    }
}
