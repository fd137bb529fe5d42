import Foundation
import VideogateDomain

/// How a credential reaches its provider.
public enum CredentialRoute: String, Sendable, Codable, CaseIterable {
    /// The provider's own API: every provider but Veo.
    case api
    /// Veo through the Gemini API (Veo's default).
    case gemini
    /// Veo through Vertex AI, with a service account.
    case vertex

    /// The route a credential of `provider` takes when its entry names none.
    public static func standard(for provider: ProviderKind) -> CredentialRoute {
        provider == .veo ? .gemini : .api
    }
}

/// What a credential authenticates with, resolved from the environment.
public enum CredentialAuth: Sendable {
    /// An API key: Gemini's `x-goog-api-key`, DashScope's and ModelArk's Bearer key.
    case key(String)
    /// An OpenAI-style key, sent as `Authorization: Bearer` or Azure's `api-key`.
    case openAI(String, SoraProvider.AuthStyle)
    /// Kling's access and secret key, made into short-lived HS256 tokens.
    case kling(KlingTokens)
    /// A Google service account, made into OAuth2 access tokens (Vertex AI).
    case vertex(VertexAccess)
    /// No credentials: the sandbox renderer.
    case none
}

/// One credential of a provider: where its API is, how to authenticate, and how much of it to use.
/// Adapters serve every credential of their provider: the credential is passed with each call.
public struct ProviderCredential: Sendable {
    /// The operator's name for it, unique across providers; stored with the jobs bound to it.
    public let name: String
    public let provider: ProviderKind
    public let route: CredentialRoute
    /// Scheme, host, port and path prefix; the adapter appends the documented paths. No trailing slash.
    public let baseURL: String
    /// Its share of new jobs among the healthy credentials of its provider.
    public let weight: Int
    /// Jobs it may have in progress upstream at once; nil for no limit.
    public let maxConcurrency: Int?
    public let auth: CredentialAuth
    /// The entry it was made from (secrets as `env:` references): stored with each job bound to it,
    /// so that the job can still be polled if the entry leaves the providers file.
    public let definition: CredentialDefinition

    public init(
        name: String, provider: ProviderKind, route: CredentialRoute? = nil, baseURL: String, weight: Int = 1, maxConcurrency: Int? = nil,
        auth: CredentialAuth, definition: CredentialDefinition? = nil
    ) {
        self.name = name
        self.provider = provider
        self.route = route ?? .standard(for: provider)
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.weight = max(1, weight)
        self.maxConcurrency = maxConcurrency
        self.auth = auth
        self.definition = definition ?? CredentialDefinition(name: name, provider: provider.rawValue)
    }

    /// The key of a key-authenticated credential (Gemini, Sora, DashScope, ModelArk).
    public var apiKey: String {
        switch auth {
        case .key(let key), .openAI(let key, _): key
        case .kling, .vertex, .none: ""
        }
    }

    /// The credential of the sandbox renderer, which needs none.
    public static let sandbox = ProviderCredential(name: "sandbox", provider: .sandbox, baseURL: "", auth: .none)

    /// The default base URL of each provider (`../providers/README.md`); Vertex's is regional.
    public static func defaultBaseURL(_ provider: ProviderKind, route: CredentialRoute, location: String? = nil) -> String {
        switch (provider, route) {
        case (.veo, .vertex): "https://\(location ?? "us-central1")-aiplatform.googleapis.com/v1"
        case (.veo, _): "https://generativelanguage.googleapis.com/v1beta"
        case (.sora, _): "https://api.openai.com/v1"
        case (.kling, _): "https://api-singapore.klingai.com"
        case (.wan, _): "https://dashscope-intl.aliyuncs.com/api/v1"
        case (.seedance, _): "https://ark.ap-southeast.bytepluses.com/api/v3"
        case (.sandbox, _): ""
        }
    }
}
