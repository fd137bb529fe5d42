/// One model of the catalog: what it renders, what it costs, what it accepts.
public struct VideoModel: Sendable, Equatable, Codable {
    public var id: String
    public var provider: ProviderKind
    public var mode: GenerationMode
    /// Price per job in credits, whatever the duration.
    public var credits: Int
    /// Every accepted duration in seconds.
    public var durations: [Int]
    public var defaultDuration: Int
    /// Accepted aspect ratios; the first is the default.
    public var aspectRatios: [AspectRatio]
    /// The provider's own model name for this model (operator-configurable).
    public var upstreamModel: String
    public var enabled: Bool
    /// An alias's member model ids, in the order they are tried; empty for a plain model. An
    /// alias's `provider` and `upstreamModel` are its first member's (see `Catalog.adding(_:)`).
    public var members: [String]

    public init(
        id: String, provider: ProviderKind, mode: GenerationMode, credits: Int, durations: [Int], defaultDuration: Int? = nil,
        aspectRatios: [AspectRatio], upstreamModel: String, enabled: Bool = true, members: [String] = []
    ) {
        self.id = id
        self.provider = provider
        self.mode = mode
        self.credits = credits
        self.durations = durations
        self.defaultDuration = defaultDuration ?? durations[0]
        self.aspectRatios = aspectRatios
        self.upstreamModel = upstreamModel
        self.enabled = enabled
        self.members = members
    }

    public var defaultAspectRatio: AspectRatio { aspectRatios[0] }

    /// Whether this is an alias of other models rather than a model of a provider.
    public var isAlias: Bool { !members.isEmpty }
}

/// The models the gateway serves. Pure data: `Catalog.standard` is the shipped table of api.md,
/// `applying(_:)` takes an operator's overrides and `adding(_:)` the aliases of the providers file.
public struct Catalog: Sendable {
    public private(set) var models: [VideoModel]
    private var index: [String: Int]

    public init(models: [VideoModel]) {
        self.models = models
        self.index = Dictionary(uniqueKeysWithValues: models.enumerated().map { ($1.id, $0) })
    }

    /// An enabled model by id.
    public func model(_ id: String) -> VideoModel? {
        guard let position = index[id], models[position].enabled else { return nil }
        return models[position]
    }

    /// Enabled models.
    public var enabledModels: [VideoModel] { models.filter(\.enabled) }

    /// Ids of enabled models of a mode, for error messages.
    public func modelIDs(for mode: GenerationMode) -> [String] {
        enabledModels.filter { $0.mode == mode }.map(\.id)
    }

    /// An operator's change to one model: any field left nil keeps the shipped value.
    public struct Override: Sendable, Codable, Equatable {
        public var credits: Int?
        public var enabled: Bool?
        public var upstreamModel: String?
        public var durations: [Int]?
        public var defaultDuration: Int?

        public init(credits: Int? = nil, enabled: Bool? = nil, upstreamModel: String? = nil, durations: [Int]? = nil, defaultDuration: Int? = nil) {
            self.credits = credits
            self.enabled = enabled
            self.upstreamModel = upstreamModel
            self.durations = durations
            self.defaultDuration = defaultDuration
        }

        enum CodingKeys: String, CodingKey {
            case credits, enabled, durations
            case upstreamModel = "upstream_model"
            case defaultDuration = "default_duration"
        }
    }

