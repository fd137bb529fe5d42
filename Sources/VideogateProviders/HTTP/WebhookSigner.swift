import Crypto
import Foundation

/// Signs webhook requests in the Standard Webhooks scheme (standardwebhooks.com, `spec/standard-webhooks.md`):
/// `webhook-signature: v1,<base64 of HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`,
/// where the key is the base64-decoded part of the account's secret after `whsec_`.
public struct WebhookSigner: Sendable {
    /// The prefix of webhook secrets.
    public static let secretPrefix = "whsec_"

    private let key: SymmetricKey

    /// Why a secret cannot sign.
    public struct MalformedSecret: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String { "the account's webhook secret is not whsec_ followed by base64" }
    }

    /// - Parameter secret: `whsec_<base64 key>`.
    public init(secret: String) throws(MalformedSecret) {
        guard secret.hasPrefix(Self.secretPrefix), let key = Data(base64Encoded: String(secret.dropFirst(Self.secretPrefix.count))), !key.isEmpty
        else { throw MalformedSecret() }
        self.key = SymmetricKey(data: key)
    }

    /// The `webhook-signature` value for one attempt.
    public func signature(id: String, timestamp: Int64, body: Data) -> String {
        var content = Data("\(id).\(timestamp).".utf8)
        content.append(body)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The headers of one attempt: the three Standard Webhooks headers and `Content-Type` (the client adds `User-Agent`).
    public func headers(id: String, timestamp: Int64, body: Data) -> [(String, String)] {
        [
            ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signature(id: id, timestamp: timestamp, body: body)),
            ("Content-Type", "application/json"),
        ]
    }
}
