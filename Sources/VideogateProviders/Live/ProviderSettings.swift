import AsyncHTTPClient
import Foundation
import Logging
import VideogateDomain

/// Credentials, base URLs and limits of the real providers (operations.md): the single-credential
/// variables and the providers file. A provider without credentials is not built, and its models
/// are unavailable to live keys.
public struct ProviderSettings: Sendable {
    public var openAIKey: String?
    public var openAIBaseURL = "https://api.openai.com/v1"
    public var openAIAuth = SoraProvider.AuthStyle.bearer
    public var geminiKey: String?
    public var geminiBaseURL = "https://generativelanguage.googleapis.com/v1beta"
    public var klingAccessKey: String?
    public var klingSecretKey: String?
    public var klingBaseURL = "https://api-singapore.klingai.com"
    public var dashscopeKey: String?
    public var dashscopeBaseURL = "https://dashscope-intl.aliyuncs.com/api/v1"
    public var arkKey: String?
    public var arkBaseURL = "https://ark.ap-southeast.bytepluses.com/api/v3"
    /// Upstream calls one process makes at once to one provider.
    public var concurrency = 16
    /// Replaces every provider's own poll schedule (tests, benchmarks, operators with other render times).
    public var pollSchedule: PollSchedule?

    public init() {}

    /// The providers file, when one is configured: more credentials, and model aliases.
    public var file = ProvidersFile()
    /// Where `env:` references of the providers file are read.
    public var environment: [String: String] = [:]

    /// The single-credential variables as credential entries, one per provider that has them,
    /// named after the provider (`kling`), secrets as `env:` references.
    public var environmentDefinitions: [CredentialDefinition] {
        var definitions: [CredentialDefinition] = []
        if openAIKey != nil {
            definitions.append(
                CredentialDefinition(
                    name: "sora", provider: "sora", baseURL: openAIBaseURL, apiKey: "env:OPENAI_API_KEY",
                    auth: openAIAuth == .bearer ? nil : openAIAuth.rawValue))
        }
        if geminiKey != nil { definitions.append(CredentialDefinition(name: "veo", provider: "veo", baseURL: geminiBaseURL, apiKey: "env:GEMINI_API_KEY")) }
        if klingAccessKey != nil && klingSecretKey != nil {
            definitions.append(
                CredentialDefinition(
                    name: "kling", provider: "kling", baseURL: klingBaseURL, accessKey: "env:KLING_ACCESS_KEY", secretKey: "env:KLING_SECRET_KEY"))
        }
        if dashscopeKey != nil { definitions.append(CredentialDefinition(name: "wan", provider: "wan", baseURL: dashscopeBaseURL, apiKey: "env:DASHSCOPE_API_KEY")) }
        if arkKey != nil { definitions.append(CredentialDefinition(name: "seedance", provider: "seedance", baseURL: arkBaseURL, apiKey: "env:ARK_API_KEY")) }
        return definitions
    }

    /// The environment that resolves the single-credential variables' references: `environment`
    /// with the values set on these settings.
    var resolvingEnvironment: [String: String] {
        var values = environment
        values["OPENAI_API_KEY"] = openAIKey
        values["GEMINI_API_KEY"] = geminiKey
        values["KLING_ACCESS_KEY"] = klingAccessKey
        values["KLING_SECRET_KEY"] = klingSecretKey
        values["DASHSCOPE_API_KEY"] = dashscopeKey
        values["ARK_API_KEY"] = arkKey
        return values
    }

    /// Every credential: the single-credential variables' first, then the file's. A name used
    /// twice, or an entry that cannot be resolved, is refused with a message naming the field.
    public func credentials() throws(ProvidersFileError) -> [ProviderCredential] {
        let values = resolvingEnvironment
        var credentials: [ProviderCredential] = []
        for definition in environmentDefinitions {
            credentials.append(try definition.resolve(environment: values, field: "environment (\(definition.name))"))
        }
        for (index, definition) in file.credentials.enumerated() {
            let field = "credentials[\(index)]"
            guard !credentials.contains(where: { $0.name == definition.name }) else {
                throw ProvidersFileError(
                    "\(field).name: '\(definition.name)' is the name of the credential made from the \(definition.name) variables; choose another")
            }
            credentials.append(try definition.resolve(environment: environment, field: field))
        }
        return credentials
    }

