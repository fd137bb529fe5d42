import Foundation
import Testing
@testable import VideogateDomain

@Suite("Catalog, identifiers, keys and outbound rules")
struct CatalogAndIdentifierTests {
    /// api.md's tables.
    static let expected: [(String, ProviderKind, GenerationMode, Int, [Int], Int)] = [
        ("veo3.1", .veo, .textToVideo, 3000, [4, 6, 8], 8),
        ("veo3-fast", .veo, .textToVideo, 2000, [4, 6, 8], 8),
        ("sora-2", .sora, .textToVideo, 3500, [4, 8, 12], 4),
        ("sora-2-pro", .sora, .textToVideo, 6000, [4, 8, 12], 4),
        ("kling-v2.5-turbo-pro", .kling, .textToVideo, 1500, [5, 10], 5),
        ("kling-v2.6-pro", .kling, .textToVideo, 5500, [5, 10], 5),
        ("wan-2.5", .wan, .textToVideo, 3500, [5, 10], 5),
        ("seedance-v1.5-pro-t2v", .seedance, .textToVideo, 2600, Array(4...12), 5),
        ("veo3.1-i2v", .veo, .imageToVideo, 3500, [4, 6, 8], 8),
        ("veo3-fast-i2v", .veo, .imageToVideo, 2000, [4, 6, 8], 8),
        ("kling-v2.5-turbo-pro-i2v", .kling, .imageToVideo, 1500, [5, 10], 5),
        ("wan-2.5-i2v", .wan, .imageToVideo, 1500, Array(5...10), 5),
        ("seedance-v1.5-pro-i2v", .seedance, .imageToVideo, 1500, Array(4...12), 5),
    ]

    @Test(arguments: expected.indices)
    func standardCatalogMatchesTheContract(index: Int) throws {
        let (id, provider, mode, credits, durations, defaultDuration) = Self.expected[index]
        let model = try #require(Catalog.standard.model(id))
        #expect(model.provider == provider && model.mode == mode && model.credits == credits)
        #expect(model.durations == durations && model.defaultDuration == defaultDuration)
        #expect(model.defaultAspectRatio == .landscape)
    }

    @Test func catalogHasExactlyTheContractModels() {
        #expect(Catalog.standard.models.map(\.id).sorted() == Self.expected.map(\.0).sorted())
        #expect(Catalog.standard.model("veo3.1")?.aspectRatios == [.landscape, .portrait])
        #expect(Catalog.standard.model("kling-v2.6-pro")?.aspectRatios == [.landscape, .portrait, .square])
    }

    @Test func overridesApplyAndBadOnesThrow() throws {
        let changed = try Catalog.standard.applying([
            "sora-2": .init(credits: 4000, upstreamModel: "sora-2-2025"), "wan-2.5": .init(enabled: false),
        ])
        #expect(changed.model("sora-2")?.credits == 4000 && changed.model("sora-2")?.upstreamModel == "sora-2-2025")
        #expect(changed.model("wan-2.5") == nil)
        #expect(!changed.modelIDs(for: .textToVideo).contains("wan-2.5"))
        #expect(throws: CatalogError.self) { try Catalog.standard.applying(["nope": .init(credits: 1)]) }
        #expect(throws: CatalogError.self) { try Catalog.standard.applying(["sora-2": .init(credits: -1)]) }
        #expect(throws: CatalogError.self) { try Catalog.standard.applying(["sora-2": .init(defaultDuration: 5)]) }
    }

    @Test func identifiersAreTimeSortable() {
        var random = SplitMix(seed: 7)
        let ids = (0..<50).map { Identifier.make("req", at: Date(timeIntervalSince1970: 1_800_000_000 + Double($0) / 100), using: &random) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 50)
        #expect(ids.allSatisfy { Identifier.isWellFormed($0, prefix: "req") })
        #expect(!Identifier.isWellFormed("req_short", prefix: "req"))
        #expect(!Identifier.isWellFormed(ids[0], prefix: "acct"))
        #expect(Identifier.make("req").count == 30)
    }

    @Test func keySecretsAndTheirShape() {
        let live = KeyFormat.newSecret(.live)
        let test = KeyFormat.newSecret(.test)
        #expect(KeyFormat.environment(of: live) == .live && KeyFormat.environment(of: test) == .test)
        #expect(live.count == 48 && live != KeyFormat.newSecret(.live))
        #expect(KeyFormat.environment(of: "vg_test_short") == nil)
        #expect(KeyFormat.environment(of: "vg_prod_" + String(repeating: "a", count: 40)) == nil)
        #expect(KeyFormat.environment(of: "vg_test_" + String(repeating: "a", count: 39) + "!") == nil)
    }

    @Test(arguments: [
        "https://127.0.0.1/a.png", "https://10.1.2.3/a", "https://172.16.0.1/a", "https://192.168.1.1/a", "https://169.254.169.254/a",
        "https://100.64.0.1/a", "https://0.0.0.0/a", "https://224.0.0.1/a", "https://255.255.255.255/a", "https://[::1]/a",
        "https://[fe80::1]/a", "https://[fc00::1]/a", "https://[::ffff:127.0.0.1]/a", "http://example.com/a", "https://user:pw@example.com/a",
        "https://localhost/a", "https://api.localhost/a", "not a url",
    ])
    func outboundRefusals(url: String) {
        #expect(throws: OutboundPolicy.Refusal.self) { try OutboundPolicy().checkURL(url) }
    }

    @Test func outboundAllowsPublicAndAllowListed() throws {
        try OutboundPolicy().checkURL("https://example.com/a.png")
        try OutboundPolicy().checkURL("https://8.8.8.8/a.png")
        try OutboundPolicy().checkAddress("93.184.216.34", host: "example.com", port: 443)
        #expect(throws: OutboundPolicy.Refusal.self) { try OutboundPolicy().checkAddress("10.0.0.1", host: "example.com", port: 443) }
        let policy = OutboundPolicy(allowedHosts: ["127.0.0.1", "localhost:8080"])
        try policy.checkURL("http://127.0.0.1:9000/a")
        try policy.checkURL("http://localhost:8080/a")
        #expect(throws: OutboundPolicy.Refusal.self) { try policy.checkURL("http://localhost:9090/a") }
    }

    @Test func ipv6Parsing() {
        #expect(OutboundPolicy.parseIPv6("::1") == [UInt8](repeating: 0, count: 15) + [1])
        #expect(OutboundPolicy.parseIPv6("2001:db8::1")?.prefix(4) == [0x20, 0x01, 0x0D, 0xB8])
        #expect(OutboundPolicy.parseIPv6("::ffff:10.0.0.1")?.suffix(4) == [10, 0, 0, 1])
        #expect(OutboundPolicy.parseIPv6("1:2:3:4:5:6:7:8:9") == nil)
        #expect(OutboundPolicy.parseIPv6("1::2::3") == nil)
        #expect(OutboundPolicy.parseIPv4("1.2.3.256") == nil)
        #expect(OutboundPolicy.forbiddenReason(forAddress: "2606:4700::1111") == nil)
    }
}
