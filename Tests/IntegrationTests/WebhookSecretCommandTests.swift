import Foundation
import Testing

/// `videogate accounts webhook-secret` against a data directory, with the real binary.
@Suite("CLI: webhook secrets")
struct WebhookSecretCommandTests {
    @Test func showsAndRotatesTheAccountsSecret() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let environment = ["VIDEOGATE_DATA_DIR": data.path]
        let account = try await VideogateBinary.json(["accounts", "create", "--name", "hooks"], environment: environment)
        let id = try #require(account["id"] as? String)
        let original = try #require(account["webhook_secret"] as? String)

        let shown = try await VideogateBinary.json(["accounts", "webhook-secret", "--account", id], environment: environment)
        #expect(shown["account_id"] as? String == id && shown["webhook_secret"] as? String == original && shown["rotated"] as? Bool == false)

        let rotated = try await VideogateBinary.json(["accounts", "webhook-secret", "--account", id, "--rotate"], environment: environment)
        let secret = try #require(rotated["webhook_secret"] as? String)
        #expect(secret != original && secret.hasPrefix("whsec_") && rotated["rotated"] as? Bool == true)
        #expect(Data(base64Encoded: String(secret.dropFirst("whsec_".count)))?.count == 32)

        let (status, output) = try await VideogateBinary.run(["accounts", "webhook-secret", "--account", id], environment: environment)
        #expect(status == 0 && output.trimmingCharacters(in: .whitespacesAndNewlines) == secret, "\(output)")
        let missing = try await VideogateBinary.run(["accounts", "webhook-secret", "--account", "acct_missing"], environment: environment)
        #expect(missing.status != 0 && missing.output.contains("not_found"), "\(missing.output)")
    }
}
