import Foundation

/// What ffprobe found in a video file.
public struct MediaInfo: Sendable, Equatable {
    /// The video codec's ffprobe name (`h264`, `hevc`, `vp9`, ...).
    public var codec: String
    /// Frame width in pixels, as stored.
    public var width: Int
    /// Frame height in pixels, as stored.
    public var height: Int
    /// Playing time of the file in seconds.
    public var durationSeconds: Double
    /// Size of the file on disk in bytes.
    public var sizeBytes: Int64

    /// A report with the given values (tests and fakes build their own).
    public init(codec: String, width: Int, height: Int, durationSeconds: Double, sizeBytes: Int64) {
        self.codec = codec
        self.width = width
        self.height = height
        self.durationSeconds = durationSeconds
        self.sizeBytes = sizeBytes
    }
}

/// Why a file could not be inspected or a poster made.
public enum MediaProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// ffprobe or ffmpeg could not run, or exited with an error (its message attached).
    case toolFailed(tool: String, message: String)
    /// The file is readable media but holds no video stream with a size and a duration (e.g. an image or audio).
    case notAVideo(String)
    /// ffprobe answered something that is not the expected JSON.
    case unreadableReport(String)

    /// A one-line explanation for logs.
    public var description: String {
        switch self {
        case .toolFailed(let tool, let message): "\(tool) failed: \(message)"
        case .notAVideo(let reason): "not a video: \(reason)"
        case .unreadableReport(let reason): "unreadable ffprobe report: \(reason)"
        }
    }
}

/// Inspects videos and cuts poster frames with ffprobe and ffmpeg.
public struct MediaProbe: Sendable {
    /// ffprobe: a path, or a name looked up on `PATH`.
    public var ffprobePath: String
    /// ffmpeg: a path, or a name looked up on `PATH`.
    public var ffmpegPath: String
    /// Longest time one ffprobe or ffmpeg call may take.
    public var timeout: TimeInterval

    /// A probe running the given tools; plain names are looked up on `PATH` at each call.
    public init(ffprobePath: String = "ffprobe", ffmpegPath: String = "ffmpeg", timeout: TimeInterval = 120) {
        self.ffprobePath = ffprobePath
        self.ffmpegPath = ffmpegPath
        self.timeout = timeout
    }

    /// The ffmpeg demuxer every downloaded video is read with: MP4 and QuickTime only, so that a
    /// file that is really a playlist (HLS, concat) or another container never makes ffprobe or
    /// ffmpeg open the files or URLs it names.
    public static let videoDemuxer = "mov,mp4,m4a,3gp,3g2,mj2"
    /// Input options for files that came from outside: that demuxer, and the `file` protocol only.
    static func videoInput(_ file: URL) -> [String] {
        ["-protocol_whitelist", "file", "-f", videoDemuxer, "-i", "file:" + file.path]
    }

    /// The codec, frame size, duration and byte size of the first video stream of `file`.
    /// The file must start with an ISO base media box (`ftyp`, `moov`, `mdat`, ...): anything else is
    /// refused before any tool runs. A plain (not fragmented) MP4 with an H.264, HEVC, VP8, VP9 or AV1
    /// track is read in Swift from its own boxes (`MP4Movie`), which costs well under a millisecond;
    /// any other file goes to ffprobe, with the MP4 demuxer and the `file` protocol only.
    /// - Throws: `MediaProbeError.toolFailed` when the file or ffprobe cannot be read, `.notAVideo` when
    ///   it is not an MP4/QuickTime file or holds no video stream, `.unreadableReport` on unexpected output.
    public func inspect(_ file: URL) async throws(MediaProbeError) -> MediaInfo {
        let head: Data
        do {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            head = try handle.read(upToCount: 12) ?? Data()
        } catch {
            throw .toolFailed(tool: "ffprobe", message: "could not read \(file.lastPathComponent): \(error)")
        }
        guard Self.isISOBaseMedia(head) else {
            throw .notAVideo("\(file.lastPathComponent) is not an MP4 or QuickTime file")
        }
        if let movie = try? MP4Movie.read(file) {
            switch Self.mediaInfo(of: movie) {
            case .video(let info): return info
            case .noVideo: throw .notAVideo("\(file.lastPathComponent) has no video stream")
            case .undecided: break
            }
        }
        return try await inspectWithFFprobe(file)
    }

    /// What a movie's boxes decide: a video with all `MediaInfo` asks for, none at all, or nothing
    /// sure (fragmented, a codec not mapped here, samples past the end of the file): then ffprobe decides.
    enum BoxVerdict: Equatable {
        case video(MediaInfo)
        case noVideo
        case undecided
    }

    /// ffprobe's codec names for the sample entries read in Swift.
    static let codecNames = [
        "avc1": "h264", "avc2": "h264", "avc3": "h264", "avc4": "h264", "hvc1": "hevc", "hev1": "hevc",
        "vp08": "vp8", "vp09": "vp9", "av01": "av1",
    ]

    static func mediaInfo(of movie: MP4Movie) -> BoxVerdict {
        guard !movie.fragmented else { return .undecided }
        guard let track = movie.tracks.first(where: { $0.handler == "vide" }) else {
            return movie.tracks.isEmpty ? .undecided : .noVideo
        }
        guard let entry = track.sampleEntry, let codec = codecNames[entry], track.width > 0, track.height > 0,
            track.sampleCount > 0, track.lastChunkOffset < movie.fileSize,
            let duration = movie.durationSeconds, duration.isFinite, duration > 0
        else { return .undecided }
        return .video(MediaInfo(codec: codec, width: track.width, height: track.height, durationSeconds: duration, sizeBytes: Int64(movie.fileSize)))
    }

