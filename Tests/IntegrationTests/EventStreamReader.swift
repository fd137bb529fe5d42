import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

/// One `event: job` as it arrived: its data, the job's status, and when it was read.
struct StreamedEvent: Sendable {
    let data: String
    let status: String
    let at: ContinuousClock.Instant
    let wall: Date
}

/// What one live status stream delivered so far, filled in as it arrives.
final class StreamLog: Sendable {
    private struct State {
        var status: Int?
        var events: [StreamedEvent] = []
        var comments: [String] = []
        var end: Result<Void, any Error>?
    }
    private let state = Mutex(State())

    var events: [StreamedEvent] { state.withLock { $0.events } }
    var comments: [String] { state.withLock { $0.comments } }
    var statuses: [String] { events.map(\.status) }
    /// Whether the server ended the body cleanly (false while open or after an error).
    var endedCleanly: Bool { state.withLock { if case .success = $0.end { true } else { false } } }
    var isOver: Bool { state.withLock { $0.end != nil } }
    var failure: String? { state.withLock { if case .failure(let error) = $0.end { String(describing: error) } else { nil } } }

    /// Reads `url` as an event stream until the server ends it (or `timeout`); never throws.
    func read(_ client: HTTPClient, url: String, key: String, timeout: Duration = .seconds(300)) async {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout.components.seconds)))
            state.withLock { $0.status = Int(response.status.code) }
            var pending = ""
            for try await chunk in response.body {
                pending += String(buffer: chunk)
                while let blank = pending.range(of: "\n\n") {
                    let block = String(pending[..<blank.lowerBound])
                    pending.removeSubrange(..<blank.upperBound)
                    record(block)
                }
            }
            state.withLock { $0.end = .success(()) }
        } catch {
            state.withLock { $0.end = .failure(error) }
        }
    }

    private func record(_ block: String) {
        let now = (ContinuousClock.now, Date())
        for line in block.split(separator: "\n") where line.hasPrefix(":") {
            state.withLock { $0.comments.append(line.dropFirst().trimmingCharacters(in: .whitespaces)) }
        }
        guard let line = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) else { return }
        let data = String(line.dropFirst(6))
        let object = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
        let event = StreamedEvent(data: data, status: object?["status"] as? String ?? "?", at: now.0, wall: now.1)
        state.withLock { $0.events.append(event) }
    }

    /// Waits (bounded) until `condition` holds; true when it did.
    func wait(timeout: Duration, until condition: (StreamLog) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return condition(self)
    }
}

extension Array where Element == String {
    /// The values without consecutive repeats: the statuses a job went through.
    var withoutRepeats: [String] { reduce(into: []) { if $0.last != $1 { $0.append($1) } } }
}
