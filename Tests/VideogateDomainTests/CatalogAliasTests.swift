import Testing
@testable import VideogateDomain

@Suite("Catalog aliases")
struct CatalogAliasTests {
    @Test func aliasAcceptsWhatEveryMemberAcceptsAndStartsOnItsFirstMember() throws {
        let catalog = try Catalog.standard.adding([Catalog.Alias(id: "video-mid", members: ["sora-2", "veo3-fast"], credits: 2500)])
        let alias = try #require(catalog.model("video-mid"))
        #expect(alias.isAlias && alias.members == ["sora-2", "veo3-fast"])
        #expect(alias.credits == 2500 && alias.mode == .textToVideo && alias.enabled)
        #expect(alias.durations == [4, 8] && alias.defaultDuration == 4)
        #expect(alias.aspectRatios == [.landscape, .portrait] && alias.defaultAspectRatio == .landscape)
        #expect(alias.provider == .sora && alias.upstreamModel == "sora-2")
        #expect(catalog.enabledModels.last?.id == "video-mid")
        #expect(catalog.modelIDs(for: .textToVideo).contains("video-mid"))
        #expect(!catalog.modelIDs(for: .imageToVideo).contains("video-mid"))
    }

    @Test func firstMembersDefaultDurationWhenCommonElseTheSmallestCommon() throws {
        let catalog = try Catalog.standard.adding([
            Catalog.Alias(id: "veo-first", members: ["veo3-fast", "sora-2"], credits: 1),
            Catalog.Alias(id: "seedance-first", members: ["seedance-v1.5-pro-t2v", "veo3-fast"], credits: 1),
            Catalog.Alias(id: "i2v", members: ["wan-2.5-i2v", "kling-v2.5-turbo-pro-i2v"], credits: 1),
        ])
        // veo3-fast's default 8 is one sora-2 accepts.
        #expect(catalog.model("veo-first")?.durations == [4, 8] && catalog.model("veo-first")?.defaultDuration == 8)
        // seedance's default 5 is not one veo3-fast accepts: the smallest common one.
        #expect(catalog.model("seedance-first")?.durations == [4, 6, 8] && catalog.model("seedance-first")?.defaultDuration == 4)
        #expect(catalog.model("seedance-first")?.aspectRatios == [.landscape, .portrait])
        #expect(catalog.model("i2v")?.mode == .imageToVideo && catalog.model("i2v")?.durations == [5, 10])
        #expect(catalog.model("i2v")?.aspectRatios == [.landscape, .portrait, .square] && catalog.model("i2v")?.provider == .wan)
    }

    @Test func aliasDefaultRatioIsTheFirstCommonOneInItsLeadsOrder() throws {
        let lead = VideoModel(
            id: "a", provider: .kling, mode: .textToVideo, credits: 1, durations: [5], aspectRatios: [.square, .portrait, .landscape],
            upstreamModel: "a")
        let other = VideoModel(
            id: "b", provider: .wan, mode: .textToVideo, credits: 1, durations: [5], aspectRatios: [.landscape, .portrait], upstreamModel: "b")
        let catalog = try Catalog(models: [lead, other]).adding([Catalog.Alias(id: "ab", members: ["a", "b"], credits: 1)])
        #expect(catalog.model("ab")?.aspectRatios == [.portrait, .landscape] && catalog.model("ab")?.defaultAspectRatio == .portrait)
    }

    @Test func membersOfAnAliasInOrderAndOfAModelItself() throws {
        let catalog = try Catalog.standard.adding([Catalog.Alias(id: "video-fast", members: ["wan-2.5", "kling-v2.5-turbo-pro"], credits: 2000)])
        #expect(catalog.members(of: "video-fast").map(\.id) == ["wan-2.5", "kling-v2.5-turbo-pro"])
        #expect(catalog.members(of: "video-fast").map(\.provider) == [.wan, .kling])
        #expect(catalog.members(of: "sora-2").map(\.id) == ["sora-2"])
        #expect(catalog.members(of: "nope").isEmpty)
        #expect(catalog.isAlias("video-fast") && !catalog.isAlias("sora-2") && !catalog.isAlias("nope"))
        #expect(try Catalog.standard.adding([]).models == Catalog.standard.models)
    }

