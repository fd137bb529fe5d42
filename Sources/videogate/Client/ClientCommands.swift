import ArgumentParser
import Foundation
import NIOHTTP1

// `videogate generate`, `videogate jobs list|show|watch|cancel` and `videogate usage`: clients of
// the public HTTP API for people at a terminal and for scripts (operations.md, "Operator console
// and command-line client"). Exit codes: 0 a completed job (or a command that succeeded), 1 a job
// that ended in `error` (its code and message on stderr), 2 a refused request, an unreachable
// server or a usage error (the API's error code on stderr).

/// Options every client command shares.
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("base-url"), help: "The API's base URL (VIDEOGATE_BASE_URL; default http://127.0.0.1:8080).")
    var baseURL: String?
    @Option(help: "An API key, vg_test_... or vg_live_... (VIDEOGATE_API_KEY).") var key: String?
    @Flag(help: "Print the API's JSON on stdout instead of text.") var json = false

    func client() throws -> APIClient {
        let environment = ProcessInfo.processInfo.environment
        guard let key = key ?? environment["VIDEOGATE_API_KEY"], !key.isEmpty else {
            throw ValidationError("No API key: pass --key or set VIDEOGATE_API_KEY.")
        }
        let base = baseURL ?? environment["VIDEOGATE_BASE_URL"] ?? "http://127.0.0.1:8080"
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw ValidationError("--base-url must start with http:// or https://.")
        }
        return APIClient(baseURL: base, key: key)
    }
}

