import AsyncHTTPClient
import Foundation
import ProviderFakes
import Testing

/// Live status streams through the real binary: across two API processes on PostgreSQL with the
/// worker in a third, and through a graceful shutdown.
@Suite("Live status streams through the real binary", .serialized)
struct EventStreamProcessTests {
    @Test(.enabled(if: ReplicaServices.available))
    func everyChangeReachesStreamsOnBothAPIProcessesAndTheFinalEventEndsThem() async throws {
        try await ReplicaTests.withDeployment(processes: 3) { deployment in
            let http = deployment.http
            let settings = ["VIDEOGATE_SANDBOX_DELAY_MS": "800"]
            async let startA = ServerProcess(environment: deployment.environment(0, settings), role: "api")
            async let startB = ServerProcess(environment: deployment.environment(1, settings), role: "api")
            let apis = try await [startA, startB]
            defer { apis.forEach { $0.stop() } }
            let client = try await ReplicaTests.Client.make(http, base: apis[0].baseURL, plan: "pro", credits: 1_000_000, dailyLimit: nil)
            var ids: [String] = []
            for n in 0..<6 {
                let reply = try await http.send(
                    .POST, "\(apis[n % 2].baseURL)/v1/video", bearer: client.key, json: #"{"prompt":"events \#(n)","model":"sora-2"}"#)
                ids.append(try #require(reply.json["request_id"] as? String, "\(reply.status) \(reply.text)"))
            }
            // A stream of every job on each API process, opened while no worker runs: every job is pending.
            let logs = ids.map { id in (id: id, a: StreamLog(), b: StreamLog()) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for entry in logs {
                    group.addTask { await entry.a.read(http.client, url: "\(apis[0].baseURL)/v1/video/\(entry.id)/events", key: client.key) }
                    group.addTask { await entry.b.read(http.client, url: "\(apis[1].baseURL)/v1/video/\(entry.id)/events", key: client.key) }
                }
                for entry in logs {
                    for log in [entry.a, entry.b] {
                        #expect(try await log.wait(timeout: .seconds(30)) { $0.events.count >= 1 }, "no first event for \(entry.id)")
                    }
                }
                let worker = try await ServerProcess(environment: deployment.environment(2, settings), role: "worker")
                defer { worker.stop() }
                for entry in logs {
                    for log in [entry.a, entry.b] {
                        #expect(
                            try await log.wait(timeout: .seconds(120)) { $0.isOver },
                            "stream of \(entry.id) still open: \(log.statuses)\n\(worker.logTail)")
                    }
                }
                group.cancelAll()
            }
            for entry in logs {
                for (name, log) in [("A", entry.a), ("B", entry.b)] {
                    #expect(log.endedCleanly, "stream of \(entry.id) on \(name): \(log.failure ?? "open")")
                    #expect(log.statuses.withoutRepeats == ["pending", "processing", "completed"], "\(entry.id) on \(name): \(log.statuses)")
                    // Each change once: no event repeats the one before it.
                    let data = log.events.map(\.data)
                    #expect(zip(data, data.dropFirst()).allSatisfy { $0 != $1 }, "\(entry.id) on \(name)")
                }
                // The same changes reached both processes at about the same time (generous: the bench measures it).
                if let a = entry.a.events.last?.at, let b = entry.b.events.last?.at {
                    #expect(abs((a - b) / .milliseconds(1)) < 3_000, "completed seen \(a - b) apart on A and B")
                }
            }
        }
    }

    @Test func sigtermEndsAnOpenStreamCleanlyAndTheIdleTimeoutDoesNotCutIt() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(
            environment: ServerLifecycleTests.environment(data, [
                "VIDEOGATE_SANDBOX_DELAY_MS": "120000", "VIDEOGATE_DRAIN_SECONDS": "6", "VIDEOGATE_HTTP_IDLE_TIMEOUT_SECONDS": "1",
                "VIDEOGATE_EVENTS_KEEPALIVE_SECONDS": "1",
            ]))
        defer { server.stop() }
        let key = try #require(server.printed(after: "Test key (shown once): "), "no test key printed:\n\(server.log)")
        try await withHTTP { http in
            let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"long","model":"sora-2"}"#)
            let id = try #require(reply.json["request_id"] as? String, "\(reply.status) \(reply.text)")
            let log = StreamLog()
            let reading = Task { await log.read(http.client, url: "\(server.baseURL)/v1/video/\(id)/events", key: key) }
            defer { reading.cancel() }
            #expect(try await log.wait(timeout: .seconds(30)) { $0.events.count >= 1 })
            // Three idle timeouts long: the keep-alives flow and the connection stays open.
            #expect(try await log.wait(timeout: .seconds(3)) { $0.isOver } == false, "the stream ended: \(log.failure ?? "cleanly")")
            #expect(log.comments.filter { $0 == "keep-alive" }.count >= 2, "\(log.comments)")

            let stopping = ContinuousClock.now
            server.signal(SIGTERM)
            #expect(try await log.wait(timeout: .seconds(6)) { $0.isOver }, "the stream outlived the drain window")
            #expect(log.endedCleanly, "the stream was cut: \(log.failure ?? "")")
            #expect(try await server.waitForExit(timeout: .seconds(10)), "\(server.logTail)")
            #expect(ContinuousClock.now - stopping < .seconds(8), "exit took \(ContinuousClock.now - stopping)")
            #expect(server.process.terminationStatus == 0, "\(server.logTail)")
            await reading.value
        }
    }
}
