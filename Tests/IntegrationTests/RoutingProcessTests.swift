import AsyncHTTPClient
import Foundation
import ProviderFakes
import Testing

/// The real binary with a providers file: two Kling credentials against two fakes on 127.0.0.1.
@Suite("The videogate binary routing between provider credentials", .serialized)
struct RoutingProcessTests {
    static let admin = "integration-admin-token"

    static func providersFile(_ data: DataDirectory, _ entries: [String]) throws -> String {
        try FileManager.default.createDirectory(at: data.url, withIntermediateDirectories: true)
        let path = data.url.appendingPathComponent("providers.json").path
        try Data(#"{"credentials": [\#(entries.joined(separator: ","))]}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func kling(_ name: String, _ fake: FakeUpstream, suffix: String, weight: Int = 1) -> String {
        #"{"name": "\#(name)", "provider": "kling", "access_key": "env:KLING_AK_\#(suffix)", "secret_key": "env:KLING_SK_\#(suffix)", "base_url": "\#(fake.origin)", "weight": \#(weight)}"#
    }

    @Test func aBadProvidersFileStopsTheStartNamingTheField() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let path = try Self.providersFile(data, [
            #"{"name": "wan-a", "provider": "wan", "api_key": "env:WAN_KEY"}"#,
            #"{"name": "wan-b", "provider": "wan", "api_key": "sk-written-in-the-file"}"#,
        ])
        let environment = ServerLifecycleTests.environment(data, ["VIDEOGATE_PROVIDERS_FILE": path, "WAN_KEY": "k"])
        let (status, output) = try await VideogateBinary.run(["serve", "--port", "0"], environment: environment, timeout: .seconds(30))
        #expect(status != 0)
        #expect(output.contains("credentials[1].api_key"), "\(output)")
        #expect(!output.contains("sk-written-in-the-file"))
    }

