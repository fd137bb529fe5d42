import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A provider's API faked on 127.0.0.1: each fake (Kling, WAN, ...) registers its documented
/// routes on a router; this runs the server, records every request, plays scripted faults, keeps
/// the tasks, and serves result files from `/cdn/` (the provider's own file host).
///
/// Fakes are strict: a request whose auth, path, headers or body differ from the documentation
/// is answered with the provider's own error format and status, and recorded in `violations`,
/// so a test can also assert that none happened.
public final class FakeUpstream: Sendable {
    /// One request as the fake received it.
    public struct Recorded: Sendable {
        public var method: String
        public var path: String
        public var query: String?
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: Data
        /// The body as a JSON object, when it is one.
        public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }
    }

    /// A misbehaviour played instead of the normal answer, in order, once each.
    public enum Fault: Sendable, Equatable {
        /// The status with the provider's error body (and `Retry-After` when given).
        case status(Int, retryAfter: Int? = nil)
        /// HTTP 200 with a body that is not JSON.
        case malformed
        /// The status with one of the provider's documented error codes (docs/providers/errors.md)
        /// in its error body; `message` empty for a generic one.
        case documented(status: Int, code: String, message: String = "")
    }

    /// How the fake's tasks end.
    public enum Outcome: Sendable, Equatable {
        case succeed
        /// A generic failure with the provider's code and message.
        case fail
        /// A content-policy refusal in the final state.
        case policy
        /// Stays running forever (the job times out).
        case never
    }

    /// Which call a fault applies to.
    public enum Call: Sendable, Hashable {
        case create
        case status
        case content
    }

    /// A task the fake keeps.
    public struct Task: Sendable {
        public var id: String
        public var polls = 0
        public var externalID: String?
        public var mode: String
        /// The `callback_url` of the create call, when it had one.
        public var callbackURL: String?
        /// When the task finishes upstream, with `finish(after:)` (Unix milliseconds).
        public var finishesAt: Int64?
    }

    struct State {
        var requests: [Recorded] = []
        var violations: [String] = []
        var faults: [Call: [Fault]] = [:]
        var tasks: [String: Task] = [:]
        var outcome = Outcome.succeed
        var pollsBeforeDone = 1
        var refuseCreateForPolicy = false
        var port = 0
        var nextID = 0
        /// Every request received, counted whether or not it is kept in `requests`.
        var requestCount = 0
        var callCounts: [Call: Int] = [:]
        /// When each task first answered "succeeded", in Unix milliseconds.
        var succeededAt: [String: Int64] = [:]
        var keepRequests = true
        /// Answers held back: method, path prefix, how long, how many more times.
        var delays: [(method: String, prefix: String, delay: Duration, remaining: Int)] = []
        var delaysStarted = 0
        /// Tasks finish this long after their creation, whatever the polls (`finish(after:)`).
        var finishAfter: Duration?
        /// Whether finished tasks POST their callback to their `callback_url`.
        var sendCallbacks = false
        /// Where the callbacks to deliver go (set while the fake runs).
        var callbackSink: AsyncStream<PendingCallback>.Continuation?
        /// The status of each callback delivered, by task id, in order.
        var callbackAnswers: [String: [Int]] = [:]
    }

    /// A callback to POST when its task finishes.
    struct PendingCallback: Sendable {
        var taskID: String
        var url: String
        var at: ContinuousClock.Instant
        /// The provider's callback body for the task's final state.
        var body: @Sendable (TaskState) -> Any
    }

    let state = Mutex(State())
    /// The MP4 served as every task's result.
    public let video: Data

    public init(video: Data) {
        self.video = video
    }

    /// A fake that keeps every request in `requests` only when `recordRequests` is true; with false
    /// (long benchmarks) requests are only counted, so memory does not grow with their number.
    public init(video: Data, recordRequests: Bool) {
        self.video = video
        state.withLock { $0.keepRequests = recordRequests }
    }

    // MARK: scripting

    /// Queues faults for a call; each is played once, in order.
    public func inject(_ faults: [Fault], on call: Call) { state.withLock { $0.faults[call, default: []] += faults } }
    /// How tasks end from now on.
    public func finish(with outcome: Outcome) { state.withLock { $0.outcome = outcome } }
    /// How many status calls answer "running" before the final state.
    public func runningPolls(_ count: Int) { state.withLock { $0.pollsBeforeDone = count } }
    /// Holds back the answers of the next `times` requests of `method` to paths starting with
    /// `prefix` for `delay` (a slow provider; `.seconds(3600)` is one that never answers). The
    /// request is recorded when its answer is made, after the delay.
    public func delayAnswers(method: String, pathPrefix prefix: String, by delay: Duration, times: Int = .max) {
        state.withLock { $0.delays.append((method, prefix, delay, times)) }
    }
    /// Makes the next creates answer with the provider's content-policy error.
    public func refuseCreatesForPolicy(_ refuse: Bool = true) { state.withLock { $0.refuseCreateForPolicy = refuse } }
    /// Tasks finish `delay` after their creation (a render of fixed length), whatever the polls,
    /// instead of after `runningPolls` status calls.
    public func finish(after delay: Duration) { state.withLock { $0.finishAfter = delay } }
    /// With `finish(after:)`: when a task whose create named a `callback_url` finishes, POST the
    /// provider's documented callback body there, once, with a 5 s timeout, to 127.0.0.1 only.
    public func sendCallbacks(_ send: Bool = true) { state.withLock { $0.sendCallbacks = send } }

    // MARK: inspection

    public var requests: [Recorded] { state.withLock { $0.requests } }
    public var violations: [String] { state.withLock { $0.violations } }
    public var tasks: [Task] { state.withLock { Array($0.tasks.values) } }
    public var port: Int { state.withLock { $0.port } }
    /// Requests whose answer has started to be held back (`delayAnswers`): in flight or answered.
    public var delayedRequests: Int { state.withLock { $0.delaysStarted } }
    /// Requests received so far (also those not kept in `requests`).
    public var requestCount: Int { state.withLock { $0.requestCount } }
    /// Requests received so far by call.
    public var requestCounts: [Call: Int] { state.withLock { $0.callCounts } }
    /// The instant each task first answered "succeeded" to a status call, by task id.
    public var succeededAt: [String: Date] {
        state.withLock { $0.succeededAt.mapValues { Date(timeIntervalSince1970: Double($0) / 1000) } }
    }
    /// The HTTP status of each callback delivered (0: no answer), by task id.
    public var callbackAnswers: [String: [Int]] { state.withLock { $0.callbackAnswers } }
    /// `http://127.0.0.1:PORT`.
    public var origin: String { "http://127.0.0.1:\(port)" }
    /// Requests to paths with this prefix.
    public func requests(to prefix: String, method: String? = nil) -> [Recorded] {
        requests.filter { $0.path.hasPrefix(prefix) && (method == nil || $0.method == method) }
    }

    // MARK: for the fakes

    /// Records a request and answers with the next queued fault for `call`, if any.
    func record(_ request: Request, body: Data, call: Call) -> Fault? {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        let recorded = Recorded(method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers, body: body)
        return state.withLock { state in
            state.requestCount += 1
            state.callCounts[call, default: 0] += 1
            if state.keepRequests { state.requests.append(recorded) }
            guard var queue = state.faults[call], !queue.isEmpty else { return nil }
            let fault = queue.removeFirst()
            state.faults[call] = queue
            return fault
        }
    }

    /// The delay to play before answering this request, if one is scripted (counted once).
    func delay(for request: Request) -> Duration? {
        state.withLock { state in
            guard
                let index = state.delays.firstIndex(where: {
                    $0.remaining > 0 && $0.method == request.method.rawValue && request.uri.path.hasPrefix($0.prefix)
                })
            else { return nil }
            state.delays[index].remaining -= 1
            state.delaysStarted += 1
            return state.delays[index].delay
        }
    }

    /// Notes a request that differs from the documentation.
    func violation(_ text: String) { state.withLock { $0.violations.append(text) } }

    /// A new task, with an id of `prefix`. With `finish(after:)` it finishes at a fixed time, and
    /// with `sendCallbacks()` and a `callbackURL` its callback (`callback`, given the final state)
    /// is sent then.
    func createTask(
        prefix: String, mode: String, externalID: String? = nil, callbackURL: String? = nil,
        callback: (@Sendable (_ taskID: String, TaskState) -> Any)? = nil
    ) -> Task {
        state.withLock { state in
            state.nextID += 1
            var task = Task(id: "\(prefix)\(state.nextID)", externalID: externalID, mode: mode, callbackURL: callbackURL)
            if let delay = state.finishAfter {
                task.finishesAt = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) + delay.milliseconds
                if state.sendCallbacks, let callbackURL, let callback {
                    let id = task.id
                    state.callbackSink?.yield(PendingCallback(taskID: id, url: callbackURL, at: .now + delay, body: { callback(id, $0) }))
                }
            }
            state.tasks[task.id] = task
            return task
        }
    }

    var createRefusedForPolicy: Bool { state.withLock { $0.refuseCreateForPolicy } }

    /// The task by id or external id.
    func task(_ id: String) -> Task? {
        state.withLock { state in state.tasks[id] ?? state.tasks.values.first { $0.externalID == id } }
    }

    /// Counts a status call of a task and says where it stands.
    func advance(_ id: String) -> TaskState? {
        state.withLock { state in
            guard var task = state.tasks[id] else { return nil }
            task.polls += 1
            state.tasks[id] = task
            let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
            let running = task.finishesAt.map { now < $0 } ?? (task.polls <= state.pollsBeforeDone)
            if running || state.outcome == .never { return .running(polls: task.polls) }
            if state.outcome == .succeed, state.succeededAt[id] == nil { state.succeededAt[id] = now }
            return Self.finalState(state.outcome, polls: task.polls)
        }
    }

    /// The state a finished task shows under `outcome`.
    static func finalState(_ outcome: Outcome, polls: Int) -> TaskState {
        switch outcome {
        case .succeed: .succeeded
        case .fail: .failed
        case .policy: .refused
        case .never: .running(polls: polls)
        }
    }

    /// POSTs each callback at its time, each in its own child task, until `callbacks` ends or the
    /// task is cancelled (the fake stops).
    func deliver(_ callbacks: AsyncStream<PendingCallback>) async {
        await withDiscardingTaskGroup { group in
            for await callback in callbacks {
                group.addTask {
                    do { try await ContinuousClock().sleep(until: callback.at, tolerance: nil) } catch { return }
                    let outcome = self.state.withLock { $0.outcome }
                    let status = await self.post(callback.body(Self.finalState(outcome, polls: 0)), to: callback.url)
                    self.state.withLock { $0.callbackAnswers[callback.taskID, default: []].append(status) }
                }
            }
        }
    }

    /// One POST of a JSON body to a callback URL on 127.0.0.1; the answer's status, or 0.
    func post(_ body: Any, to url: String) async -> Int {
        guard let host = URL(string: url)?.host, host == "127.0.0.1" || host == "localhost" else {
            violation("callback_url \(url) is not on 127.0.0.1; not called")
            return 0
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            _ = try await response.body.collect(upTo: 64 * 1024)
            return Int(response.status.code)
        } catch {
            return 0
        }
    }

    public enum TaskState: Sendable, Equatable {
        case running(polls: Int)
        case succeeded
        case failed
        case refused
    }

    /// The URL of a task's result file on the fake's own file host.
    func fileURL(_ id: String) -> String { "\(origin)/cdn/\(id).mp4" }

    // MARK: running

    /// Starts the fake with `routes` on 127.0.0.1 (a free port), runs `body`, and stops it.
    public func run<T: Sendable>(
        routes: @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void, _ body: @Sendable (FakeUpstream) async throws -> T
    ) async throws -> T {
        let (callbacks, sink) = AsyncStream.makeStream(of: PendingCallback.self)
        state.withLock { $0.callbackSink = sink }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await self.deliver(callbacks)
                return nil
            }
            defer {
                sink.finish()
                group.cancelAll()
            }
            return try await serve(routes: routes, body)
        }
    }

    private func serve<T: Sendable>(
        routes: @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void, _ body: @Sendable (FakeUpstream) async throws -> T
    ) async throws -> T {
        try await LocalServer.run(name: "fake", { router in
            router.add(middleware: AnswerDelay(fake: self))
            routes(router, self)
            router.get("/cdn/{file}") { [self] request, context -> Response in
                _ = record(request, body: Data(), call: .content)
                return Response(status: .ok, headers: [.contentType: "video/mp4"], body: .init(byteBuffer: ByteBuffer(bytes: video)))
            }
            // The fake's own statistics (not recorded as a request); `?summary=1` leaves out `succeeded_at`.
            router.get("/_stats") { [self] request, context -> Response in
                Self.json(.ok, statistics(withSucceededAt: request.uri.queryParameters.get("summary") != "1"))
            }
        }) { port in
            state.withLock { $0.port = port }
            return try await body(self)
        }
    }
}

