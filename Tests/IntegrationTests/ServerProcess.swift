import Foundation
import Synchronization

/// A running `videogate serve --host 127.0.0.1 --port 0`, its port read from the line it prints.
/// `stop()` kills it (SIGKILL) and reaps it; every test calls it in a `defer`.
final class ServerProcess: Sendable {
    let process: Process
    let port: Int
    private let output: OutputBuffer

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }
    /// Everything the process printed so far (standard output and error).
    var log: String { output.text }

    /// Starts the server and waits, at most `timeout`, for `videogate listening on http://127.0.0.1:PORT`.
    init(environment: [String: String], role: String = "all", timeout: Duration = .seconds(60)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: VideogateBinary.path)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "0", "--role", role]
        process.environment = VideogateBinary.environment(try await TestDatabases.shared.environment(environment))
        let output = OutputBuffer()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        self.process = process
        self.output = output
        var found: Int?
        do {
            let deadline = ContinuousClock.now + timeout
            while found == nil && process.isRunning && ContinuousClock.now < deadline {
                found = Self.listeningPort(in: output.text)
                if found == nil { try await Task.sleep(for: .milliseconds(25)) }
            }
            found = found ?? Self.listeningPort(in: output.text)
        } catch {
            Self.terminate(process, pipe: pipe)
            throw error
        }
        guard let found else {
            Self.terminate(process, pipe: pipe)
            throw ServerStartError(log: output.text)
        }
        self.port = found
    }

    static func listeningPort(in text: String) -> Int? {
        guard let range = text.range(of: "videogate listening on http://127.0.0.1:") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    /// The word printed right after `marker`, e.g. the test key after `Test key (shown once): `.
    func printed(after marker: String) -> String? {
        let log = self.log
        guard let range = log.range(of: marker) else { return nil }
        return String(log[range.upperBound...].prefix { !$0.isWhitespace })
    }

    /// The last lines printed, for failure messages.
    var logTail: String { log.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n") }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to end; true when it did within `timeout`.
    func waitForExit(timeout: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(25)) }
        if !process.isRunning { process.waitUntilExit() }
        return !process.isRunning
    }

    /// Kills the server if it still runs, and reaps it. Safe to call more than once.
    func stop() {
        Self.terminate(process, pipe: process.standardOutput as? Pipe)
    }

    private static func terminate(_ process: Process, pipe: Pipe?) {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        pipe?.fileHandleForReading.readabilityHandler = nil
    }
}

/// What a child printed so far; collected by a pipe's readability handler.
final class OutputBuffer: Sendable {
    private let state = Mutex((text: "", ended: false))
    var text: String { state.withLock { $0.text } }

    /// Appends a chunk; an empty chunk is the end of the pipe.
    func append(_ data: Data) {
        state.withLock {
            if data.isEmpty { $0.ended = true } else { $0.text += String(decoding: data, as: UTF8.self) }
        }
    }

    /// Waits (bounded) until the writer closed its end of the pipe.
    func waitForEnd(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while !state.withLock({ $0.ended }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
    }
}

struct ServerStartError: Error, CustomStringConvertible {
    let log: String
    var description: String { "the server did not print its listening line; its output:\n\(log)" }
}
