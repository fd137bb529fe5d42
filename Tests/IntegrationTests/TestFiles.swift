import Foundation

/// A fresh temporary data directory; `remove()` deletes it.
struct DataDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-it-\(UUID().uuidString)")
    var path: String { url.path }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// What `ffprobe` says about a video file.
struct VideoProbe {
    let codec: String
    let width: Int
    let height: Int
    let duration: Double

    /// Runs `ffprobe -v error -print_format json -show_streams -show_format` on `file` (bounded: 30 s).
    init(_ file: URL) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", file.path]
        let output = OutputBuffer()
        let pipe = Pipe()
        process.standardOutput = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        try await output.waitForEnd(timeout: .seconds(5))
        let object = try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any] ?? [:]
        let stream = (object["streams"] as? [[String: Any]])?.first { $0["codec_type"] as? String == "video" } ?? [:]
        codec = stream["codec_name"] as? String ?? ""
        width = stream["width"] as? Int ?? 0
        height = stream["height"] as? Int ?? 0
        duration = Double((object["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
    }
}
