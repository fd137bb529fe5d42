import Foundation
import JWTKit
import NIOHTTP1
import Synchronization
import VideogateDomain

/// A Google service account and the Vertex AI project and region it calls, made into OAuth2
/// access tokens (`docs/providers/vertex.md`).
///
/// The token grant is RFC 7523's JWT bearer grant as Google documents it for service accounts: an
/// RS256 JWT (header `kid` = the key file's `private_key_id`) with the claims `iss` (the account's
/// email), `scope` (`cloud-platform`), `aud` (the key file's `token_uri`), `iat` and `exp` (one hour
/// later, Google's maximum), posted form-encoded to `token_uri`. The answer's `access_token` is reused
/// until five minutes before its `expires_in` runs out; concurrent callers share one grant.
public final class VertexAccess: Sendable {
    public let project: String
    public let location: String
    public let serviceAccountFile: String
    /// The account's email: the JWT issuer.
    public let clientEmail: String
    /// Where signed assertions are exchanged for access tokens (the key file's `token_uri`).
    public let tokenURI: String
    let keyID: String
    let key: JWTKit.Insecure.RSA.PrivateKey
    let now: @Sendable () -> Date
    private let state = Mutex(State())

    /// The OAuth2 scope of every Vertex AI call.
    public static let scope = "https://www.googleapis.com/auth/cloud-platform"
    /// Seconds before expiry at which a token is renewed.
    static let renewalMargin: TimeInterval = 300

    struct State {
        var token: (value: String, expires: Date)?
        /// The grant in flight: an unstructured task so that it outlives the caller that started
        /// it (a cancelled poll must not fail the others waiting for the same token).
        var pending: Task<(String, Date), any Error>?
        var grants = 0
    }

    enum Source {
        case cached(String)
        case grant(Task<(String, Date), any Error>)
    }

    init(
        project: String, location: String, serviceAccountFile: String, account: ServiceAccount, key: JWTKit.Insecure.RSA.PrivateKey,
        now: @escaping @Sendable () -> Date
    ) {
        self.project = project
        self.location = location
        self.serviceAccountFile = serviceAccountFile
        self.clientEmail = account.clientEmail
        self.tokenURI = account.tokenURI
        self.keyID = account.privateKeyID
        self.key = key
        self.now = now
    }

    /// The fields of a service-account key file that the grant uses.
    struct ServiceAccount: Decodable {
        let type: String?
        let clientEmail: String
        let privateKey: String
        let privateKeyID: String
        let tokenURI: String

        enum CodingKeys: String, CodingKey {
            case type
            case clientEmail = "client_email"
            case privateKey = "private_key"
            case privateKeyID = "private_key_id"
            case tokenURI = "token_uri"
        }
    }

    /// Reads the service-account key file (`type` `service_account`, `client_email`, `private_key`
    /// as PEM, `private_key_id`, `token_uri`).
    /// - Throws: `ProvidersFileError` naming `field.service_account_file` and what is wrong with it;
    ///   never quoting the key.
    static func load(
        serviceAccountFile: String, project: String, location: String, field: String, now: @escaping @Sendable () -> Date = { Date() }
    ) throws(ProvidersFileError) -> VertexAccess {
        let name = "\(field).service_account_file"
        guard let data = FileManager.default.contents(atPath: serviceAccountFile) else {
            throw ProvidersFileError("\(name): '\(serviceAccountFile)' cannot be read")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ProvidersFileError("\(name): '\(serviceAccountFile)' is not a JSON object (a service-account key file)")
        }
        guard object["type"] as? String == "service_account" else {
            throw ProvidersFileError("\(name): '\(serviceAccountFile)' is not a service-account key (its type is not service_account)")
        }
        for key in ["client_email", "private_key", "private_key_id", "token_uri"] {
            guard let value = object[key] as? String, !value.isEmpty else {
                throw ProvidersFileError("\(name): '\(serviceAccountFile)' has no \(key)")
            }
        }
        guard let account = try? JSONDecoder().decode(ServiceAccount.self, from: data) else {
            throw ProvidersFileError("\(name): '\(serviceAccountFile)' is not a service-account key file")
        }
        guard let url = URL(string: account.tokenURI), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
            url.host?.isEmpty == false
        else {
            throw ProvidersFileError("\(name): the token_uri of '\(serviceAccountFile)' is not an http(s) URL")
        }
        let key: JWTKit.Insecure.RSA.PrivateKey
        do {
            key = try JWTKit.Insecure.RSA.PrivateKey(pem: account.privateKey)
        } catch {
            throw ProvidersFileError("\(name): the private_key of '\(serviceAccountFile)' is not an RSA private key of at least 2048 bits in PEM")
        }
        return VertexAccess(project: project, location: location, serviceAccountFile: serviceAccountFile, account: account, key: key, now: now)
    }

