import Crypto
import Foundation
import VideogateDomain

/// The unguessable per-job token of a provider callback URL, `{job id}.{mac}`: the mac is
/// HMAC-SHA256 of `"{provider}\n{job id}"` under a key derived (HKDF-SHA256) from the signing
/// secret, base64url without padding. Nothing is stored: any process with the same signing
/// secret makes and checks the same tokens, and a token names one job of one provider only.
public struct CallbackSigner: Sendable {
    private let key: SymmetricKey

    /// - Parameter secret: the process's signing secret (`VIDEOGATE_SIGNING_SECRET`); the callback
    ///   key is derived from it, so a callback token never doubles as a signed file URL.
    public init(secret: String) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(secret.utf8)), info: Data("videogate provider callbacks v1".utf8), outputByteCount: 32)
    }

    /// The token for a job of a provider.
    public func token(provider: ProviderKind, jobID: String) -> String {
        jobID + "." + Self.base64URL(Data(HMAC<SHA256>.authenticationCode(for: message(provider, jobID), using: key)))
    }

    /// The job id a token was made for, when it was made for `provider` by this key; nil when it is
    /// malformed, tampered, or another provider's. The mac is compared in constant time, and only
    /// its canonical spelling counts: 43 base64url characters carry 258 bits for the mac's 256, so
    /// a last character that differs only in the 2 unused bits decodes to the same mac but is
    /// refused, and every token has exactly one valid spelling.
    public func jobID(fromToken token: String, provider: ProviderKind) -> String? {
        guard let dot = token.lastIndex(of: "."), dot != token.startIndex else { return nil }
        let jobID = String(token[..<dot])
        let text = String(token[token.index(after: dot)...])
        guard let mac = Self.decodeBase64URL(text), mac.count == SHA256.byteCount, Self.base64URL(mac) == text else { return nil }
        return HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: message(provider, jobID), using: key) ? jobID : nil
    }

    private func message(_ provider: ProviderKind, _ jobID: String) -> Data { Data("\(provider.rawValue)\n\(jobID)".utf8) }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: String) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

/// Completion callbacks of the providers that offer them (Kling's and ModelArk's `callback_url`):
/// where the adapters tell the provider to call when a task changes state. A callback only makes
/// its job due for a poll at once; its body is never read as a result.
public struct ProviderCallbacks: Sendable {
    /// The providers whose create call takes a `callback_url`.
    public static let providers: Set<ProviderKind> = [.kling, .seedance]

    public let signer: CallbackSigner
    /// Our public base URL (`VIDEOGATE_PUBLIC_URL`, or the bound address), without a trailing slash.
    let baseURL: @Sendable () -> String

    public init(signer: CallbackSigner, baseURL: @escaping @Sendable () -> String) {
        self.signer = signer
        self.baseURL = baseURL
    }

    /// `{public URL}/callbacks/{provider}/{token}` for a job, or nil for a provider without callbacks.
    public func url(provider: ProviderKind, jobID: String) -> String? {
        guard Self.providers.contains(provider) else { return nil }
        var base = baseURL()
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/callbacks/\(provider.rawValue)/\(signer.token(provider: provider, jobID: jobID))"
    }
}
