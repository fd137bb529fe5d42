import Foundation
import Testing

/// One tenant cannot stall the others: the real binary, one account's burst, then another account's
/// single job. Serialized with the renders of other suites in mind: it uses the two cores itself.
@Suite("Fair claims in the binary", .serialized)
struct FairnessProcessTests {
    static let burst = 60

    @Test func aLoneJobFinishesLongBeforeAnotherAccountsBurst() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(
            environment: ServerLifecycleTests.environment(
                data,
                [
                    "VIDEOGATE_ADMIN_TOKEN": ReplicaTests.admin, "VIDEOGATE_SANDBOX_DELAY_MS": "200", "VIDEOGATE_SANDBOX_CONCURRENCY": "2",
                    "VIDEOGATE_WORKER_CONCURRENCY": "8",
                ]))
        defer { server.stop() }
        try await withHTTP { http in
            let base = server.baseURL
            let busy = try await ReplicaTests.Client.make(http, base: base, plan: "enterprise", credits: 1_000_000, dailyLimit: 10_000)
            let lone = try await ReplicaTests.Client.make(http, base: base, plan: "pro", credits: 10_000, dailyLimit: nil)
            let body = #"{"prompt":"burst","model":"kling-v2.5-turbo-pro","duration":5}"#
            let started = ContinuousClock.now
            let burstIDs = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<Self.burst {
                    group.addTask {
                        let reply = try await http.send(.POST, "\(base)/v1/video", bearer: busy.key, json: body)
                        return try #require(reply.json["request_id"] as? String, "\(reply.status) \(reply.text)")
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let loneSubmitted = ContinuousClock.now
            let loneReply = try await http.send(.POST, "\(base)/v1/video", bearer: lone.key, json: #"{"prompt":"alone","model":"sora-2","duration":4}"#)
            let loneID = try #require(loneReply.json["request_id"] as? String, "\(loneReply.status) \(loneReply.text)")

            // When each job was first seen finished, polling the admin list every 100 ms.
            var finished: [String: Duration] = [:]
            let everyone = Set(burstIDs + [loneID])
            let deadline = ContinuousClock.now + .seconds(400)
            while finished.count < everyone.count && ContinuousClock.now < deadline {
                for status in ["completed", "error"] {
                    for id in try await ReplicaTests.jobIDs(http, base: base, status: status) where everyone.contains(id) && finished[id] == nil {
                        finished[id] = ContinuousClock.now - started
                    }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            try #require(finished.count == everyone.count, "only \(finished.count) of \(everyone.count) jobs finished\n\(server.logTail)")
            let loneAt = try #require(finished[loneID])
            let burstTimes = burstIDs.compactMap { finished[$0] }.sorted()
            let before = burstTimes.filter { $0 < loneAt }.count
            print(
                "fairness: lone job finished \(Self.seconds(loneAt - (loneSubmitted - started))) s after its submission, with \(before) of "
                    + "\(Self.burst) burst jobs finished before it; burst: first \(Self.seconds(burstTimes[0])) s, median "
                    + "\(Self.seconds(burstTimes[burstTimes.count / 2])) s, last \(Self.seconds(burstTimes[burstTimes.count - 1])) s")
            #expect(before < Self.burst / 2, "the lone job waited behind \(before) of the burst")
            #expect(loneAt < burstTimes[burstTimes.count / 2])
            for id in everyone {
                let job = try await http.send(.GET, "\(base)/v1/video/\(id)", bearer: id == loneID ? lone.key : busy.key).json
                #expect(job["status"] as? String == "completed", "\(job)")
            }
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f", Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18)
    }
}