    /// The number of token grants made so far (tests).
    public var grantCount: Int { state.withLock { $0.grants } }

    /// An access token valid for at least five more minutes: the cached one, or a new grant at
    /// `token_uri` shared by every caller waiting meanwhile.
    /// - Throws: `.retryable` for network failures, time-outs, 408, 429 and 5xx of the token
    ///   endpoint; `.credentialRefused` for its 400 `invalid_grant` / `invalid_client` /
    ///   `unauthorized_client`, 401 and 403, and an answer without a token.
    public func accessToken(http: ProviderHTTP) async throws(ProviderFailure) -> String {
        let instant = now()
        let source: Source = state.withLock { state in
            if let token = state.token, token.expires.timeIntervalSince(instant) > Self.renewalMargin { return .cached(token.value) }
            if let pending = state.pending { return .grant(pending) }
            state.grants += 1
            let pending = Task { try await self.grant(http: http) }
            state.pending = pending
            return .grant(pending)
        }
        switch source {
        case .cached(let token): return token
        case .grant(let task): return try await finish(task)
        }
    }

    /// The token of a grant, cached for later callers; the grant is forgotten either way.
    private func finish(_ task: Task<(String, Date), any Error>) async throws(ProviderFailure) -> String {
        do {
            let (token, expires) = try await task.value
            state.withLock { state in
                if state.pending == task { state.pending = nil }
                if (state.token?.expires ?? .distantPast) < expires { state.token = (token, expires) }
            }
            return token
        } catch {
            state.withLock { state in if state.pending == task { state.pending = nil } }
            if let failure = error as? ProviderFailure { throw failure }
            throw .retryable("the Google token grant failed: \(error)", retryAfter: nil)
        }
    }

    /// Drops the cached token (after the API refused it), so the next call makes a new grant.
    public func forgetToken() { state.withLock { $0.token = nil } }

    struct Claims: JWTPayload {
        let iss: String
        let scope: String
        let aud: String
        let iat: Int
        let exp: Int
        func verify(using algorithm: some JWTAlgorithm) throws {}
    }

    struct TokenAnswer: Decodable {
        let accessToken: String?
        let expiresIn: Int?
        let tokenType: String?
        let error: String?
        let errorDescription: String?

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case expiresIn = "expires_in"
            case tokenType = "token_type"
            case error
            case errorDescription = "error_description"
        }
    }

    /// A signed assertion for `issued`.
    func assertion(issued: Date) async throws -> String {
        let keys = await JWTKeyCollection().add(rsa: key, digestAlgorithm: .sha256, kid: JWKIdentifier(string: keyID))
        let iat = Int(issued.timeIntervalSince1970)
        let claims = Claims(iss: clientEmail, scope: Self.scope, aud: tokenURI, iat: iat, exp: iat + 3600)
        var header = JWTHeader()
        header.typ = "JWT"
        return try await keys.sign(claims, kid: JWKIdentifier(string: keyID), header: header)
    }

    private func grant(http: ProviderHTTP) async throws -> (String, Date) {
        let issued = now()
        let jwt: String
        do {
            jwt = try await assertion(issued: issued)
        } catch {
            throw ProviderFailure.credentialRefused("the service account's key could not sign a token request: \(error)")
        }
        var form = URLComponents()
        form.queryItems = [
            URLQueryItem(name: "grant_type", value: "urn:ietf:params:oauth:grant-type:jwt-bearer"), URLQueryItem(name: "assertion", value: jwt),
        ]
        let body = Data((form.percentEncodedQuery ?? "").utf8)
        let headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded"]
        let response = try await http.send(.POST, tokenURI, headers: headers, body: body)
        let answer = try? JSONDecoder().decode(TokenAnswer.self, from: response.body)
        guard response.isSuccess else {
            let text = "Google's token endpoint answered HTTP \(response.status)" + (answer?.error.map { " (\($0))" } ?? "")
            if response.isRetryable { throw ProviderFailure.retryable(text, retryAfter: response.retryAfter) }
            throw ProviderFailure.credentialRefused(text + ": the service account was refused")
        }
        guard let token = answer?.accessToken, !token.isEmpty else {
            throw ProviderFailure.retryable("Google's token endpoint answered without an access_token", retryAfter: nil)
        }
        // `expires_in` is seconds from now (3599 from Google); a missing one counts as an hour.
        let lifetime = TimeInterval(max(0, answer?.expiresIn ?? 3600))
        return (token, issued.addingTimeInterval(lifetime))
    }
}
