import AsyncHTTPClient
import Foundation
import Logging
import VideogateDomain

/// Credentials, base URLs and limits of the real providers (operations.md). A provider without
/// credentials is not built, and its models are unavailable to live keys.
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

    /// Providers that have credentials.
    public var configured: Set<ProviderKind> {
        var kinds = Set<ProviderKind>()
        if openAIKey != nil { kinds.insert(.sora) }
        if geminiKey != nil { kinds.insert(.veo) }
        if klingAccessKey != nil && klingSecretKey != nil { kinds.insert(.kling) }
        if dashscopeKey != nil { kinds.insert(.wan) }
        if arkKey != nil { kinds.insert(.seedance) }
        return kinds
    }

    /// The adapters of the configured providers, sharing one HTTP client and one outbound client.
    public func makeProviders(client: HTTPClient, outbound: OutboundClient, probe: MediaProbe, logger: Logger) -> [ProviderKind: any VideoProvider] {
        func http() -> ProviderHTTP { ProviderHTTP(client: client, outbound: outbound, concurrency: concurrency) }
        var providers: [ProviderKind: any VideoProvider] = [:]
        if let key = openAIKey {
            providers[.sora] = SoraProvider(
                http: http(), baseURL: openAIBaseURL, apiKey: key, auth: openAIAuth, probe: probe, schedule: pollSchedule, logger: logger)
        }
        if let key = geminiKey {
            providers[.veo] = VeoProvider(http: http(), baseURL: geminiBaseURL, apiKey: key, schedule: pollSchedule, logger: logger)
        }
        if let access = klingAccessKey, let secret = klingSecretKey {
            providers[.kling] = KlingProvider(
                http: http(), baseURL: klingBaseURL, tokens: KlingTokens(accessKey: access, secretKey: secret), schedule: pollSchedule, logger: logger)
        }
        if let key = dashscopeKey {
            providers[.wan] = WanProvider(http: http(), baseURL: dashscopeBaseURL, apiKey: key, schedule: pollSchedule, logger: logger)
        }
        if let key = arkKey {
            providers[.seedance] = SeedanceProvider(http: http(), baseURL: arkBaseURL, apiKey: key, schedule: pollSchedule, logger: logger)
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
