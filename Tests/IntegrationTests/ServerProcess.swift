import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The real `videogate` binary, built by `swift build --build-tests` before the tests run.
enum Binary {
    static var path: String {
        if let configured = ProcessInfo.processInfo.environment["VIDEOGATE_BINARY"] { return configured }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/videogate").path
    }

    /// The environment for a child: ours without VIDEOGATE_* settings, plus `overrides`.
    static func environment(_ overrides: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIDEOGATE_") }
        environment.merge(overrides) { _, new in new }
        return environment
    }

    /// Runs a CLI command to completion (bounded), returning its exit status and output.
    static func run(_ arguments: [String], environment: [String: String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = Self.environment(environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (process.terminationStatus, output)
    }

    /// Runs a CLI command with `--json` and parses its output.
    static func json(_ arguments: [String], environment: [String: String]) async throws -> [String: Any] {
        let (status, output) = try await run(arguments + ["--json"], environment: environment)
        #expect(status == 0, "videogate \(arguments.joined(separator: " ")) failed: \(output)")
        let line = output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        return (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
    }
}

/// A running `videogate serve` on 127.0.0.1 with a port the OS picked. Stopped (SIGKILL if need
/// be) by `stop()`; tests call it in `defer`.
final class ServerProcess: Sendable {
    let process: Process
    let port: Int
    private let output: OutputBuffer

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }
    var log: String { output.text }

    /// Starts the server and waits (at most `timeout`) for it to print its listening line.
    init(environment: [String: String], role: String = "all", timeout: Duration = .seconds(60)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Binary.path)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--role", role]
        process.environment = Binary.environment(environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = OutputBuffer()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.append(data) }
        }
        try process.run()
        self.process = process
        self.output = output
        let deadline = ContinuousClock.now + timeout
        var found: Int?
        while found == nil && ContinuousClock.now < deadline && process.isRunning {
            found = ServerProcess.listeningPort(in: output.text)
            if found == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        guard let found else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw ServerStartError(log: output.text)
        }
        self.port = found
    }

    static func listeningPort(in text: String) -> Int? {
        guard let range = text.range(of: "videogate listening on http://127.0.0.1:") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        return Int(digits)
    }

    /// The first match of a printed line's value after `marker`, e.g. the test key.
    func printed(after marker: String) -> String? {
        guard let range = log.range(of: marker) else { return nil }
        return String(log[range.upperBound...].prefix { !$0.isWhitespace })
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to end; true when it did within `timeout`.
    func waitForExit(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return !process.isRunning
    }

    /// Stops the server at once and reaps it.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        (process.standardOutput as? Pipe)?.fileHandleForReading.readabilityHandler = nil
    }
}

/// What a child printed so far.
final class OutputBuffer: Sendable {
    private let buffer = Mutex("")
    var text: String { buffer.withLock { $0 } }
    func append(_ data: Data) { buffer.withLock { $0 += String(decoding: data, as: UTF8.self) } }
}

struct ServerStartError: Error, CustomStringConvertible {
    let log: String
    var description: String { "the server did not start; its output:\n\(log)" }
}

/// HTTP to the servers under test (127.0.0.1 only).
struct TestHTTP {
    let client: HTTPClient

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: Data
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }
    }

    func send(_ method: HTTPMethod, _ url: String, bearer: String? = nil, json: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(buffer: body))
    }

    /// Polls a job until it is final (bounded).
    func waitForFinal(_ base: String, id: String, key: String, timeout: Duration = .seconds(120)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let job = try await send(.GET, "\(base)/v1/video/\(id)", bearer: key).json
            if let status = job["status"] as? String, status == "completed" || status == "error" { return job }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("job \(id) did not finish within \(timeout)")
        return [:]
    }
}

extension Data {
    init(buffer: ByteBuffer) {
        self = buffer.withUnsafeReadableBytes { Data($0) }
    }
}

/// A fresh data directory, removed by `remove()`.
struct DataDirectory {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-it-\(UUID().uuidString)")
    var path: String { url.path }
    func remove() { try? FileManager.default.removeItem(at: url) }
}

/// ffprobe's view of a video file.
func probe(_ file: URL) throws -> (codec: String, width: Int, height: Int, duration: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    let stream = (object["streams"] as? [[String: Any]])?.first { $0["codec_type"] as? String == "video" } ?? [:]
    let duration = Double((object["format"] as? [String: Any])?["duration"] as? String ?? "") ?? 0
    return (stream["codec_name"] as? String ?? "", stream["width"] as? Int ?? 0, stream["height"] as? Int ?? 0, duration)
}