/// Answers shared by the fakes.
extension FakeUpstream {
    /// `{"requests": N, "by_call": {"create", "status", "content"}, "succeeded": N, "succeeded_at": {"TASK_ID": unix_ms},
    /// "finishes_at": {"TASK_ID": unix_ms}, "callbacks": N}` (`finishes_at` with `finish(after:)`).
    func statistics(withSucceededAt: Bool) -> [String: Any] {
        state.withLock { state in
            var stats: [String: Any] = [
                "requests": state.requestCount,
                "by_call": ["create": state.callCounts[.create] ?? 0, "status": state.callCounts[.status] ?? 0, "content": state.callCounts[.content] ?? 0],
                "succeeded": state.succeededAt.count,
            ]
            stats["callbacks"] = state.callbackAnswers.values.reduce(0) { $0 + $1.count }
            if withSucceededAt {
                stats["succeeded_at"] = state.succeededAt.mapValues { Int($0) }
                stats["finishes_at"] = state.tasks.compactMapValues { $0.finishesAt.map { Int($0) } }
            }
            return stats
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: Any, headers extra: HTTPFields = [:]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func malformed() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"task\": <html>oops")))
    }

    /// The fault's answer in the provider's error format: `error(status, code, message)` makes the
    /// body, with the fake's own code for the status when `code` is nil and `fault STATUS` when
    /// `message` is empty.
    static func play(_ fault: Fault, error: (Int, String?, String) -> Any) -> Response {
        switch fault {
        case .malformed:
            return malformed()
        case .status(let code, let retryAfter):
            var headers: HTTPFields = [:]
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return json(HTTPResponse.Status(code: code), error(code, nil, ""), headers: headers)
        case .documented(let status, let code, let message):
            return json(HTTPResponse.Status(code: status), error(status, code, message))
        }
    }

    /// `message`, or `fault STATUS` when it is empty.
    static func message(_ message: String, status: Int) -> String { message.isEmpty ? "fault \(status)" : message }

    static func body(_ request: Request, context: BasicRequestContext) async throws -> Data {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        return Data(buffer: buffer)
    }
}

/// Plays the delays scripted with `FakeUpstream.delayAnswers`.
struct AnswerDelay: RouterMiddleware {
    let fake: FakeUpstream

    func handle(_ request: Request, context: BasicRequestContext, next: (Request, BasicRequestContext) async throws -> Response) async throws -> Response {
        if let delay = fake.delay(for: request) { try await Task.sleep(for: delay) }
        return try await next(request, context)
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