enum ClientOutput {
    static func json(_ object: Any) -> String {
        guard JSONSerialization.isValidJSONObject(object),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func stderr(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// A refusal or an unreachable server: the API's error code on stderr, exit 2.
    static func refused(_ error: APIError) -> ExitCode {
        stderr("error: \(error.code): \(error.message)")
        return ExitCode(2)
    }

    /// A job's final state: 0 completed, 1 error (its code and message on stderr).
    static func exitCode(of job: [String: Any]) -> ExitCode {
        guard job["status"] as? String == "error" else { return .success }
        let error = job["error"] as? [String: Any]
        stderr("error: \(error?["code"] as? String ?? "error"): \(error?["message"] as? String ?? "the job failed")")
        return ExitCode(1)
    }

    static func describe(_ job: [String: Any]) -> String {
        let order = [
            "request_id", "status", "model", "routed_model", "mode", "aspect_ratio", "duration", "progress", "queue_position",
            "estimated_completion_at", "credits_reserved", "credits_used", "created_at", "completed_at", "video_url", "expires_at",
        ]
        var lines: [String] = []
        for key in order {
            guard let value = job[key], !(value is NSNull) else { continue }
            lines.append("\(key): \(value)")
        }
        if let error = job["error"] as? [String: Any] {
            lines.append("error: \(error["code"] as? String ?? "") \(error["message"] as? String ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// Calls the API: the answer's object, or exit 2 with the API's error code (or `unreachable`).
/// `query` items whose value is nil are left out.
func call(_ client: APIClient, _ method: HTTPMethod, _ path: String, query items: [(String, String?)] = []) async throws -> [String: Any] {
    var components = URLComponents()
    let query = items.compactMap { name, value in value.map { URLQueryItem(name: name, value: $0) } }
    components.queryItems = query.isEmpty ? nil : query
    let answer: APIClient.Answer
    do { answer = try await client.send(method, path + (components.percentEncodedQuery.map { "?" + $0 } ?? "")) } catch let error as APIError {
        throw ClientOutput.refused(error)
    }
    guard answer.ok else { throw ClientOutput.refused(answer.error) }
    return answer.object
}

/// Waits for a job's final state: the live events stream, falling back to polls (every 5 s, the
/// API's poll throttle) when streams are refused or drop; progress on stderr.
func waitForFinal(_ client: APIClient, id: String, progress: inout JobProgress) async throws(APIError) -> [String: Any] {
    func isFinal(_ job: [String: Any]) -> Bool { ["completed", "error"].contains(job["status"] as? String ?? "") }
    var useEvents = true
    while true {
        if useEvents {
            do {
                for try await data in try await client.events(of: id) {
                    guard let job = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] else { continue }
                    progress.show(job)
                    if isFinal(job) { return job }
                }
            } catch let error as APIError {
                if error.status == 404 || error.status == 401 || error.status == 403 { throw error }
                useEvents = false  // e.g. 429 too_many_streams: poll instead
            } catch {
                // The stream dropped: read the job, then open a new one.
            }
        }
        let answer: APIClient.Answer
        do { answer = try await client.send(.GET, "/v1/video/\(id)") } catch let error as APIError { throw error } catch {
            throw APIError.unreachable(client.baseURL, error)
        }
        if answer.status == 429 {
            try? await Task.sleep(for: .seconds(5))
            continue
        }
        guard answer.ok else { throw answer.error }
        progress.show(answer.object)
        if isFinal(answer.object) { return answer.object }
        try? await Task.sleep(for: .seconds(useEvents ? 1 : 5))
    }
}

/// Shows a final job: the downloaded file (human) or the job object (`--json`), and its exit code.
func finish(_ job: [String: Any], client: APIClient, out: String?, download: Bool, json: Bool) async throws -> ExitCode {
    let id = job["request_id"] as? String ?? ""
    var saved: String?
    if download, job["status"] as? String == "completed" {
        let path = out ?? "\(id).mp4"
        do {
            try await client.download("/v1/video/\(id)/content", to: URL(fileURLWithPath: path))
        } catch let error as APIError {
            return ClientOutput.refused(error)
        }
        saved = path
    }
    if json {
        print(ClientOutput.json(job))
    } else if let saved {
        let size = (try? FileManager.default.attributesOfItem(atPath: saved)[.size] as? Int) ?? 0
        print("\(id) completed: saved \(saved) (\(size) bytes)")
    } else {
        print(ClientOutput.describe(job))
    }
    return ClientOutput.exitCode(of: job)
}

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a prompt, show its progress, and download the video.",
        discussion: "Exit status: 0 completed, 1 the job ended in error, 2 refused request or usage error.")

    @Option(help: "The prompt.") var prompt: String
    @Option(help: "A model id, e.g. kling-v2.5-turbo-pro (GET /v1/models lists them).") var model: String
    @Option(help: "A start image: a PNG, JPEG or WebP file, or an https:// URL.") var image: String?
    @Option(help: "16:9, 9:16 or 1:1.") var aspectRatio: String?
    @Option(help: "Seconds; the model's default when absent.") var duration: Int?
    @Option(help: "Where to save the MP4 (default <request_id>.mp4).") var out: String?
    @Flag(help: "Do not show progress on stderr.") var quiet = false
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = try options.client()
        var body: [String: Any] = ["prompt": prompt, "model": model]
        if let aspectRatio { body["aspect_ratio"] = aspectRatio }
        if let duration { body["duration"] = duration }
        if let image {
            if image.hasPrefix("https://") || image.hasPrefix("http://") {
                body["image"] = image
            } else {
                guard let bytes = FileManager.default.contents(atPath: image) else { throw ValidationError("Cannot read --image \(image).") }
                body["image"] = bytes.base64EncodedString()
            }
        }
        let data = try JSONSerialization.data(withJSONObject: body)
        // One idempotency key for this command: a submission retried after a lost answer is not created twice.
        let idempotencyKey = "cli-\(UUID().uuidString.lowercased())"
        var answer: APIClient.Answer?
        for attempt in 1...3 {
            do {
                answer = try await client.send(.POST, "/v1/video", json: data, headers: [("Idempotency-Key", idempotencyKey)])
                break
            } catch let error as APIError {
                if attempt == 3 { throw ClientOutput.refused(error) }
                try await Task.sleep(for: .seconds(attempt))
            }
        }
        guard let answer, answer.ok, let id = answer.object["request_id"] as? String else {
            throw ClientOutput.refused(answer?.error ?? APIError(code: "no_answer", message: "No answer.", status: nil))
        }
        var progress = JobProgress(quiet: quiet)
        let job: [String: Any]
        do { job = try await waitForFinal(client, id: id, progress: &progress) } catch {
            progress.finish()
            throw ClientOutput.refused(error)
        }
        progress.finish()
        throw try await finish(job, client: client, out: out, download: true, json: options.json)
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, watch and cancel jobs of the key's account.", subcommands: [List.self, Show.self, Watch.self, Cancel.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The account's jobs, newest first.")
        @Option(help: "pending, processing, completed or error.") var status: String?
        @Option(help: "Jobs per page (1 to 100).") var limit: Int?
        @Option(help: "The next_cursor of the previous page.") var after: String?
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let answer = try await call(
                try options.client(), .GET, "/v1/video", query: [("status", status), ("limit", limit.map(String.init)), ("after", after)])
            if options.json {
                print(ClientOutput.json(answer))
                return
            }
            let jobs = answer["data"] as? [[String: Any]] ?? []
            for job in jobs {
                let id = job["request_id"] as? String ?? ""
                let model = job["model"] as? String ?? ""
                let created = job["created_at"] as? String ?? ""
                print("\(id)  \(JobProgress.summary(job).padding(toLength: 28, withPad: " ", startingAt: 0))  \(model)  \(created)")
            }
            if answer["has_more"] as? Bool == true, let next = answer["next_cursor"] as? String {
                print("more: videogate jobs list --after \(next)")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One job as it is now.", discussion: "Exit status: 0 unless the job ended in error (1); 2 refused.")
        @Argument(help: "The job's request_id.") var id: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let job = try await call(try options.client(), .GET, "/v1/video/\(id)")
            print(options.json ? ClientOutput.json(job) : ClientOutput.describe(job))
            let code = ClientOutput.exitCode(of: job)
            if code != .success { throw code }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow a job to its end, with progress; --out downloads the video.",
            discussion: "Exit status: 0 completed, 1 the job ended in error, 2 refused request or usage error.")
        @Argument(help: "The job's request_id.") var id: String
        @Option(help: "Save the MP4 here once completed.") var out: String?
        @Flag(help: "Do not show progress on stderr.") var quiet = false
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = try options.client()
            var progress = JobProgress(quiet: quiet)
            let job: [String: Any]
            do { job = try await waitForFinal(client, id: id, progress: &progress) } catch {
                progress.finish()
                throw ClientOutput.refused(error)
            }
            progress.finish()
            throw try await finish(job, client: client, out: out, download: out != nil, json: options.json)
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a pending job (its hold is released).",
            discussion: "Exit status: 0 cancelled; 2 refused, e.g. not_cancellable once a provider has the job.")
        @Argument(help: "The job's request_id.") var id: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let job = try await call(try options.client(), .POST, "/v1/video/\(id)/cancel")
            print(options.json ? ClientOutput.json(job) : "\(id) cancelled")
        }
    }
}

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Jobs and credits of the key's account and environment, by day, model or key.")
    @Option(help: "Start: an RFC 3339 time or a date (default 30 days ago).") var from: String?
    @Option(help: "End: an RFC 3339 time or a date (default now).") var to: String?
    @Option(help: "day, model or key.") var groupBy: String?
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let answer = try await call(try options.client(), .GET, "/v1/usage", query: [("from", from), ("to", to), ("group_by", groupBy)])
        if options.json {
            print(ClientOutput.json(answer))
            return
        }
        let rows = answer["data"] as? [[String: Any]] ?? []
        let column = ["day", "model", "key_id"].first { name in rows.first?[name] != nil } ?? (groupBy == "key" ? "key_id" : groupBy ?? "day")
        print([column, "jobs", "completed", "failed", "credits_charged", "seconds_rendered"].joined(separator: "\t"))
        for row in rows {
            let cells = [column, "jobs", "completed", "failed", "credits_charged", "seconds_rendered"].map { "\(row[$0] ?? "")" }
            print(cells.joined(separator: "\t"))
        }
    }
}