    /// `inspect` through ffprobe, for the files the box reader leaves undecided.
    func inspectWithFFprobe(_ file: URL) async throws(MediaProbeError) -> MediaInfo {
        let output = try await runTool(
            ffprobePath, ["-v", "error", "-print_format", "json", "-show_streams", "-show_format"] + Self.videoInput(file))
        let report: FFprobeReport
        do {
            report = try JSONDecoder().decode(FFprobeReport.self, from: output.stdout)
        } catch {
            throw .unreadableReport(String(describing: error))
        }
        let streams = report.streams ?? []
        guard let stream = streams.first(where: { $0.codecType == "video" && $0.disposition?.attachedPic != 1 }) else {
            throw .notAVideo("\(file.lastPathComponent) has no video stream")
        }
        guard let codec = stream.codecName, let width = stream.width, let height = stream.height, width > 0, height > 0 else {
            throw .notAVideo("the video stream of \(file.lastPathComponent) has no codec or frame size")
        }
        let duration = [report.format?.duration, stream.duration].compactMap { $0.flatMap(Double.init) }.first { $0 > 0 }
        guard let duration, duration.isFinite else {
            throw .notAVideo("\(file.lastPathComponent) has no duration")
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: file.path)
        let size = (attributes?[.size] as? NSNumber)?.int64Value ?? report.format?.size.flatMap { Int64($0) } ?? 0
        return MediaInfo(codec: codec, width: width, height: height, durationSeconds: duration, sizeBytes: size)
    }

    /// Writes the key frame at or before `seconds` (clamped inside the video's duration) of `video` to
    /// `jpeg` as a JPEG of the video's frame size: one frame is decoded, whatever the distance between key frames. The file appears at `jpeg` complete or not at all.
    /// `inspected` is what `inspect(_:)` already found for `video`; when nil, the video is inspected here.
    /// - Throws: `MediaProbeError` when the video cannot be inspected or ffmpeg fails.
    public func makePoster(from video: URL, to jpeg: URL, at seconds: Double, inspected: MediaInfo? = nil) async throws(MediaProbeError) {
        let info: MediaInfo
        if let inspected { info = inspected } else { info = try await inspect(video) }
        let frameTime = 1.0 / 24
        let latest = max(0, info.durationSeconds - 2 * frameTime)
        let requested = seconds.isFinite ? seconds : 0
        let temporary = jpeg.deletingLastPathComponent()
            .appendingPathComponent(".\(jpeg.lastPathComponent).\(UUID().uuidString).part.jpg")
        defer { try? FileManager.default.removeItem(at: temporary) }
        // The clamped seek normally lands on a frame; the first frame is the fallback when it does not.
        for time in [min(max(0, requested), latest), 0] {
            // One decode: the seek lands on the key frame at or before `time`, only key frames are
            // decoded, and that first one is the poster (no decoding forward to the exact time).
            // `-copyts` keeps its own timestamp: shifted by the seek it would fall before zero and be dropped.
            _ = try await runTool(ffmpegPath, [
                "-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", "1", "-skip_frame", "nokey", "-noaccurate_seek", "-copyts",
                "-ss", String(format: "%.3f", time),
            ] + Self.videoInput(video) + [
                "-frames:v", "1", "-update", "1", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", temporary.path,
            ])
            let written = (try? FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? NSNumber)?.intValue ?? 0
            if written > 0 {
                guard rename(temporary.path, jpeg.path) == 0 else {
                    throw .toolFailed(tool: "ffmpeg", message: "could not move the poster into place (errno \(errno))")
                }
                return
            }
        }
        throw .toolFailed(tool: "ffmpeg", message: "no frame could be decoded from \(video.lastPathComponent)")
    }

    /// True when `head` (the first 12 bytes of a file) starts with a box that opens MP4 and QuickTime files.
    static func isISOBaseMedia(_ head: Data) -> Bool {
        guard head.count >= 8 else { return false }
        let type = String(decoding: head[head.startIndex + 4..<head.startIndex + 8], as: UTF8.self)
        return ["ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid"].contains(type)
    }

    func runTool(_ tool: String, _ arguments: [String]) async throws(MediaProbeError) -> ProcessOutput {
        let name = URL(fileURLWithPath: tool).lastPathComponent
        let output: ProcessOutput
        do {
            output = try await ProcessRunner.run(tool, arguments: arguments, timeout: timeout)
        } catch {
            throw .toolFailed(tool: name, message: error.description)
        }
        guard output.succeeded else {
            let message = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            throw .toolFailed(tool: name, message: message.isEmpty ? "exit status \(output.exitCode)" : String(message.suffix(2000)))
        }
        return output
    }
}

/// The parts of `ffprobe -print_format json -show_streams -show_format` that `inspect` reads.
private struct FFprobeReport: Decodable {
    struct Stream: Decodable {
        struct Disposition: Decodable {
            var attachedPic: Int?
            enum CodingKeys: String, CodingKey { case attachedPic = "attached_pic" }
        }
        var codecType: String?
        var codecName: String?
        var width: Int?
        var height: Int?
        var duration: String?
        var disposition: Disposition?
        enum CodingKeys: String, CodingKey {
            case codecType = "codec_type", codecName = "codec_name", width, height, duration, disposition
        }
    }
    struct Format: Decodable {
        var formatName: String?
        var duration: String?
        var size: String?
        enum CodingKeys: String, CodingKey { case formatName = "format_name", duration, size }
    }
    var streams: [Stream]?
    var format: Format?
}
