import Foundation
import Testing

/// The real `videogate` executable, built by `swift build --build-tests` before the tests run
/// (or the one `VIDEOGATE_BINARY` names).
enum VideogateBinary {
    static var path: String {
        if let configured = ProcessInfo.processInfo.environment["VIDEOGATE_BINARY"], !configured.isEmpty { return configured }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.appendingPathComponent(".build/debug/videogate").path
    }

    /// The environment of a child: ours without any `VIDEOGATE_*` setting, plus `overrides`.
    static func environment(_ overrides: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("VIDEOGATE_") }
        environment.merge(overrides) { _, new in new }
        return environment
    }

    /// Runs an admin command to completion, killing it after `timeout`; returns its exit status and
    /// its standard output and error together.
    static func run(_ arguments: [String], environment: [String: String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = Self.environment(try await TestDatabases.shared.environment(environment))
        let output = OutputBuffer()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            pipe.fileHandleForReading.readabilityHandler = nil
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            Issue.record("videogate \(arguments.joined(separator: " ")) still ran after \(timeout); killed")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        // The readability handler may still hold the last chunk: wait for the pipe's end.
        try await output.waitForEnd(timeout: .seconds(5))
        return (process.terminationStatus, output.text)
    }

    /// A new account (plan pro) with a live key and `credits` live credits, made with the admin
    /// commands; returns the account id and the key's secret.
    static func liveAccount(name: String, credits: Int, environment: [String: String]) async throws -> (accountID: String, key: String) {
        let account = try await json(["accounts", "create", "--name", name, "--plan", "pro"], environment: environment)
        let accountID = try #require(account["id"] as? String)
        let key = try #require(
            try await json(["keys", "create", "--account", accountID, "--environment", "live"], environment: environment)["key"] as? String)
        _ = try await json(["credits", "add", "--account", accountID, "--amount", String(credits), "--environment", "live"], environment: environment)
        return (accountID, key)
    }

    /// Runs an admin command with `--json`, expects it to succeed, and parses the one JSON object it prints.
    static func json(_ arguments: [String], environment: [String: String]) async throws -> [String: Any] {
        let (status, output) = try await run(arguments + ["--json"], environment: environment)
        try #require(status == 0, "videogate \(arguments.joined(separator: " ")) --json exited \(status): \(output)")
        let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") }, "no JSON in: \(output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
    }
}
