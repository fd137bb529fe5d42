import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

/// Test and live are separate worlds (api.md, "Authentication and accounts"): every job lookup of
/// the API is filtered by the key's environment, and idempotency keys are scoped per account and
/// environment.
@Suite("Store contract: test and live are separate worlds")
struct EnvironmentIsolationTests {
    /// One account with a key and credits in each environment.
    static func account(_ store: any GatewayStore) async throws -> (Account, test: APIKey, live: APIKey) {
        let account = Fixture.account()
        try await store.createAccount(account)
        let test = Fixture.key(for: account, environment: .test)
        let live = Fixture.key(for: account, environment: .live)
        try await store.createKey(test)
        try await store.createKey(live)
        for environment in KeyEnvironment.allCases {
            _ = try await store.grant(accountID: account.id, environment: environment, amount: 100_000, reason: nil, at: Fixture.now)
        }
        return (account, test, live)
    }

    @Test(arguments: StoreKind.allCases)
    func everyJobLookupSeesOnlyTheKeysEnvironment(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, test, live) = try await Self.account(store)
            let testJob = try #require(try await store.submit(Fixture.command(Fixture.job(for: account, key: test), key: test, account: account)).createdJob)
            let liveJob = try #require(
                try await store.submit(Fixture.command(Fixture.job(for: account, key: live, at: Fixture.now.addingTimeInterval(0.001)), key: live, account: account))
                    .createdJob)
            for (key, own, foreign) in [(test, testJob, liveJob), (live, liveJob, testJob)] {
                let environment = key.environment
                #expect(try await store.authenticate(keyHash: key.hash, at: Fixture.now, jobID: own.id, withQuota: false)?.job?.id == own.id)
                let crossed = try await store.authenticate(keyHash: key.hash, at: Fixture.now, jobID: foreign.id, withQuota: false)
                #expect(crossed != nil && crossed?.job == nil)
                #expect(try await store.job(id: own.id, accountID: account.id, environment: environment)?.id == own.id)
                #expect(try await store.job(id: foreign.id, accountID: account.id, environment: environment) == nil)
                let listed = try await store.jobs(accountID: account.id, environment: environment, status: nil, limit: 10, before: nil)
                #expect(listed.map(\.id) == [own.id])
                let videos = try await store.openAIVideos(accountID: account.id, environment: environment, after: nil, ascending: true, limit: 10)
                #expect(videos.map(\.id) == [own.id])
            }
            // Admin views (no environment) see both.
            #expect(try await store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).count == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deletingThroughTheOpenAISurfaceNeedsTheJobsEnvironment(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, test, _) = try await Self.account(store)
            let job = try #require(try await store.submit(Fixture.command(Fixture.job(for: account, key: test), key: test, account: account)).createdJob)
            let t = Fixture.now.addingTimeInterval(1)
            let claimed = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(30)).first)
            #expect(try await store.apply(try JobStateMachine.apply(.failed(JobFailure(.providerError, "x")), to: claimed, now: t, videoTTL: 60), token: claimed.leaseToken ?? "", at: t))

            #expect(try await store.deleteOpenAIVideo(jobID: job.id, accountID: account.id, environment: .live, at: t) == false)
            #expect(try await store.isOpenAIVideoDeleted(jobID: job.id) == false)
            #expect(try await store.deleteOpenAIVideo(jobID: job.id, accountID: account.id, environment: .test, at: t))
        }
    }

    @Test(arguments: StoreKind.allCases, [KeyEnvironment.test, .live])
    func idempotencyKeysAreScopedPerEnvironment(kind: StoreKind, first: KeyEnvironment) async throws {
        try await kind.withStore { store in
            let (account, test, live) = try await Self.account(store)
            let (firstKey, secondKey) = first == .test ? (test, live) : (live, test)
            let original = try #require(
                try await store.submit(Fixture.command(Fixture.job(for: account, key: firstKey), key: firstKey, account: account, idempotencyKey: "k", hash: "A"))
                    .createdJob)
            // The same key and body from the other environment is a new job of that environment, not a replay.
            let later = Fixture.now.addingTimeInterval(0.001)
            let crossed = try await store.submit(
                Fixture.command(Fixture.job(for: account, key: secondKey, at: later), key: secondKey, account: account, idempotencyKey: "k", hash: "A", at: later))
            let other = try #require(crossed.createdJob)
            #expect(other.id != original.id && other.environment == secondKey.environment)
            // Another body under the same key in the other environment is no conflict either.
            let third = try await store.submit(
                Fixture.command(Fixture.job(for: account, key: secondKey, at: later), key: secondKey, account: account, idempotencyKey: "k2", hash: "B", at: later))
            #expect(third.createdJob != nil)
            let differentBody = try await store.submit(
                Fixture.command(Fixture.job(for: account, key: firstKey, at: later), key: firstKey, account: account, idempotencyKey: "k2", hash: "C", at: later))
            #expect(differentBody.createdJob != nil)
            // Each environment replays its own job, and still conflicts with itself.
            for (key, job) in [(firstKey, original), (secondKey, other)] {
                let replay = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account, idempotencyKey: "k", hash: "A"))
                guard case .replayed(let replayed, _) = replay else {
                    Issue.record("not a replay in \(key.environment): \(replay)")
                    continue
                }
                #expect(replayed.id == job.id)
                let conflict = try await store.submit(Fixture.command(Fixture.job(for: account, key: key), key: key, account: account, idempotencyKey: "k", hash: "Z"))
                #expect(conflict.refusal?.code == .idempotencyConflict)
            }
            let balances = try await store.balances(accountID: account.id)
            #expect(balances[.test]?.held == 7000 && balances[.live]?.held == 7000)
        }
    }
}
