import Crypto
import Foundation
import Hummingbird
import _CryptoExtras

/// The fake's OAuth2 token endpoint and its checks of the create body.
extension FakeVertex {
    /// RFC 7523's JWT bearer grant as Google's token endpoint checks it.
    func grant(request: Request, body: Data, fake: FakeUpstream) -> Response {
        if let status = state.withLock({ $0.grantFaults.isEmpty ? nil : $0.grantFaults.removeFirst() }) {
            return FakeUpstream.json(HTTPResponse.Status(code: status), ["error": status == 429 ? "rate_limit_exceeded" : "internal_failure"])
        }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return refusal("invalid_request", "Content-Type is not application/x-www-form-urlencoded", fake)
        }
        var components = URLComponents()
        components.percentEncodedQuery = String(decoding: body, as: UTF8.self)
        let form = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            return refusal("unsupported_grant_type", "Invalid grant_type: \(form["grant_type"] ?? "")", fake)
        }
        guard let assertion = form["assertion"] else { return refusal("invalid_request", "Missing required parameter: assertion", fake) }
        if let problem = check(assertion: assertion, audience: fake.origin + "/token") { return refusal("invalid_grant", problem, fake) }
        if state.withLock({ $0.refuseGrants }) {
            return FakeUpstream.json(.badRequest, ["error": "invalid_grant", "error_description": "Invalid JWT Signature."])
        }
        let (token, lifetime) = state.withLock { state in
            state.grants += 1
            let token = "ya29.fake-\(state.grants)-\(UUID().uuidString.prefix(8))"
            state.issued.insert(token)
            return (token, state.tokenLifetime)
        }
        return FakeUpstream.json(.ok, ["access_token": token, "expires_in": lifetime, "token_type": "Bearer"])
    }

    func refusal(_ error: String, _ description: String, _ fake: FakeUpstream) -> Response {
        fake.violation("token grant: \(description)")
        return FakeUpstream.json(.badRequest, ["error": error, "error_description": description])
    }

    /// What is wrong with a JWT assertion, or nil.
    func check(assertion: String, audience: String) -> String? {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerData = Self.base64URL(parts[0]), let claimsData = Self.base64URL(parts[1]),
            let signature = Self.base64URL(parts[2])
        else { return "the assertion is not a JWS compact serialization" }
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: claimsData)) as? [String: Any]
        else { return "the assertion's header or claims are not JSON objects" }
        guard header["alg"] as? String == "RS256" else { return "alg is not RS256" }
        guard header["kid"] as? String == privateKeyID else { return "kid is not the key's private_key_id" }
        let signed = Data((parts[0] + "." + parts[1]).utf8)
        guard privateKey.publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: signed, padding: .insecurePKCS1v1_5)
        else { return "Invalid JWT Signature." }
        guard claims["iss"] as? String == clientEmail else { return "iss is not the service account's client_email" }
        guard let scope = claims["scope"] as? String, scope.split(separator: " ").contains("https://www.googleapis.com/auth/cloud-platform") else {
            return "scope does not include cloud-platform"
        }
        guard claims["aud"] as? String == audience else { return "aud is not the token_uri" }
        guard let iat = FakeUpstream.integer(claims["iat"]), let exp = FakeUpstream.integer(claims["exp"]) else { return "iat or exp missing" }
        let now = Int(Date().timeIntervalSince1970)
        guard iat <= now + 60 else { return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe (iat in the future)" }
        guard exp > now, exp - iat <= 3600, exp > iat else {
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe"
        }
        return nil
    }

    static func base64URL(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// The documented create body, strictly: one instance with a prompt and an optional image
    /// (`bytesBase64Encoded` or `gcsUri`, with `mimeType`); `aspectRatio` 16:9 or 9:16, integer
    /// `durationSeconds` 4, 6 or 8, `sampleCount` 1 to 4, `generateAudio` a boolean.
    static func checkCreate(request: Request, body: Data) -> String? {
        guard request.headers[.contentType]?.hasPrefix("application/json") == true else { return "Content-Type is not application/json" }
        guard let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return "body is not a JSON object" }
        if let unknown = json.keys.first(where: { !["instances", "parameters"].contains($0) }) { return "unknown field \(unknown)" }
        guard let instances = json["instances"] as? [[String: Any]], instances.count == 1, let instance = instances.first else {
            return "instances is not a list of one instance"
        }
        if let unknown = instance.keys.first(where: { !["prompt", "image", "lastFrame"].contains($0) }) {
            return "unknown field instances[0].\(unknown)"
        }
        guard let prompt = instance["prompt"] as? String, !prompt.isEmpty else { return "instances[0].prompt missing" }
        if let image = instance["image"] {
            guard let image = image as? [String: Any], let mime = image["mimeType"] as? String,
                ["image/png", "image/jpeg", "image/webp"].contains(mime)
            else { return "instances[0].image has no valid mimeType" }
            switch (image["bytesBase64Encoded"] as? String, image["gcsUri"] as? String) {
            case (let bytes?, nil): if Data(base64Encoded: bytes)?.isEmpty != false { return "image bytesBase64Encoded is not base64" }
            case (nil, let uri?): if !uri.hasPrefix("gs://") { return "image gcsUri is not gs://" }
            default: return "instances[0].image is not one of bytesBase64Encoded or gcsUri"
            }
            if image.count != 2 { return "instances[0].image has unknown fields" }
        }
        guard let parameters = json["parameters"] as? [String: Any] else { return "parameters missing" }
        let known: Set<String> = [
            "aspectRatio", "durationSeconds", "sampleCount", "storageUri", "generateAudio", "resolution", "negativePrompt", "personGeneration",
            "seed",
            "enhancePrompt", "compressionQuality",
        ]
        if let unknown = parameters.keys.first(where: { !known.contains($0) }) { return "unknown field parameters.\(unknown)" }
        guard let ratio = parameters["aspectRatio"] as? String, ["16:9", "9:16"].contains(ratio) else { return "aspectRatio is not 16:9 or 9:16" }
        guard let duration = FakeUpstream.integer(parameters["durationSeconds"]), [4, 6, 8].contains(duration) else {
            return "durationSeconds is not the integer 4, 6 or 8"
        }
        if let count = parameters["sampleCount"], !(FakeUpstream.integer(count).map { (1...4).contains($0) } ?? false) {
            return "sampleCount is not an integer from 1 to 4"
        }
        if let audio = parameters["generateAudio"], (audio as? NSNumber).map({ String(cString: $0.objCType) == "c" }) != true {
            return "generateAudio is not a boolean"
        }
        if let uri = parameters["storageUri"], (uri as? String)?.hasPrefix("gs://") != true { return "storageUri is not gs://" }
        return nil
    }
}