    @Test func createsFailOverToTheHealthyCredentialAndBoundJobsKeepTheirCredentialAcrossARestart() async throws {
        let video = try FakeVideo.mp4()
        let broken = FakeUpstream(video: video)
        let healthy = FakeUpstream(video: video)
        try await broken.run(routes: FakeKling(accessKey: "ak-a", secretKey: "sk-a").routes) { broken in
            try await healthy.run(routes: FakeKling(accessKey: "ak-b", secretKey: "sk-b").routes) { healthy in
                broken.inject(Array(repeating: .status(503), count: 1_000), on: .create)
                let data = DataDirectory()
                defer { data.remove() }
                let path = try Self.providersFile(data, [Self.kling("kling-a", broken, suffix: "A", weight: 20), Self.kling("kling-b", healthy, suffix: "B")])
                let environment = ServerLifecycleTests.environment(data, [
                    "VIDEOGATE_ADMIN_TOKEN": Self.admin, "VIDEOGATE_PROVIDER_POLL_SECONDS": "0.2", "VIDEOGATE_OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
                    "VIDEOGATE_PROVIDERS_FILE": path, "KLING_AK_A": "ak-a", "KLING_SK_A": "sk-a", "KLING_AK_B": "ak-b", "KLING_SK_B": "sk-b",
                ])
                let (accountID, key) = try await VideogateBinary.liveAccount(name: "live", credits: 1000000, environment: environment)

                var server = try await ServerProcess(environment: environment)
                defer { server.stop() }
                try await withHTTP { http in
                    func submit() async throws -> String {
                        let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"a red fox","model":"kling-v2.6-pro"}"#)
                        try #require(reply.status == 200, "\(reply.text)")
                        return try #require(reply.json["request_id"] as? String)
                    }
                    // Until kling-a has failed five creates, every job completes at once on kling-b.
                    var jobs = 0
                    while broken.requests(to: "/v1/videos/text2video", method: "POST").count < 5 && jobs < 30 {
                        let id = try await submit()
                        let job = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(60))
                        #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                        jobs += 1
                    }
                    #expect(broken.requests(to: "/v1/videos/text2video", method: "POST").count == 5)
                    let providers = try await http.send(.GET, "\(server.baseURL)/admin/providers", bearer: Self.admin)
                    let listed = (providers.json["credentials"] as? [[String: Any]] ?? []).reduce(into: [String: [String: Any]]()) {
                        $0[$1["name"] as? String ?? ""] = $1
                    }
                    #expect(listed["kling-a"]?["state"] as? String == "open", "\(providers.text)")
                    #expect(listed["kling-a"]?["recent_failures"] as? Int == 5)
                    #expect(listed["kling-b"]?["state"] as? String == "closed")
                    let metrics = try await http.send(.GET, "\(server.baseURL)/metrics")
                    #expect(metrics.text.contains(#"videogate_credential_state{credential="kling-a",provider="kling",state="open"} 1"#), "\(metrics.text)")

                    // A job rendering on kling-b when kling-b leaves the file keeps polling with it.
                    healthy.runningPolls(1_000_000)
                    let bound = try await submit()
                    let deadline = ContinuousClock.now + .seconds(30)
                    while healthy.tasks.count < jobs + 1 || healthy.tasks.allSatisfy({ $0.polls < 2 }), ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    let listing = try await http.send(.GET, "\(server.baseURL)/admin/jobs?account=\(accountID)", bearer: Self.admin)
                    let row = (listing.json["data"] as? [[String: Any]] ?? []).first { $0["id"] as? String == bound }
                    #expect(row?["credential"] as? String == "kling-b", "\(listing.text)")
                    server.stop()
                    _ = try Self.providersFile(data, [Self.kling("kling-a", broken, suffix: "A")])
                    let pollsBefore = healthy.requests.count
                    healthy.runningPolls(0)
                    server = try await ServerProcess(environment: environment)
                    let job = try await http.waitForFinal(server.baseURL, id: bound, key: key, timeout: .seconds(60))
                    #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                    #expect(healthy.requests.count > pollsBefore)
                    #expect(broken.violations.isEmpty && healthy.violations.isEmpty, "\(broken.violations) \(healthy.violations)")
                }
            }
        }
    }

    /// An alias whose first member's only credential fails: its jobs move to the second member,
    /// the breaker opens after five creates, and once the open period is over one probe closes it
    /// and the first member takes jobs again.
    @Test func anAliasFailsOverToItsNextMemberAndAProbeClosesTheBreaker() async throws {
        let video = try FakeVideo.mp4()
        let wan = FakeUpstream(video: video)
        let kling = FakeUpstream(video: video)
        try await wan.run(routes: FakeWan(apiKey: "wan-key").routes) { wan in
            try await kling.run(routes: FakeKling(accessKey: "ak-b", secretKey: "sk-b").routes) { kling in
                wan.inject(Array(repeating: .status(503), count: 5), on: .create)
                let data = DataDirectory()
                defer { data.remove() }
                try FileManager.default.createDirectory(at: data.url, withIntermediateDirectories: true)
                let path = data.url.appendingPathComponent("providers.json").path
                let file = #"""
                    {"credentials": [
                       {"name": "wan-a", "provider": "wan", "api_key": "env:WAN_KEY", "base_url": "\#(wan.origin)/api/v1"},
                       \#(Self.kling("kling-b", kling, suffix: "B"))],
                     "aliases": {"video-fast": {"members": ["wan-2.5", "kling-v2.5-turbo-pro"], "credits": 2000}}}
                    """#
                try Data(file.utf8).write(to: URL(fileURLWithPath: path))
                let environment = ServerLifecycleTests.environment(data, [
                    "VIDEOGATE_ADMIN_TOKEN": Self.admin, "VIDEOGATE_PROVIDER_POLL_SECONDS": "0.2", "VIDEOGATE_OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
                    "VIDEOGATE_PROVIDERS_FILE": path, "VIDEOGATE_BREAKER_OPEN_SECONDS": "2",
                    "WAN_KEY": "wan-key", "KLING_AK_B": "ak-b", "KLING_SK_B": "sk-b",
                ])
                let (_, key) = try await VideogateBinary.liveAccount(name: "live", credits: 100000, environment: environment)

                let server = try await ServerProcess(environment: environment)
                defer { server.stop() }
                try await withHTTP { http in
                    func run() async throws -> [String: Any] {
                        let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"a red fox","model":"video-fast"}"#)
                        try #require(reply.status == 200, "\(reply.text)")
                        let id = try #require(reply.json["request_id"] as? String)
                        return try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(60))
                    }
                    func wanState() async throws -> [String: Any] {
                        let providers = try await http.send(.GET, "\(server.baseURL)/admin/providers", bearer: Self.admin)
                        return (providers.json["credentials"] as? [[String: Any]] ?? []).first { $0["name"] as? String == "wan-a" } ?? [:]
                    }
                    let creates = "/api/v1/services/aigc/video-generation/video-synthesis"
                    // Five jobs: each one's create fails on wan-a and is taken by kling-b at once.
                    for _ in 0..<5 {
                        let job = try await run()
                        #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                        #expect(job["model"] as? String == "video-fast" && job["routed_model"] as? String == "kling-v2.5-turbo-pro", "\(job)")
                        #expect(job["credits_used"] as? Int == 2000)
                    }
                    #expect(wan.requests(to: creates, method: "POST").count == 5)
                    let open = try await wanState()
                    #expect(open["state"] as? String == "open" && open["recent_failures"] as? Int == 5, "\(open)")
                    // While open, wan-a is not asked at all.
                    let whileOpen = try await run()
                    #expect(whileOpen["routed_model"] as? String == "kling-v2.5-turbo-pro")
                    #expect(wan.requests(to: creates, method: "POST").count == 5)
                    // After the open period, the next job is the probe; it succeeds and closes the breaker.
                    try await Task.sleep(for: .milliseconds(2_200))
                    let probe = try await run()
                    #expect(probe["status"] as? String == "completed" && probe["routed_model"] as? String == "wan-2.5", "\(probe)")
                    #expect(wan.requests(to: creates, method: "POST").count == 6)
                    let closed = try await wanState()
                    #expect(closed["state"] as? String == "closed" && closed["recent_failures"] as? Int == 0, "\(closed)")
                    #expect(closed["failures_total"] as? Int == 5)
                    let balance = try await http.send(.GET, "\(server.baseURL)/v1/account", bearer: key)
                    let live = ((balance.json["account"] as? [String: Any])?["balances"] as? [String: Any])?["live"] as? [String: Any]
                    #expect(live?["available"] as? Int == 100_000 - 7 * 2000 && live?["held"] as? Int == 0, "\(balance.text)")
                    #expect(wan.violations.isEmpty && kling.violations.isEmpty, "\(wan.violations) \(kling.violations)")
                }
            }
        }
    }
}
