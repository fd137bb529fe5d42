import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VideogateAPI
import VideogateApp
import VideogateDomain

/// One server-sent event or comment of a finished stream body.
struct ServerSentEvent {
    let event: String?
    let data: String?
    let comment: String?

    var job: [String: Any] { data.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:] }

    /// The events of a whole `text/event-stream` body (blocks separated by a blank line).
    static func parse(_ text: String) -> [ServerSentEvent] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            var event: String?
            var data: String?
            var comment: String?
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { comment = String(line.dropFirst()).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            return ServerSentEvent(event: event, data: data, comment: comment)
        }
    }
}

@Suite("Live status stream: GET /v1/video/{id}/events")
struct EventStreamTests {
    @Test func aSandboxJobStreamsEachChangeOnceAndTheStreamEndsAfterCompleted() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 1_500)
        let (_, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let submitted = try await client.submit(key: key, json: #"{"prompt":"stream me","model":"sora-2"}"#)
            let id = try #require(try submitted.json()["request_id"] as? String)
            // The router test client returns once the stream has ended: the end itself is checked here.
            let response = try await client.get("/v1/video/\(id)/events", key: key)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            #expect(response.headers[.cacheControl] == "no-cache")
            #expect(response.headers[HTTPField.Name("X-RateLimit-Limit")!] != nil)
            let events = ServerSentEvent.parse(response.text).filter { $0.comment == nil }
            #expect(events.allSatisfy { $0.event == "job" }, "\(response.text)")
            let statuses = events.map { $0.job["status"] as? String ?? "?" }
            #expect(statuses.last == "completed", "\(statuses)")
            #expect(statuses.contains("processing"), "\(statuses)")
            // Each change once: no two events in a row show the same job.
            for (previous, next) in zip(events, events.dropFirst()) { #expect(previous.data != next.data, "\(statuses)") }
            let final = events.last?.job ?? [:]
            #expect(final["request_id"] as? String == id)
            #expect(final["credits_used"] as? Int == 3500)
            #expect((final["video_url"] as? String)?.contains("/files/\(id).mp4") == true)
            // The poll throttle is not involved: a stream right after another is answered at once.
            let again = try await client.get("/v1/video/\(id)/events", key: key)
            let replay = ServerSentEvent.parse(again.text)
            #expect(replay.count == 1 && replay.first?.job["status"] as? String == "completed", "\(again.text)")
        }
    }

    @Test func keepAliveCommentsFlowWhileNothingChanges() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 3_500) { $0.eventKeepAlive = 1 }
        let (_, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"quiet","model":"sora-2"}"#).json()["request_id"] as? String)
            let text = try await client.get("/v1/video/\(id)/events", key: key).text
            let blocks = ServerSentEvent.parse(text)
            #expect(blocks.filter { $0.comment == "keep-alive" }.count >= 2, "\(text)")
            #expect(blocks.last?.job["status"] as? String == "completed", "\(text)")
        }
    }

    @Test func otherAccountsJobsTheOtherEnvironmentAndUnknownIdsAre404() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 10_000)
        let (_, stranger, _) = try await gateway.account(credits: 0)
        let (_, live) = try await gateway.actions.createKey(accountID: account.id, environment: .live, name: nil)
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"mine","model":"sora-2"}"#).json()["request_id"] as? String)
            try await client.get("/v1/video/\(id)/events", key: stranger).expectError(404, "not_found")
            try await client.get("/v1/video/\(id)/events", key: live).expectError(404, "not_found")
            try await client.get("/v1/video/req_01JD0000000000000000000000/events", key: key).expectError(404, "not_found")
            try await client.get("/v1/video/garbage/events", key: key).expectError(404, "not_found")
            try await client.get("/v1/video/\(id)/events", key: nil).expectError(401, "invalid_api_key")
            #expect(gateway.gateway.services.events.openStreams == 0)
        }
    }

    @Test func theHundredAndFirstOpenStreamOfAKeyGets429AndAnotherKeyStillStreams() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 10_000)
        let (_, second) = try await gateway.actions.createKey(accountID: account.id, environment: .test, name: nil)
        let hub = gateway.gateway.services.events
        try await gateway.test { client in
            // No worker: the job stays pending and its streams stay open.
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"wait","model":"sora-2"}"#).json()["request_id"] as? String)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<JobEventHub.maxStreamsPerKey {
                    group.addTask { _ = try? await client.get("/v1/video/\(id)/events", key: key) }
                }
                let deadline = ContinuousClock.now + .seconds(30)
                while hub.openStreams < JobEventHub.maxStreamsPerKey && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                try #require(hub.openStreams == JobEventHub.maxStreamsPerKey)
                let refused = try await client.get("/v1/video/\(id)/events", key: key)
                try refused.expectError(429, "too_many_streams")
                #expect(refused.headers[.retryAfter] != nil)
                group.addTask { _ = try? await client.get("/v1/video/\(id)/events", key: second) }
                while hub.openStreams < JobEventHub.maxStreamsPerKey + 1 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(hub.openStreams == JobEventHub.maxStreamsPerKey + 1)
                group.cancelAll()
            }
            // Every stream that ended gave its slot back.
            #expect(hub.openStreams == 0)
            let head = try await client.execute(uri: "/v1/video/\(id)/events", method: .head, headers: [.authorization: "Bearer \(key)"])
            #expect(head.status == .ok)
            #expect(hub.openStreams == 0)
        }
    }
}
