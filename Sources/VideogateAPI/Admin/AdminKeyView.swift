import Foundation
import VideogateDomain

/// A key as `PATCH /admin/keys/{key_id}` shows it: never its secret.
struct AdminKeyView: Encodable {
    let success = true
    let keyID: String
    let accountID: String
    let environment: String
    let name: NullOr<String>
    let prefix: String
    let createdAt: String
    let revoked: Bool
    /// JSON null when the key has no spend limit.
    let spendLimitDaily: NullOr<Int>
    enum CodingKeys: String, CodingKey {
        case success, environment, name, prefix, revoked
        case keyID = "key_id"
        case accountID = "account_id"
        case createdAt = "created_at"
        case spendLimitDaily = "spend_limit_daily"
    }

    init(_ key: APIKey) {
        keyID = key.id
        accountID = key.accountID
        environment = key.environment.rawValue
        name = NullOr(key.name)
        prefix = key.prefix
        createdAt = key.createdAt.rfc3339
        revoked = key.revokedAt != nil
        spendLimitDaily = NullOr(key.spendLimitDaily)
    }
}
