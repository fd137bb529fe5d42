import ArgumentParser
import Foundation
import VideogateAPI
import VideogateApp
import VideogateDomain
import VideogateStorage

/// Options every admin command shares.
struct AdminOptions: ParsableArguments {
    @Flag(help: "Print the result as JSON.") var json = false
}

/// Opens the configured database, runs `body` with the admin actions, and closes it.
func withAdmin<T>(_ body: (AdminActions) async throws -> T) async throws -> T {
    let config = try AppConfiguration.fromEnvironment()
    try FileManager.default.createDirectory(at: config.dataDirectory, withIntermediateDirectories: true)
    let store = try openStore(config)
    try await store.migrate()
    do {
        let result = try await body(AdminActions(store: store))
        try await store.close()
        return result
    } catch let error as GatewayError {
        try? await store.close()
        throw ValidationError("\(error.code.rawValue): \(error.message)")
    } catch {
        try? await store.close()
        throw error
    }
}

func emit(_ object: [String: Any], json: Bool, human: String) throws {
    if json {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        Console.print(String(decoding: data, as: UTF8.self))
    } else {
        Console.print(human)
    }
}

func parseEnvironment(_ text: String) throws -> KeyEnvironment {
    guard let environment = KeyEnvironment(rawValue: text) else { throw ValidationError("--environment must be live or test") }
    return environment
}

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage accounts.", subcommands: [Create.self, WebhookSecret.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account.")
        @Option(help: "Account name.") var name: String
        @Option(help: "free, pro or enterprise.") var plan = "free"
        @Option(help: "Requests per key per 24 h (enterprise only).") var dailyLimit: Int?
        @OptionGroup var options: AdminOptions

        func run() async throws {
            guard let plan = Plan(rawValue: plan) else { throw ValidationError("--plan must be free, pro or enterprise") }
            let account = try await withAdmin { try await $0.createAccount(name: name, plan: plan, dailyLimit: dailyLimit) }
            try emit(
                [
                    "id": account.id, "name": account.name, "plan": account.plan.rawValue, "daily_limit": account.dailyLimit,
                    "webhook_secret": account.webhookSecret, "created_at": account.createdAt.formatted(.iso8601),
                ], json: options.json, human: "created account \(account.id) (\(account.name), \(account.plan.rawValue), \(account.dailyLimit)/day)")
        }
    }

    struct WebhookSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "webhook-secret", abstract: "Show an account's webhook signing secret, or rotate it and show the new one.")
        @Option(help: "Account id (acct_...).") var account: String
        @Flag(help: "Replace the secret; webhooks are signed with the new one from their next attempt on.") var rotate = false
        @OptionGroup var options: AdminOptions

        func run() async throws {
            let found = try await withAdmin { actions -> Account in
                if rotate { return try await actions.rotateWebhookSecret(accountID: account) }
                guard let found = try await actions.store.account(id: account) else {
                    throw GatewayError(.notFound, "No account with this id exists.")
                }
                return found
            }
            try emit(
                ["account_id": found.id, "webhook_secret": found.webhookSecret, "rotated": rotate], json: options.json,
                human: rotate ? "rotated the webhook secret of \(found.id): \(found.webhookSecret)" : found.webhookSecret)
        }
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API keys.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once.")
        @Option(help: "Account id (acct_...).") var account: String
        @Option(help: "live or test.") var environment = "test"
        @Option(help: "A name to recognise the key by.") var name: String?
        @Option(help: "Credits the key's jobs may hold or be charged over any rolling 24 hours (none by default).") var spendLimitDaily: Int?
        @OptionGroup var options: AdminOptions

        func run() async throws {
            let environment = try parseEnvironment(environment)
            let (key, secret) = try await withAdmin {
                try await $0.createKey(accountID: account, environment: environment, name: name, spendLimitDaily: spendLimitDaily)
            }
            try emit(
                [
                    "key": secret, "key_id": key.id, "environment": key.environment.rawValue, "account_id": key.accountID,
                    "spend_limit_daily": key.spendLimitDaily.map { $0 as Any } ?? NSNull(),
                ], json: options.json,
                human: "created key \(key.id) (\(key.environment.rawValue)): \(secret)\nThe secret is shown only this once.")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key from the next request on.")
        @Argument(help: "Key id (key_...).") var keyID: String
        @OptionGroup var options: AdminOptions

        func run() async throws {
            try await withAdmin { try await $0.revokeKey(id: keyID) }
            try emit(["key_id": keyID, "revoked": true], json: options.json, human: "revoked key \(keyID)")
        }
    }
}

struct Credits: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage credit balances.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add credits (a negative amount removes, never below what is held).")
        @Option(help: "Account id (acct_...).") var account: String
        @Option(help: "Credits to add.") var amount: Int
        @Option(help: "live or test.") var environment = "test"
        @Option(help: "Why, for the ledger.") var reason: String?
        @OptionGroup var options: AdminOptions

        func run() async throws {
            let environment = try parseEnvironment(environment)
            let balances = try await withAdmin {
                try await $0.addCredits(accountID: account, environment: environment, amount: amount, reason: reason)
            }
            var object: [String: Any] = ["account_id": account]
            var lines: [String] = []
            for env in KeyEnvironment.allCases {
                let balance = balances[env] ?? .zero
                object[env.rawValue] = ["available": balance.available, "held": balance.held]
                lines.append("\(env.rawValue): \(balance.available) available, \(balance.held) held")
            }
            try emit(["account_id": account, "balances": object.filter { $0.key != "account_id" }], json: options.json, human: lines.joined(separator: "\n"))
        }
    }
}
