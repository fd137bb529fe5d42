import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// `/readyz` of the real binary on PostgreSQL and S3 (moto) answers within a second whatever is
/// down, hanging or refusing, and 200 again once it is back. Needs `scripts/with-services`.
@Suite("Readiness answers whatever is down", .serialized)
struct ReadinessTests {
    /// One probe as an orchestrator sends it (a 3 s client timeout), and how long it took.
    static func probe(_ http: TestHTTP, _ base: String) async throws -> (status: Int, code: String?, elapsed: Duration) {
        let started = ContinuousClock.now
        let response = try await http.client.execute(HTTPClientRequest(url: "\(base)/readyz"), timeout: .seconds(3))
        let body = try await response.body.collect(upTo: 64 * 1024)
        let json = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
        return (Int(response.status.code), json?["error"] as? String, ContinuousClock.now - started)
    }

    /// Expects 503 `not_ready` well within the probe's timeout; a second probe while the first
    /// check may still hang must answer as fast.
    static func expectNotReadyPromptly(_ http: TestHTTP, _ base: String, _ what: String) async throws {
        for _ in 0..<2 {
            let answer = try await probe(http, base)
            #expect(answer.status == 503 && answer.code == "not_ready", "\(what): \(answer)")
            // 0.8 s deadline in the server; the margin is for a loaded test machine.
            #expect(answer.elapsed < .milliseconds(1_500), "\(what): answered after \(answer.elapsed)")
        }
    }

    static func waitUntilReady(_ http: TestHTTP, _ base: String, timeout: Duration = .seconds(30)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await probe(http, base).status) == 200 { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return false
    }

    @Test(.enabled(if: PausedPostgres.available)) func pausedDatabaseAnswers503WithinASecondAnd200OnceResumed() async throws {
        try await ReplicaTests.withDeployment(processes: 1) { deployment in
            let server = try await ServerProcess(environment: deployment.environment(0), role: "api")
            defer { server.stop() }
            #expect(try await Self.waitUntilReady(deployment.http, server.baseURL), "\(server.logTail)")
            try await PausedPostgres.whilePaused {
                try await Self.expectNotReadyPromptly(deployment.http, server.baseURL, "database paused")
            }
            #expect(try await Self.waitUntilReady(deployment.http, server.baseURL), "not ready again after the database resumed")
        }
    }

    @Test(.enabled(if: PausedPostgres.available)) func storageThatHangsOrRefusesAnswers503WithinASecondAlsoWithTheDatabaseDown() async throws {
        try await ReplicaTests.withDeployment(processes: 2) { deployment in
            let silent = try SilentListener()
            let hanging = try await ServerProcess(
                environment: deployment.environment(0, ["VIDEOGATE_S3_ENDPOINT": "http://127.0.0.1:\(silent.port)"]), role: "api")
            defer { hanging.stop() }
            let refusing = try await ServerProcess(
                environment: deployment.environment(1, ["VIDEOGATE_S3_ENDPOINT": "http://127.0.0.1:\(try SilentListener.closedPort())"]), role: "api")
            defer { refusing.stop() }
            try await Self.expectNotReadyPromptly(deployment.http, hanging.baseURL, "storage hangs")
            try await Self.expectNotReadyPromptly(deployment.http, refusing.baseURL, "storage refuses")
            try await PausedPostgres.whilePaused {
                try await Self.expectNotReadyPromptly(deployment.http, hanging.baseURL, "storage hangs, database paused")
                try await Self.expectNotReadyPromptly(deployment.http, refusing.baseURL, "storage refuses, database paused")
            }
        }
    }

    /// operations.md: `VIDEOGATE_S3_PATH_STYLE` defaults to true when `VIDEOGATE_S3_ENDPOINT` is
    /// set. With virtual-host addressing every upload to moto would fail (`bucket.127.0.0.1`).
    @Test(.enabled(if: ReplicaServices.available)) func anEndpointAloneUploadsResultsPathStyle() async throws {
        try await ReplicaTests.withDeployment(processes: 1) { deployment in
            var environment = deployment.environment(0)
            environment.removeValue(forKey: "VIDEOGATE_S3_PATH_STYLE")
            let server = try await ServerProcess(environment: environment, role: "all")
            defer { server.stop() }
            let http = deployment.http
            let client = try await ReplicaTests.Client.make(http, base: server.baseURL, plan: "pro", credits: 100_000, dailyLimit: nil)
            let submitted = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: client.key, json: #"{"prompt":"path style","model":"sora-2"}"#)
            let id = try #require(submitted.json["request_id"] as? String, "\(submitted.status) \(submitted.text)")
            let final = try await http.waitForFinal(server.baseURL, id: id, key: client.key, timeout: .seconds(90))
            #expect(final["status"] as? String == "completed", "\(final)\n\(server.logTail)")
            let content = try await http.send(.GET, "\(server.baseURL)/v1/video/\(id)/content", bearer: client.key)
            #expect(content.status == 200 && content.body.count > 1_000, "\(content.status)")
            // The object is where path-style addressing puts it.
            let listing = try await http.send(.GET, "\(try #require(ReplicaServices.s3Endpoint))/\(deployment.bucket)?list-type=2")
            #expect(listing.text.contains("\(id).mp4"), "\(listing.text.prefix(500))")
        }
    }
}