    /// The catalog with overrides applied. Unknown model ids and invalid values are errors, so a
    /// typo in the operator's file stops the start instead of silently doing nothing.
    public func applying(_ overrides: [String: Override]) throws(CatalogError) -> Catalog {
        var models = self.models
        for (id, change) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let position = index[id] else { throw CatalogError("unknown model id '\(id)' in catalog overrides") }
            var model = models[position]
            if let credits = change.credits {
                guard credits >= 0 else { throw CatalogError("credits of '\(id)' must not be negative") }
                model.credits = credits
            }
            if let enabled = change.enabled { model.enabled = enabled }
            if let upstream = change.upstreamModel {
                guard !upstream.isEmpty else { throw CatalogError("upstream_model of '\(id)' must not be empty") }
                model.upstreamModel = upstream
            }
            if let durations = change.durations {
                guard !durations.isEmpty, durations.allSatisfy({ $0 > 0 }) else { throw CatalogError("durations of '\(id)' must be positive") }
                model.durations = durations
                model.defaultDuration = durations.contains(model.defaultDuration) ? model.defaultDuration : durations[0]
            }
            if let duration = change.defaultDuration {
                guard model.durations.contains(duration) else { throw CatalogError("default_duration of '\(id)' is not in its durations") }
                model.defaultDuration = duration
            }
            models[position] = model
        }
        return Catalog(models: models)
    }

    /// The table of api.md.
    public static let standard: Catalog = {
        let wide: [AspectRatio] = [.landscape, .portrait]
        let all: [AspectRatio] = [.landscape, .portrait, .square]
        let t2v = GenerationMode.textToVideo
        let i2v = GenerationMode.imageToVideo
        return Catalog(models: [
            VideoModel(id: "veo3.1", provider: .veo, mode: t2v, credits: 3000, durations: [4, 6, 8], defaultDuration: 8,
                       aspectRatios: wide, upstreamModel: "veo-3.1-generate-preview"),
            VideoModel(id: "veo3-fast", provider: .veo, mode: t2v, credits: 2000, durations: [4, 6, 8], defaultDuration: 8,
                       aspectRatios: wide, upstreamModel: "veo-3.1-fast-generate-preview"),
            VideoModel(id: "sora-2", provider: .sora, mode: t2v, credits: 3500, durations: [4, 8, 12], aspectRatios: wide, upstreamModel: "sora-2"),
            VideoModel(id: "sora-2-pro", provider: .sora, mode: t2v, credits: 6000, durations: [4, 8, 12], aspectRatios: wide,
                       upstreamModel: "sora-2-pro"),
            VideoModel(id: "kling-v2.5-turbo-pro", provider: .kling, mode: t2v, credits: 1500, durations: [5, 10], aspectRatios: all,
                       upstreamModel: "kling-v2-5-turbo"),
            VideoModel(id: "kling-v2.6-pro", provider: .kling, mode: t2v, credits: 5500, durations: [5, 10], aspectRatios: all,
                       upstreamModel: "kling-v2-6"),
            VideoModel(id: "wan-2.5", provider: .wan, mode: t2v, credits: 3500, durations: [5, 10], aspectRatios: all,
                       upstreamModel: "wan2.5-t2v-preview"),
            VideoModel(id: "seedance-v1.5-pro-t2v", provider: .seedance, mode: t2v, credits: 2600, durations: Array(4...12),
                       defaultDuration: 5, aspectRatios: all, upstreamModel: "seedance-1-5-pro-251215"),
            VideoModel(id: "veo3.1-i2v", provider: .veo, mode: i2v, credits: 3500, durations: [4, 6, 8], defaultDuration: 8,
                       aspectRatios: wide, upstreamModel: "veo-3.1-generate-preview"),
            VideoModel(id: "veo3-fast-i2v", provider: .veo, mode: i2v, credits: 2000, durations: [4, 6, 8], defaultDuration: 8,
                       aspectRatios: wide, upstreamModel: "veo-3.1-fast-generate-preview"),
            VideoModel(id: "kling-v2.5-turbo-pro-i2v", provider: .kling, mode: i2v, credits: 1500, durations: [5, 10], aspectRatios: all,
                       upstreamModel: "kling-v2-5-turbo"),
            VideoModel(id: "wan-2.5-i2v", provider: .wan, mode: i2v, credits: 1500, durations: Array(5...10), aspectRatios: all,
                       upstreamModel: "wan2.5-i2v-preview"),
            VideoModel(id: "seedance-v1.5-pro-i2v", provider: .seedance, mode: i2v, credits: 1500, durations: Array(4...12),
                       defaultDuration: 5, aspectRatios: all, upstreamModel: "seedance-1-5-pro-251215"),
        ])
    }()
}

/// A catalog override that cannot be applied.
public struct CatalogError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
