import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateStorage

/// Test and live are separate worlds (api.md, "Authentication and accounts"): on every route of
/// both surfaces a key's request for a job of the other environment answers exactly as for a job
/// that does not exist, and `Idempotency-Key`s never cross environments.
@Suite("Test and live keys see separate worlds")
struct EnvironmentIsolationTests {
    static let textModel = "kling-v2.5-turbo-pro"

    /// An API-only gateway where the live Kling model is available (nothing calls it: no workers run).
    static func gateway() async throws -> TestGateway {
        try await TestGateway.make { config in
            config.providers.klingAccessKey = "ak-test"
            config.providers.klingSecretKey = "sk-test"
            config.providers.klingBaseURL = "http://127.0.0.1:9"
        }
    }

    /// One account with a key of each environment, both funded.
    static func keys(_ gateway: TestGateway) async throws -> (account: Account, test: String, live: String) {
        let (account, test, _) = try await gateway.account(environment: .test)
        _ = try await gateway.actions.addCredits(accountID: account.id, environment: .live, amount: 100_000, reason: "test")
        let (_, live) = try await gateway.actions.createKey(accountID: account.id, environment: .live, name: nil)
        return (account, test, live)
    }

    /// Completes a pending job as a worker would, with a stored result file.
    static func complete(_ gateway: TestGateway, _ id: String) async throws {
        let now = Date()
        let claimed = try await gateway.store.claimJobs(owner: "test-worker", limit: 100, now: now, leaseUntil: now.addingTimeInterval(60))
        let job = try #require(claimed.first { $0.id == id })
        for other in claimed where other.id != id { try await gateway.store.releaseLease(jobID: other.id, token: other.leaseToken ?? "") }
        let key = ResultKeys.video(jobID: id)
        try await gateway.gateway.services.blobs.put(key: key, data: Data("not really an mp4".utf8), contentType: "video/mp4")
        let result = JobResult(videoKey: key, thumbnailKey: nil, videoBytes: 17, durationMilliseconds: 1000, width: 2, height: 2)
        let transition = try JobStateMachine.apply(.succeeded(result), to: job, now: now, videoTTL: 3600)
        #expect(try await gateway.store.apply(transition, token: job.leaseToken ?? "", at: now))
    }

    /// The answers of every job route for `id`, as (route, status, body).
    static func answers(_ client: any TestClientProtocol, id: String, key: String) async throws -> [(String, UInt16, String)] {
        var result: [(String, UInt16, String)] = []
        for uri in ["/v1/video/\(id)", "/v1/video/\(id)/content", "/v1/videos/\(id)", "/v1/videos/\(id)/content"] {
            let response = try await client.get(uri, key: key)
            result.append(("GET " + uri, UInt16(response.status.code), response.text))
        }
        let deleted = try await client.deleteVideo(id, key: key)
        result.append(("DELETE /v1/videos/\(id)", UInt16(deleted.status.code), deleted.text))
        return result
    }

    @Test(arguments: [KeyEnvironment.test, .live])
    func theOtherEnvironmentsJobAnswersAsAMissingOneOnEveryRoute(owner: KeyEnvironment) async throws {
        let gateway = try await Self.gateway()
        let (_, test, live) = try await Self.keys(gateway)
        let (ownKey, otherKey) = owner == .test ? (test, live) : (live, test)
        try await gateway.test { client in
            let created = try await client.submit(key: ownKey, json: #"{"prompt":"p","model":"\#(Self.textModel)"}"#)
            let id = try #require(try created.json()["request_id"] as? String, "\(created.text)")
            try await Self.complete(gateway, id)
            let missing = Identifier.make("req")

            let crossed = try await Self.answers(client, id: id, key: otherKey)
            let absent = try await Self.answers(client, id: missing, key: otherKey)
            for (seen, unknown) in zip(crossed, absent) {
                #expect(seen.1 == 404, "\(seen.0): \(seen.2)")
                // Byte for byte what a job that does not exist gets, the id aside.
                #expect(seen.2.replacingOccurrences(of: id, with: missing) == unknown.2, "\(seen.0)")
            }
            for uri in ["/v1/video", "/v1/videos"] {
                let list = try await client.get(uri, key: otherKey).json()
                #expect((list["data"] as? [Any])?.isEmpty == true, "\(uri) of the other environment lists the job")
            }

            // The owner still sees and downloads it: the refused delete changed nothing.
            #expect(try await client.get("/v1/video/\(id)", key: ownKey).json()["status"] as? String == "completed")
            #expect(try await client.get("/v1/video/\(id)/content", key: ownKey).status == .ok)
            #expect(try await client.get("/v1/videos/\(id)/content", key: ownKey).status == .ok)
            for (uri, field) in [("/v1/video", "request_id"), ("/v1/videos", "id")] {
                let list = try await client.get(uri, key: ownKey).json()
                #expect((list["data"] as? [[String: Any]])?.compactMap { $0[field] as? String } == [id], "\(uri)")
            }
            #expect(try await client.deleteVideo(id, key: ownKey).status == .ok)
        }
    }

    @Test(arguments: [KeyEnvironment.test, .live])
    func anIdempotencyKeyNeverCrossesEnvironments(first: KeyEnvironment) async throws {
        let gateway = try await Self.gateway()
        let (account, test, live) = try await Self.keys(gateway)
        let (firstKey, secondKey) = first == .test ? (test, live) : (live, test)
        try await gateway.test { client in
            let body = #"{"prompt":"p","model":"\#(Self.textModel)"}"#
            var headers = HTTPFields()
            headers[.init("Idempotency-Key")!] = "order-42"
            let original = try await client.submit(key: firstKey, json: body, headers: headers)
            let originalID = try #require(try original.json()["request_id"] as? String, "\(original.text)")

            // The same key and body from the other environment: a new job there, not the first one.
            let crossed = try await client.submit(key: secondKey, json: body, headers: headers)
            #expect(crossed.status == .ok, "\(crossed.text)")
            #expect(crossed.headers[.init("Idempotent-Replayed")!] == nil)
            let crossedID = try #require(try crossed.json()["request_id"] as? String)
            #expect(crossedID != originalID)
            // Another body under that key in the other environment: no conflict either.
            var otherHeaders = HTTPFields()
            otherHeaders[.init("Idempotency-Key")!] = "order-43"
            #expect(try await client.submit(key: firstKey, json: body, headers: otherHeaders).status == .ok)
            #expect(try await client.submit(key: secondKey, json: #"{"prompt":"q","model":"\#(Self.textModel)"}"#, headers: otherHeaders).status == .ok)

            // Each environment replays its own job.
            for (key, id) in [(firstKey, originalID), (secondKey, crossedID)] {
                let replay = try await client.submit(key: key, json: body, headers: headers)
                #expect(replay.headers[.init("Idempotent-Replayed")!] == "true")
                #expect(try replay.json()["request_id"] as? String == id)
                try await client.submit(key: key, json: #"{"prompt":"other","model":"\#(Self.textModel)"}"#, headers: headers)
                    .expectError(409, "idempotency_conflict")
            }
            let balances = try await gateway.store.balances(accountID: account.id)
            #expect(balances[.test]?.held == balances[.live]?.held && (balances[.test]?.held ?? 0) > 0)
        }
    }
}