    /// Providers that have at least one credential.
    public var configured: Set<ProviderKind> {
        Set(((try? credentials()) ?? []).map(\.provider))
    }

    /// One adapter per provider that has credentials, sharing one HTTP client and one outbound client.
    public func makeProviders(
        kinds: Set<ProviderKind>, client: HTTPClient, outbound: OutboundClient, probe: MediaProbe, logger: Logger
    ) -> [ProviderKind: any VideoProvider] {
        func http() -> ProviderHTTP { ProviderHTTP(client: client, outbound: outbound, concurrency: concurrency) }
        var providers: [ProviderKind: any VideoProvider] = [:]
        for kind in kinds {
            switch kind {
            case .sora: providers[.sora] = SoraProvider(http: http(), probe: probe, schedule: pollSchedule, logger: logger)
            case .veo: providers[.veo] = VeoProvider(http: http(), schedule: pollSchedule, logger: logger)
            case .kling: providers[.kling] = KlingProvider(http: http(), schedule: pollSchedule, logger: logger)
            case .wan: providers[.wan] = WanProvider(http: http(), schedule: pollSchedule, logger: logger)
            case .seedance: providers[.seedance] = SeedanceProvider(http: http(), schedule: pollSchedule, logger: logger)
            case .sandbox: break
            }
        }
        return providers
    }
}

/// Start images in the forms providers take.
extension ProviderHTTP {
    /// The start image as bytes: a URL is fetched under the outbound rules (at most 10 MiB, PNG,
    /// JPEG or WebP by content). A URL that is refused or cannot be fetched ends the job in
    /// `error` / `invalid_image`, and so does a fetched image outside `limits` (bytes were checked at submission).
    public func imageBytes(_ image: ProviderImage, limits: ImageLimits? = nil, provider: ProviderKind? = nil)
        async throws(ProviderFailure) -> (data: Data, mediaType: String)
    {
        switch image {
        case .bytes(let data, let mediaType):
            return (data, mediaType)
        case .url(let url):
            let fetched: (data: Data, contentType: String?)
            do {
                fetched = try await outbound.fetchData(url, maxBytes: Int64(ImageInput.maxBytes))
            } catch {
                let reason: String
                switch error {
                case .refused(let why): reason = "the outbound rules refuse it: \(why)"
                case .tooLarge: reason = "it is larger than 10 MiB"
                case .status(let status): reason = "it answered HTTP \(status)"
                case .network(let why): reason = "it could not be fetched: \(why)"
                }
                throw .final(JobFailure(.invalidImage, "The image URL was not usable: \(reason)."))
            }
            guard let mediaType = ImageInput.sniffMediaType(fetched.data) else {
                throw .final(JobFailure(.invalidImage, "The image URL does not point at a PNG, JPEG or WebP image."))
            }
            if let limits {
                guard let size = ImageSize.read(fetched.data) else {
                    throw .final(JobFailure(.invalidImage, "The image at the URL does not state a readable pixel size."))
                }
                do {
                    try limits.check(size, provider: provider?.displayName ?? "the provider")
                } catch {
                    throw .final(JobFailure(.invalidImage, error.message))
                }
            }
            return (fetched.data, mediaType)
        }
    }
}

extension ProviderImage {
    /// A URL as it is, or the bytes as a `data:` URI.
    var urlOrDataURI: String {
        switch self {
        case .url(let url): url
        case .bytes(let data, let mediaType): "data:\(mediaType);base64,\(data.base64EncodedString())"
        }
    }
}

/// Words that providers' free-text failure reasons use for a content-policy refusal.
enum PolicyWords {
    static func mentionsPolicy(_ text: String?) -> Bool {
        guard let text = text?.lowercased() else { return false }
        return ["moderation", "policy", "safety", "sensitive", "risk control", "inappropriate", "prohibited", "violat", "nsfw"]
            .contains { text.contains($0) }
    }
}