    @Test func memberIDsAreTheRouteOrderOfAJobsModel() throws {
        let catalog = try Catalog.standard.applying(["sora-2": .init(enabled: false)]).adding([
            Catalog.Alias(id: "video-fast", members: ["wan-2.5", "kling-v2.5-turbo-pro"], credits: 2000),
            Catalog.Alias(id: "video-back", members: ["kling-v2.5-turbo-pro", "wan-2.5"], credits: 2000),
        ])
        #expect(catalog.memberIDs(of: "video-fast") == ["wan-2.5", "kling-v2.5-turbo-pro"])
        #expect(catalog.memberIDs(of: "video-back") == ["kling-v2.5-turbo-pro", "wan-2.5"])
        #expect(catalog.memberIDs(of: "veo3-fast") == ["veo3-fast"])
        // Disabled or unknown (an alias since removed from the file): nothing to route to.
        #expect(catalog.memberIDs(of: "sora-2").isEmpty && catalog.memberIDs(of: "video-gone").isEmpty)
    }

    @Test func testKeyJobOfAnAliasIsRoutedToItsFirstMemberAtOnceAndLiveOneIsNot() throws {
        let catalog = try Catalog.standard.adding([Catalog.Alias(id: "video-fast", members: ["wan-2.5", "kling-v2.5-turbo-pro"], credits: 2000)])
        let alias = try #require(catalog.model("video-fast"))
        let submission = Submission(
            model: alias, mode: .textToVideo, prompt: "p", image: nil, aspectRatio: .landscape, duration: 5, webhookURL: nil, metadata: [:])
        func job(_ environment: KeyEnvironment, _ model: VideoModel) -> Job {
            Job(id: "req_1", accountID: "acct_1", keyID: "key_1", environment: environment, model: model, submission: submission, imageKey: nil,
                createdAt: .init(timeIntervalSince1970: 0), deadlineAt: .init(timeIntervalSince1970: 600))
        }
        let test = job(.test, alias)
        #expect(test.modelID == "video-fast" && test.routedModel == "wan-2.5" && test.provider == .sandbox && test.creditsReserved == 2000)
        let live = job(.live, alias)
        #expect(live.routedModel == nil && live.provider == .wan && live.upstreamModel == "wan2.5-t2v-preview" && live.creditsReserved == 2000)
        #expect(job(.test, try #require(catalog.model("sora-2"))).routedModel == nil)
    }

    static let refused: [(aliases: [Catalog.Alias], field: String)] = [
        ([.init(id: "sora-2", members: ["veo3-fast"], credits: 1)], "aliases.sora-2: "),
        ([.init(id: "bad id", members: ["veo3-fast"], credits: 1)], "aliases.bad id: "),
        ([.init(id: "x", members: ["veo3-fast"], credits: 1), .init(id: "x", members: ["sora-2"], credits: 1)], "aliases.x: "),
        ([.init(id: "x", members: ["veo3-fast"], credits: -1)], "aliases.x.credits: "),
        ([.init(id: "x", members: [], credits: 1)], "aliases.x.members: "),
        ([.init(id: "x", members: ["sora-2", "sora-3"], credits: 1)], "aliases.x.members[1]: "),
        ([.init(id: "x", members: ["wan-2.5"], credits: 1)], "aliases.x.members[0]: "),
        ([.init(id: "x", members: ["sora-2", "y"], credits: 1), .init(id: "y", members: ["sora-2"], credits: 1)], "aliases.x.members[1]: "),
        ([.init(id: "x", members: ["sora-2", "veo3-fast-i2v"], credits: 1)], "aliases.x.members[1]: "),
        ([.init(id: "x", members: ["sora-2", "veo3-fast", "sora-2"], credits: 1)], "aliases.x.members[2]: "),
        // kling-v2.5-turbo-pro renders 5 or 10 s, veo3-fast 4, 6 or 8 s.
        ([.init(id: "x", members: ["kling-v2.5-turbo-pro", "veo3-fast"], credits: 1)], "aliases.x.members: no duration"),
    ]

    @Test(arguments: refused.indices)
    func badAliasStopsTheStartNamingItsField(index: Int) throws {
        // wan-2.5 disabled by the operator: an alias cannot serve it.
        let catalog = try Catalog.standard.applying(["wan-2.5": .init(enabled: false)])
        let (aliases, field) = Self.refused[index]
        let error = try #require(throws: CatalogError.self) { try catalog.adding(aliases) }
        #expect(error.description.hasPrefix(field), "\(error.description)")
    }

    @Test func aliasWithNoCommonAspectRatioIsRefused() throws {
        let wide = VideoModel(id: "a", provider: .veo, mode: .textToVideo, credits: 1, durations: [5], aspectRatios: [.landscape], upstreamModel: "a")
        let square = VideoModel(id: "b", provider: .wan, mode: .textToVideo, credits: 1, durations: [5], aspectRatios: [.square], upstreamModel: "b")
        let error = try #require(throws: CatalogError.self) {
            try Catalog(models: [wide, square]).adding([Catalog.Alias(id: "ab", members: ["a", "b"], credits: 1)])
        }
        #expect(error.description.hasPrefix("aliases.ab.members: no aspect ratio"))
    }
}
