/// Kinds of ledger entries. Every change of a balance is one entry.
public enum LedgerEntryKind: String, Sendable, Codable, CaseIterable {
    /// Credits added (or, negative, removed) by an operator.
    case grant
    /// A job's price set aside at submission.
    case hold
    /// A held price charged when its job completed.
    case capture
    /// A held price given back when its job failed.
    case release
}

/// An account's credits in one environment. `available` is what a new job may hold.
public struct Balance: Sendable, Equatable, Codable {
    /// Credits owned: grants minus captures.
    public var total: Int
    /// Credits held by unfinished jobs.
    public var held: Int
    public init(total: Int, held: Int) {
        self.total = total
        self.held = held
    }
    public var available: Int { total - held }
    public static let zero = Balance(total: 0, held: 0)
}

/// The ledger rules, applied by the stores inside the transaction that changes the job.
public enum LedgerRules {
    /// The balance after holding `amount`, or nil when the available credits do not cover it.
    public static func hold(_ amount: Int, on balance: Balance) -> Balance? {
        guard amount >= 0, balance.available >= amount else { return nil }
        return Balance(total: balance.total, held: balance.held + amount)
    }

    /// The balance after an operator's grant (negative removes), or nil when it would go below what is held.
    public static func grant(_ amount: Int, on balance: Balance) -> Balance? {
        let total = balance.total + amount
        guard total >= balance.held else { return nil }
        return Balance(total: total, held: balance.held)
    }

    /// The balance after a job's final ledger effect.
    public static func settle(_ effect: LedgerEffect, on balance: Balance) -> Balance {
        switch effect {
        case .none: balance
        case .capture(let amount): Balance(total: balance.total - amount, held: balance.held - amount)
        case .release(let amount): Balance(total: balance.total, held: balance.held - amount)
        }
    }
}

/// One line of the ledger.
public struct LedgerEntry: Sendable, Equatable {
    public var id: String
    public var accountID: String
    public var environment: KeyEnvironment
    public var kind: LedgerEntryKind
    /// Signed change of `total` (grant, capture) or of `held` (hold, release) in credits.
    public var amount: Int
    public var jobID: String?
    public var reason: String?
    public var balanceAfter: Balance
    public var createdAt: Date
    public init(
        id: String, accountID: String, environment: KeyEnvironment, kind: LedgerEntryKind, amount: Int, jobID: String?,
        reason: String?, balanceAfter: Balance, createdAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.environment = environment
        self.kind = kind
        self.amount = amount
        self.jobID = jobID
        self.reason = reason
        self.balanceAfter = balanceAfter
        self.createdAt = createdAt
    }
}

import Foundation
