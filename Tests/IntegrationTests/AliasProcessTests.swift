import Foundation
import Testing

/// Model aliases through the real binary: read from `VIDEOGATE_PROVIDERS_FILE`, listed in
/// `/v1/models`, and served to test keys by the sandbox.
@Suite("Model aliases in the binary", .serialized)
struct AliasProcessTests {
    static let file = #"{"aliases": {"video-fast": {"members": ["wan-2.5", "kling-v2.5-turbo-pro"], "credits": 2000}}}"#

    /// `text` written as the providers file in `data`, and the environment that names it.
    static func environment(_ data: DataDirectory, providersFile text: String) throws -> [String: String] {
        try FileManager.default.createDirectory(at: data.url, withIntermediateDirectories: true)
        let file = data.url.appendingPathComponent("providers.json")
        try Data(text.utf8).write(to: file)
        return ServerLifecycleTests.environment(
            data, ["VIDEOGATE_ADMIN_TOKEN": ReplicaTests.admin, "VIDEOGATE_PROVIDERS_FILE": file.path, "VIDEOGATE_SANDBOX_DELAY_MS": "50"])
    }

    @Test func aliasIsListedWithItsMembersAndATestKeyJobOfItCompletes() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(environment: try Self.environment(data, providersFile: Self.file))
        defer { server.stop() }
        try await withHTTP { http in
            let client = try await ReplicaTests.Client.make(http, base: server.baseURL, plan: "pro", credits: 10_000, dailyLimit: nil)
            let models = try #require(try await http.send(.GET, "\(server.baseURL)/v1/models", bearer: client.key).json["data"] as? [[String: Any]])
            let alias = try #require(models.first { $0["id"] as? String == "video-fast" }, "\(models)")
            #expect(alias["members"] as? [String] == ["wan-2.5", "kling-v2.5-turbo-pro"] && alias["credits"] as? Int == 2000)
            #expect(alias["durations"] as? [Int] == [5, 10] && alias["available"] as? Bool == true)

            let created = try await http.send(
                .POST, "\(server.baseURL)/v1/video", bearer: client.key, json: #"{"prompt":"alias","model":"video-fast"}"#)
            let id = try #require(created.json["request_id"] as? String, "\(created.status) \(created.text)")
            let final = try await http.waitForFinal(server.baseURL, id: id, key: client.key)
            #expect(final["status"] as? String == "completed", "\(final)\n\(server.log)")
            #expect(final["model"] as? String == "video-fast" && final["routed_model"] as? String == "wan-2.5")
            #expect(final["credits_used"] as? Int == 2000)
            let shown = try await http.send(.GET, "\(server.baseURL)/v1/account", bearer: client.key)
            let account = try #require(shown.json["account"] as? [String: Any])
            let test = (account["balances"] as? [String: Any])?["test"] as? [String: Any]
            #expect(test?["available"] as? Int == 8_000 && test?["held"] as? Int == 0, "\(account)")
        }
    }

    /// Providers files whose alias cannot be served, and the start of the message naming the field.
    static let refused: [(file: String, message: String)] = [
        // kling-v2.5-turbo-pro renders 5 or 10 s, veo3-fast 4, 6 or 8 s.
        (#"{"aliases": {"video-fast": {"members": ["kling-v2.5-turbo-pro", "veo3-fast"], "credits": 2000}}}"#,
         "VIDEOGATE_PROVIDERS_FILE: aliases.video-fast.members: no duration is accepted by every member"),
        (#"{"aliases": {"video-fast": {"members": ["wan-2.5", "kling-v9"], "credits": 2000}}}"#,
         "VIDEOGATE_PROVIDERS_FILE: aliases.video-fast.members[1]: 'kling-v9' is not a model id"),
        (#"{"aliases": {"video-fast": {"members": ["wan-2.5"], "credits": 0}}}"#, "aliases.video-fast.credits: "),
        (#"{"aliases": {"video-fast": {"members": ["wan-2.5"], "credits": "2000"}}}"#, "aliases.video-fast.credits: "),
        (#"{"aliases": {"sora-2": {"members": ["wan-2.5"], "credits": 2000}}}"#, "VIDEOGATE_PROVIDERS_FILE: aliases.sora-2: "),
    ]

    @Test(arguments: refused.indices)
    func anAliasThatCannotBeServedStopsTheStartNamingTheField(index: Int) async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let (file, message) = Self.refused[index]
        let error = try await #require(throws: ServerStartError.self) {
            _ = try await ServerProcess(environment: try Self.environment(data, providersFile: file))
        }
        #expect(error.log.contains(message), "\(error.log)")
    }
}
