import Foundation
import Synchronization

/// A real, small H.264 MP4 (1 s, 128x72) made once per test process with ffmpeg: what every
/// fake serves as its result, so the gateway's ffprobe check and poster frame work on it.
public enum FakeVideo {
    private static let cached = Mutex<Data?>(nil)

    /// The MP4's bytes.
    public static func mp4() throws -> Data {
        try cached.withLock { cached in
            if let cached { return cached }
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-fake-video-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let output = directory.appendingPathComponent("fake.mp4")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=128x72:rate=10", "-t", "1",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", output.path,
            ]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw FakeVideoError() }
            let data = try Data(contentsOf: output)
            cached = data
            return data
        }
    }

    struct FakeVideoError: Error {}
}
