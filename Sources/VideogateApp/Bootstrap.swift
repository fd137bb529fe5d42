import Foundation
import VideogateAPI
import VideogateDomain
import VideogateStorage

/// The first start against an empty database: a `demo` account on `pro` with 100,000 test
/// credits and one test key, so that a new user can send a request at once.
public enum Bootstrap {
    public static let demoTestCredits = 100_000

    public struct Created: Sendable {
        public let account: Account
        public let testKey: String
    }

    /// Creates the demo account when no account exists; nil when there was one already.
    public static func run(store: any GatewayStore, clock: any WallClock) async throws -> Created? {
        guard try await !store.hasAccounts() else { return nil }
        let actions = AdminActions(store: store, clock: clock)
        let account = try await actions.createAccount(name: "demo", plan: .pro, dailyLimit: nil)
        _ = try await actions.addCredits(accountID: account.id, environment: .test, amount: demoTestCredits, reason: "first-start demo credits")
        let (_, secret) = try await actions.createKey(accountID: account.id, environment: .test, name: "demo")
        return Created(account: account, testKey: secret)
    }
}
