import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

/// The operator console's reads and sessions, on each store kind.
@Suite("Store contract: console")
struct ConsoleContractTests {
    @Test(arguments: StoreKind.allCases)
    func accountsPageNewestFirstAndKeysListEveryKeyOfTheirAccount(kind: StoreKind) async throws {
        try await kind.withStore { store in
            var created: [Account] = []
            for index in 0..<5 {
                let account = Fixture.account("acct-\(index)")
                try await store.createAccount(account)
                created.append(account)
            }
            let newestFirst = created.sorted { $0.id > $1.id }
            let first = try await store.accounts(limit: 3, before: nil)
            #expect(first == Array(newestFirst.prefix(3)))
            let second = try await store.accounts(limit: 3, before: first.last?.id)
            #expect(second == Array(newestFirst.suffix(2)))
            #expect(try await store.accounts(limit: 3, before: newestFirst.last?.id).isEmpty)

            let owner = created[0]
            let test = Fixture.key(for: owner)
            let live = Fixture.key(for: owner, environment: .live)
            try await store.createKey(test)
            try await store.createKey(live)
            try await store.createKey(Fixture.key(for: created[1]))
            #expect(try await store.revokeKey(id: test.id, at: Fixture.now))
            let keys = try await store.keys(accountID: owner.id)
            #expect(Set(keys.map(\.id)) == [test.id, live.id])
            #expect(keys.first { $0.id == test.id }?.revokedAt != nil && keys.first { $0.id == live.id }?.revokedAt == nil)
            #expect(try await store.keys(accountID: "acct_missing").isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func sessionsAnswerUntilTheyExpireOrAreDeleted(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let now = Fixture.now
            let session = ConsoleSession(idHash: "hash-a", csrfToken: "csrf-a", createdAt: now, expiresAt: now.addingTimeInterval(3600))
            let other = ConsoleSession(idHash: "hash-b", csrfToken: "csrf-b", createdAt: now, expiresAt: now.addingTimeInterval(60))
            try await store.createConsoleSession(session)
            try await store.createConsoleSession(other)
            #expect(try await store.consoleSession(idHash: "hash-a", at: now) == session)
            #expect(try await store.consoleSession(idHash: "nope", at: now) == nil)
            // Expired: not answered, and removed by the next deletion.
            #expect(try await store.consoleSession(idHash: "hash-b", at: now.addingTimeInterval(60)) == nil)
            try await store.deleteConsoleSession(idHash: "hash-a", at: now.addingTimeInterval(61))
            #expect(try await store.consoleSession(idHash: "hash-a", at: now) == nil)
            #expect(try await store.consoleSession(idHash: "hash-b", at: now) == nil)
        }
    }
}
