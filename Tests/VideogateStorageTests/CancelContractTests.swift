import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: cancel")
struct CancelContractTests {
    static let hook = "https://hooks.example.com/videogate"

    /// An account with 100 000 test credits and one submitted job (with a webhook URL) at `Fixture.now`.
    static func submitted(_ store: any GatewayStore) async throws -> (Account, APIKey, Job) {
        let (account, key) = try await Fixture.funded(store, credits: 100_000)
        var job = Fixture.job(for: account, key: key)
        job.webhookURL = hook
        #expect(try await store.submit(Fixture.command(job, key: key, account: account)).createdJob != nil)
        return (account, key, job)
    }

    static func cancel(_ store: any GatewayStore, _ job: Job, at: Date) async throws -> CancelOutcome {
        try await store.cancel(jobID: job.id, accountID: job.accountID, environment: job.environment, at: at)
    }

    static func kinds(_ store: any GatewayStore, accountID: String, jobID: String) async throws -> [LedgerEntryKind] {
        try await store.ledger(accountID: accountID, limit: 50, before: nil).filter { $0.jobID == jobID }.map(\.kind)
            .sorted { $0.rawValue < $1.rawValue }
    }

    @Test(arguments: StoreKind.allCases)
    func aPendingJobEndsCancelledWithItsHoldReleasedAndItsWebhookWritten(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, _, job) = try await Self.submitted(store)
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 100_000, held: 3500))
            let t = Fixture.now.addingTimeInterval(2)
            guard case .cancelled(let cancelled) = try await Self.cancel(store, job, at: t) else {
                Issue.record("the pending job was not cancelled")
                return
            }
            #expect(cancelled.status == .error && cancelled.failure?.code == .cancelled && cancelled.creditsUsed == 0)
            #expect(cancelled.completedAt == t && cancelled.leaseToken == nil && cancelled.providerJobID == nil)
            #expect(try await store.job(id: job.id) == cancelled)
            #expect(try await Self.kinds(store, accountID: account.id, jobID: job.id) == [.hold, .release])
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 100_000, held: 0))
            let deliveries = try await store.webhookDeliveries(jobID: job.id)
            #expect(deliveries.map(\.event) == [.error] && deliveries.first?.nextAttemptAt == t && deliveries.first?.url == Self.hook)
            let stats = try await store.stats(now: t)
            #expect(stats.jobsByStatus[.error] == 1 && stats.jobsByStatus[.pending, default: 0] == 0 && stats.heldCredits[.test] == 0)

            // Again: the same job, and nothing more in the ledger or the outbox.
            #expect(try await Self.cancel(store, job, at: t.addingTimeInterval(5)) == .alreadyCancelled(cancelled))
            #expect(try await Self.kinds(store, accountID: account.id, jobID: job.id) == [.hold, .release])
            #expect(try await store.webhookDeliveries(jobID: job.id).count == 1)
            #expect(try await store.stats(now: t).jobsByStatus[.error] == 1)
            // No worker ever gets it.
            #expect(try await store.claimJobs(owner: "w", limit: 10, now: t.addingTimeInterval(3600), leaseUntil: t.addingTimeInterval(3700)).isEmpty)
            #expect(try await store.resumeLease(jobID: job.id, owner: "w", now: t, leaseUntil: t.addingTimeInterval(60)) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasedProcessingAndFinishedJobsAreNotCancellableAndStayAsTheyWere(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Fixture.funded(store, credits: 100_000)
            var jobs: [Job] = []
            for index in 0..<4 {
                let job = Fixture.job(for: account, key: key, at: Fixture.now.addingTimeInterval(Double(index) / 1000))
                _ = try await store.submit(Fixture.command(job, key: key, account: account))
                jobs.append(job)
            }
            let t = Fixture.now.addingTimeInterval(1)
            let claimed = try await store.claimJobs(owner: "w", limit: 4, now: t, leaseUntil: t.addingTimeInterval(30))
            let byID = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0) })
            let (leased, toProcessing, toComplete, toFail) = try (
                #require(byID[jobs[0].id]), #require(byID[jobs[1].id]), #require(byID[jobs[2].id]), #require(byID[jobs[3].id])
            )
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: t.addingTimeInterval(600)), to: toProcessing, now: t,
                videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: t))
            let result = JobResult(videoKey: "v.mp4", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 1, width: 2, height: 2)
            #expect(try await store.applyClaimed(try JobStateMachine.apply(.succeeded(result), to: toComplete, now: t, videoTTL: 60), at: t))
            let failed = try JobStateMachine.apply(.failed(JobFailure(.providerError, "no")), to: toFail, now: t, videoTTL: 60)
            #expect(try await store.applyClaimed(failed, at: t))

            let before = try await store.ledger(accountID: account.id, limit: 50, before: nil)
            let at = t.addingTimeInterval(10)
            for job in jobs {
                let stored = try #require(try await store.job(id: job.id))
                #expect(try await Self.cancel(store, job, at: at) == .notCancellable(stored), "\(stored.status)")
                #expect(try await store.job(id: job.id) == stored)
            }
            #expect(try await store.job(id: leased.id)?.leaseToken == leased.leaseToken)
            #expect(try await store.ledger(accountID: account.id, limit: 50, before: nil) == before)
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: 100_000 - 3500, held: 2 * 3500))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func otherAccountsOtherEnvironmentsAndUnknownIDsAreNotFound(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, _, job) = try await Self.submitted(store)
            let (other, _) = try await Fixture.funded(store, credits: 0)
            let t = Fixture.now.addingTimeInterval(1)
            #expect(try await store.cancel(jobID: job.id, accountID: other.id, environment: .test, at: t) == .notFound)
            #expect(try await store.cancel(jobID: job.id, accountID: job.accountID, environment: .live, at: t) == .notFound)
            #expect(try await store.cancel(jobID: Identifier.make("req"), accountID: job.accountID, environment: .test, at: t) == .notFound)
            #expect(try await store.job(id: job.id)?.status == .pending)
        }
    }

    /// A worker whose lease ran out may still be running; the cancel takes the job, and that
    /// worker's claim can store nothing any more (its token fences it out).
    @Test(arguments: StoreKind.allCases)
    func aJobWhoseLeaseRanOutIsCancellableAndItsOldClaimIsFencedOut(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, _, job) = try await Self.submitted(store)
            let t = Fixture.now.addingTimeInterval(1)
            let claim = try #require(try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(5)).first)
            let token = try #require(claim.leaseToken)
            let leased = try #require(try await store.job(id: job.id))
            #expect(try await Self.cancel(store, job, at: t.addingTimeInterval(4.999)) == .notCancellable(leased))
            guard case .cancelled = try await Self.cancel(store, job, at: t.addingTimeInterval(5)) else {
                Issue.record("a job whose lease ran out was not cancelled")
                return
            }
            let late = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: t), to: claim, now: t.addingTimeInterval(6), videoTTL: 60)
            #expect(try await store.apply(late, token: token, at: t.addingTimeInterval(6)) == false)
            #expect(try await store.renewLease(jobID: job.id, token: token, until: t.addingTimeInterval(60)) == false)
            let stored = try #require(try await store.job(id: job.id))
            #expect(stored.status == .error && stored.failure?.code == .cancelled && stored.providerJobID == nil)
            #expect(try await Self.kinds(store, accountID: account.id, jobID: job.id) == [.hold, .release])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentCancelsOfOneJobReleaseItsHoldOnce(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, _, job) = try await Self.submitted(store)
            let t = Fixture.now.addingTimeInterval(1)
            let outcomes = try await withThrowingTaskGroup(of: CancelOutcome.self) { group in
                for _ in 0..<8 { group.addTask { try await Self.cancel(store, job, at: t) } }
                return try await group.reduce(into: [CancelOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .cancelled = $0 { true } else { false } }.count == 1)
            #expect(outcomes.filter { if case .alreadyCancelled = $0 { true } else { false } }.count == 7)
            #expect(try await Self.kinds(store, accountID: account.id, jobID: job.id) == [.hold, .release])
            #expect(try await store.webhookDeliveries(jobID: job.id).count == 1)
        }
    }
}
