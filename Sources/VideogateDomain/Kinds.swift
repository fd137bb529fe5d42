/// Which balance and which renderer a key uses: `live` runs real providers, `test` the sandbox.
public enum KeyEnvironment: String, Sendable, Codable, CaseIterable {
    case live
    case test
}

/// An account's plan, which sets the default daily request limit of its keys.
public enum Plan: String, Sendable, Codable, CaseIterable {
    case free
    case pro
    case enterprise

    /// The daily limit of the plan; enterprise accounts carry a custom one (this is its default).
    public var defaultDailyLimit: Int {
        switch self {
        case .free: 100
        case .pro: 1_000
        case .enterprise: 10_000
        }
    }
}

/// Generation mode of a model and of a job.
public enum GenerationMode: String, Sendable, Codable, CaseIterable {
    case textToVideo = "text-to-video"
    case imageToVideo = "image-to-video"
}

/// Output aspect ratios the API accepts.
public enum AspectRatio: String, Sendable, Codable, CaseIterable {
    case landscape = "16:9"
    case portrait = "9:16"
    case square = "1:1"
}

/// The upstream that renders a model's jobs.
public enum ProviderKind: String, Sendable, Codable, CaseIterable {
    case veo
    case sora
    case kling
    case wan
    case seedance
    case sandbox

    /// The name shown in `/v1/models`.
    public var displayName: String {
        switch self {
        case .veo: "Google Veo"
        case .sora: "OpenAI Sora"
        case .kling: "Kling"
        case .wan: "Alibaba WAN"
        case .seedance: "ByteDance Seedance"
        case .sandbox: "Sandbox"
        }
    }
}
