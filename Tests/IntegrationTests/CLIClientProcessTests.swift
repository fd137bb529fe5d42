import Foundation
import Testing

/// `videogate generate`, `jobs` and `usage` as a person or a script runs them: the real binary as
/// a client of a real server on 127.0.0.1, its exit status, standard output and standard error
/// read apart (operations.md, "Operator console and command-line client").
@Suite("The command-line client against the real server", .serialized)
struct CLIClientProcessTests {
    struct Run {
        let status: Int32
        let out: String
        let err: String
    }

    /// Runs `videogate ARGS` as a client (not a TTY), killed after `timeout`.
    static func cli(_ arguments: [String], environment extra: [String: String] = [:], in directory: URL? = nil, timeout: Duration = .seconds(90))
        async throws -> Run
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: VideogateBinary.path)
        process.arguments = arguments
        process.environment = VideogateBinary.environment(extra)
        if let directory { process.currentDirectoryURL = directory }
        let stdout = OutputBuffer()
        let stderr = OutputBuffer()
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        outPipe.fileHandleForReading.readabilityHandler = { stdout.append($0.availableData) }
        errPipe.fileHandleForReading.readabilityHandler = { stderr.append($0.availableData) }
        try process.run()
        defer {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            outPipe.fileHandleForReading.readabilityHandler = nil
            errPipe.fileHandleForReading.readabilityHandler = nil
        }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            Issue.record("videogate \(arguments.joined(separator: " ")) still ran after \(timeout); killed")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        try await stdout.waitForEnd(timeout: .seconds(5))
        try await stderr.waitForEnd(timeout: .seconds(5))
        return Run(status: process.terminationStatus, out: stdout.text, err: stderr.text)
    }

    static func object(_ text: String) throws -> [String: Any] {
        let line = try #require(text.split(separator: "\n").last { $0.hasPrefix("{") }, "no JSON in: \(text)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func generateDownloadsTheVideoAndJobsAndUsageReadItBack() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: ServerLifecycleTests.environment(data, ["VIDEOGATE_SANDBOX_DELAY_MS": "300"]))
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "), "\(server.log)")
        let client = ["VIDEOGATE_BASE_URL": server.baseURL, "VIDEOGATE_API_KEY": key]
        let work = data.url.appendingPathComponent("cli")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

        // generate: progress lines on stderr (not a TTY), the saved file on stdout, exit 0.
        let generated = try await Self.cli(
            ["generate", "--prompt", "a red fox in snow", "--model", "kling-v2.5-turbo-pro", "--aspect-ratio", "9:16", "--out", "fox.mp4"],
            environment: client, in: work)
        #expect(generated.status == 0, "\(generated.out)\n\(generated.err)\n\(server.logTail)")
        let id = try #require(generated.out.split(separator: " ").first.map(String.init), "\(generated.out)")
        #expect(id.hasPrefix("req_") && generated.out.contains("completed: saved fox.mp4"), "\(generated.out)")
        #expect(generated.err.contains("\(id) completed"), "\(generated.err)")
        #expect(!generated.err.contains("\u{1B}[K"), "a bar redrawn in place although stderr is not a terminal")
        let video = try Data(contentsOf: work.appendingPathComponent("fox.mp4"))
        #expect(video.count > 1000 && String(decoding: video[4..<8], as: UTF8.self) == "ftyp")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("fox.mp4.part").path))

        // --json: the final job object on stdout; the default file name is <request_id>.mp4.
        let json = try await Self.cli(["generate", "--prompt", "a cat", "--model", "wan-2.5", "--json", "--quiet"], environment: client, in: work)
        #expect(json.status == 0, "\(json.err)")
        let job = try Self.object(json.out)
        let secondID = try #require(job["request_id"] as? String)
        #expect(job["status"] as? String == "completed" && job["model"] as? String == "wan-2.5")
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("\(secondID).mp4").path))
        #expect(json.err.isEmpty, "--quiet printed: \(json.err)")

        // A job that ends in error: exit 1, its code and message on stderr.
        let failed = try await Self.cli(["generate", "--prompt", "fail please [sandbox:error]", "--model", "wan-2.5", "--json"], environment: client, in: work)
        #expect(failed.status == 1, "\(failed.out)\n\(failed.err)")
        #expect(failed.err.contains("error: provider_error: "), "\(failed.err)")
        let failedJob = try Self.object(failed.out)
        let failedID = try #require(failedJob["request_id"] as? String)
        #expect(failedJob["status"] as? String == "error")

        // Refused requests and usage errors: exit 2 with the API's error code.
        let unknownModel = try await Self.cli(["generate", "--prompt", "p", "--model", "kling-v9"], environment: client, in: work)
        #expect(unknownModel.status == 2 && unknownModel.err.contains("error: invalid_model: "), "\(unknownModel.err)")
        let badDuration = try await Self.cli(["generate", "--prompt", "p", "--model", "wan-2.5", "--duration", "7"], environment: client, in: work)
        #expect(badDuration.status == 2 && badDuration.err.contains("invalid_duration"), "\(badDuration.err)")
        let wrongKey = try await Self.cli(
            ["jobs", "list", "--key", "vg_test_not-a-key"], environment: ["VIDEOGATE_BASE_URL": server.baseURL], in: work)
        #expect(wrongKey.status == 2 && wrongKey.err.contains("error: "), "\(wrongKey.err)")
        let noKey = try await Self.cli(["generate", "--prompt", "p", "--model", "wan-2.5"], environment: ["VIDEOGATE_BASE_URL": server.baseURL])
        #expect(noKey.status == 2 && noKey.err.contains("VIDEOGATE_API_KEY"), "\(noKey.err)")
        let missingOption = try await Self.cli(["generate", "--model", "wan-2.5"], environment: client)
        #expect(missingOption.status == 2 && missingOption.err.contains("--prompt"), "\(missingOption.err)")
        let unreachable = try await Self.cli(["jobs", "list"], environment: ["VIDEOGATE_BASE_URL": "http://127.0.0.1:9", "VIDEOGATE_API_KEY": key])
        #expect(unreachable.status == 2 && unreachable.err.contains("error: unreachable: "), "\(unreachable.err)")

        // jobs list / show / watch / cancel.
        let listed = try await Self.cli(["jobs", "list", "--json"], environment: client)
        #expect(listed.status == 0, "\(listed.err)")
        let ids = (try Self.object(listed.out)["data"] as? [[String: Any]] ?? []).compactMap { $0["request_id"] as? String }
        #expect(Set([id, secondID, failedID]).isSubset(of: Set(ids)), "\(listed.out)")
        let text = try await Self.cli(["jobs", "list", "--status", "error"], environment: client)
        #expect(text.status == 0 && text.out.contains(failedID) && !text.out.contains(id), "\(text.out)")
        let shown = try await Self.cli(["jobs", "show", id], environment: client)
        #expect(shown.status == 0 && shown.out.contains("status: completed") && shown.out.contains("video_url: http"), "\(shown.out)")
        let shownFailed = try await Self.cli(["jobs", "show", failedID], environment: client)
        #expect(shownFailed.status == 1 && shownFailed.err.contains("provider_error"))
        let missing = try await Self.cli(["jobs", "show", "req_01JD0000000000000000000000"], environment: client)
        #expect(missing.status == 2 && missing.err.contains("error: not_found: "), "\(missing.err)")
        let watched = try await Self.cli(["jobs", "watch", id, "--out", "again.mp4"], environment: client, in: work)
        #expect(watched.status == 0 && (try? Data(contentsOf: work.appendingPathComponent("again.mp4"))) == video, "\(watched.err)")
        let notCancellable = try await Self.cli(["jobs", "cancel", id], environment: client)
        #expect(notCancellable.status == 2 && notCancellable.err.contains("error: not_cancellable: "), "\(notCancellable.err)")

        // usage: by model, as text and JSON.
        let usage = try await Self.cli(["usage", "--group-by", "model"], environment: client)
        #expect(usage.status == 0 && usage.out.hasPrefix("model\tjobs") && usage.out.contains("kling-v2.5-turbo-pro\t1\t1\t0\t1500"), "\(usage.out)")
        let usageJSON = try await Self.cli(["usage", "--json"], environment: client)
        let days = try Self.object(usageJSON.out)["data"] as? [[String: Any]] ?? []
        #expect(days.reduce(0) { $0 + ($1["jobs"] as? Int ?? 0) } == 3, "\(usageJSON.out)")
    }

    /// On a terminal (a pseudo-terminal made by util-linux's `script`), the progress is a bar
    /// redrawn in place.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func onATerminalTheProgressIsABarRedrawnInPlace() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: ServerLifecycleTests.environment(data, ["VIDEOGATE_SANDBOX_DELAY_MS": "300"]))
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "), "\(server.log)")
        let work = data.url.appendingPathComponent("tty")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let command = "'\(VideogateBinary.path)' generate --prompt 'a fox on a terminal' --model wan-2.5 --out tty.mp4"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", command, "/dev/null"]
        process.environment = VideogateBinary.environment(["VIDEOGATE_BASE_URL": server.baseURL, "VIDEOGATE_API_KEY": key, "TERM": "xterm"])
        process.currentDirectoryURL = work
        let output = OutputBuffer()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { output.append($0.availableData) }
        try process.run()
        let deadline = ContinuousClock.now + .seconds(90)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try await output.waitForEnd(timeout: .seconds(5))
        pipe.fileHandleForReading.readabilityHandler = nil
        #expect(process.terminationStatus == 0, "\(output.text)")
        // "\r" then the bar, and "erase to the end of the line" after each redraw.
        #expect(output.text.contains("\r") && output.text.contains("[##############################] completed\u{1B}[K"), "\(output.text)")
        #expect(output.text.contains("completed: saved tty.mp4"))
    }

    @Test func cancelAndWatchAPendingJob() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        // An API process alone: nothing takes the job, so it stays pending until cancelled.
        let server = try await ServerProcess(environment: ServerLifecycleTests.environment(data), role: "api")
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "), "\(server.log)")
        let client = ["VIDEOGATE_BASE_URL": server.baseURL, "VIDEOGATE_API_KEY": key]
        let submitted = try await withHTTP { http in
            try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"waits","model":"wan-2.5"}"#)
        }
        let id = try #require(submitted.json["request_id"] as? String, "\(submitted.text)")
        async let watching = Self.cli(["jobs", "watch", id], environment: client)
        try await Task.sleep(for: .seconds(1))
        let cancelled = try await Self.cli(["jobs", "cancel", id, "--json"], environment: client)
        #expect(cancelled.status == 0, "\(cancelled.err)")
        let job = try Self.object(cancelled.out)
        #expect(job["status"] as? String == "error" && (job["error"] as? [String: Any])?["code"] as? String == "cancelled")
        // The watcher saw it pending with its queue position, then the end: exit 1, cancelled.
        let watched = try await watching
        #expect(watched.status == 1, "\(watched.out)\n\(watched.err)")
        #expect(watched.err.contains("\(id) pending (queue position 0)"), "\(watched.err)")
        #expect(watched.err.contains("error: cancelled: "), "\(watched.err)")
    }
}
