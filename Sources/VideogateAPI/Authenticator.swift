import Crypto
import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// The caller of a `/v1` route: the key, its account, and the key's daily-limit figures now.
struct Principal: Sendable {
    let key: APIKey
    let account: Account
    /// The key's daily-limit figures, when asked for (submissions get theirs from the submit transaction).
    let quota: QuotaStatus?
    let now: Date
    /// The job the request names, when asked for and it is the account's.
    let job: Job?
}

/// SHA-256 of secrets: keys are stored and looked up only by this hash.
public enum SecretHash {
    public static func hex(_ secret: String) -> String {
        hex(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Lowercase hex of a digest.
    static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
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
    /// The Bearer key of a `/v1` request, and the job `jobID` when given (in the same read).
    /// Missing, malformed, unknown or revoked key: 401 `invalid_api_key`.
    func authenticate(_ request: Request, jobID: String? = nil, withQuota: Bool = true) async throws -> Principal {
        guard let secret = Self.bearerToken(request), KeyFormat.environment(of: secret) != nil else {
            throw GatewayError(.invalidAPIKey, "The API key is missing, malformed, unknown or revoked.")
        }
        let hash = SecretHash.hex(secret)
        let now = clock.now()
        let wanted = jobID.flatMap { Identifier.isWellFormed($0, prefix: "req") ? $0 : nil }
        guard let found = try await store.authenticate(keyHash: hash, at: now, jobID: wanted, withQuota: withQuota),
            SecretHash.constantTimeEquals(found.key.hash, hash)
        else {
            throw GatewayError(.invalidAPIKey, "The API key is missing, malformed, unknown or revoked.")
        }
        return Principal(key: found.key, account: found.account, quota: found.quota, now: now, job: found.job)
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
        let utf8 = header.utf8
        guard utf8.count > 7 else { return nil }
        // "Bearer " in any letter case, without allocating.
        for (offset, expected) in "bearer ".utf8.enumerated() {
            let byte = utf8[utf8.index(utf8.startIndex, offsetBy: offset)]
            guard byte | (byte >= 65 && byte <= 90 ? 0x20 : 0) == expected else { return nil }
        }
        let token = header.utf8.dropFirst(7).drop { $0 == 32 || $0 == 9 }
        let end = token.lastIndex { $0 != 32 && $0 != 9 }
        guard let end else { return nil }
        return String(Substring(token[...end]))
    }
}
