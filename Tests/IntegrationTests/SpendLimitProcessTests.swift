import Foundation
import Testing

/// Quotes and the key's spend limit through the real binary: two `--role api` processes on one
/// database (one SQLite file, or with `VIDEOGATE_TEST_STORE=postgres` one PostgreSQL database), no
/// workers, so every accepted job stays held.
@Suite("Quote and spend limit in the binary", .serialized)
struct SpendLimitProcessTests {
    /// kling-v2.5-turbo-pro.
    static let price = 1500
    static let body = #"{"prompt":"spend","model":"kling-v2.5-turbo-pro"}"#

    @Test func fortySubmissionsOverTwoAPIProcessesStopExactlyAtTheKeysLimit() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let environment = ServerLifecycleTests.environment(data, ["VIDEOGATE_ADMIN_TOKEN": ReplicaTests.admin])
        let first = try await ServerProcess(environment: environment, role: "api")
        defer { first.stop() }
        let second = try await ServerProcess(environment: environment, role: "api")
        defer { second.stop() }
        let bases = [first.baseURL, second.baseURL]
        try await withHTTP { http in
            let client = try await ReplicaTests.Client.make(http, base: bases[0], plan: "enterprise", credits: 1_000_000, dailyLimit: 10_000)
            let shown = try await http.send(.GET, "\(bases[1])/v1/account", bearer: client.key)
            let keyID = try #require((shown.json["account"] as? [String: Any]).flatMap { $0["key"] as? [String: Any] }?["id"] as? String)
            let patched = try await http.send(
                .PATCH, "\(bases[1])/admin/keys/\(keyID)", bearer: ReplicaTests.admin, json: #"{"spend_limit_daily":\#(7 * Self.price)}"#)
            try #require(patched.status == 200, "\(patched.status) \(patched.text)")

            let quote = try await http.send(.POST, "\(bases[0])/v1/video/quote", bearer: client.key, json: Self.body)
            #expect(quote.status == 200 && quote.json["credits"] as? Int == Self.price && quote.json["affordable"] as? Bool == true, "\(quote.text)")
            #expect(quote.json["spend_limit_remaining"] as? Int == 7 * Self.price)

            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for index in 0..<40 {
                    let base = bases[index % 2]
                    group.addTask {
                        let reply = try await http.send(.POST, "\(base)/v1/video", bearer: client.key, json: Self.body)
                        return (reply.status, reply.json["error"] as? String)
                    }
                }
                return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 7, "\(statuses)")
            #expect(statuses.filter { $0 == (402, "spend_limit_exceeded") }.count == 33, "\(statuses)")

            let account = try #require(try await http.send(.GET, "\(bases[0])/v1/account", bearer: client.key).json["account"] as? [String: Any])
            let key = try #require(account["key"] as? [String: Any])
            #expect(key["spend_limit_daily"] as? Int == 7 * Self.price && key["spent_last_24h"] as? Int == 7 * Self.price)
            let held = ((account["balances"] as? [String: Any])?["test"] as? [String: Any])?["held"] as? Int
            #expect(held == 7 * Self.price)
            let after = try await http.send(.POST, "\(bases[1])/v1/video/quote", bearer: client.key, json: Self.body)
            #expect(after.json["affordable"] as? Bool == false && after.json["spend_limit_remaining"] as? Int == 0, "\(after.text)")

            // Removed on one process, gone on the other at the next submission.
            let removed = try await http.send(
                .PATCH, "\(bases[0])/admin/keys/\(keyID)", bearer: ReplicaTests.admin, json: #"{"spend_limit_daily":null}"#)
            #expect(removed.status == 200 && removed.json["spend_limit_daily"] is NSNull, "\(removed.text)")
            #expect(try await http.send(.POST, "\(bases[1])/v1/video", bearer: client.key, json: Self.body).status == 200)
        }
    }
}
