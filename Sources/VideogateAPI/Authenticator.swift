import Crypto
import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// The caller of a `/v1` route: the key and its account.
struct Principal: Sendable {
    let key: APIKey
    let account: Account
}

/// SHA-256 of secrets: keys are stored and looked up only by this hash.
public enum SecretHash {
    public static func hex(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two strings in time that depends only on their lengths.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

extension GatewayServices {
    /// The Bearer key of a `/v1` request. Missing, malformed, unknown or revoked: 401 `invalid_api_key`.
    func authenticate(_ request: Request) async throws -> Principal {
        guard let secret = Self.bearerToken(request), KeyFormat.environment(of: secret) != nil else {
            throw GatewayError(.invalidAPIKey, "The API key is missing, malformed, unknown or revoked.")
        }
        let hash = SecretHash.hex(secret)
        guard let (key, account) = try await store.authenticate(keyHash: hash), SecretHash.constantTimeEquals(key.hash, hash) else {
            throw GatewayError(.invalidAPIKey, "The API key is missing, malformed, unknown or revoked.")
        }
        return Principal(key: key, account: account)
    }

    /// Checks the admin token of an `/admin` request (401 `unauthorized` otherwise).
    func authenticateAdmin(_ request: Request) throws {
        guard let token = Self.bearerToken(request),
            SecretHash.constantTimeEquals(SecretHash.hex(token), SecretHash.hex(configuration.adminToken))
        else {
            throw GatewayError(.unauthorized, "The admin token is missing or wrong.")
        }
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
