import Foundation
import Synchronization
import Testing
import VideogateDomain
@testable import VideogateStorage

/// A cancel and a worker's claim of the same job at the same instant, many times over: exactly one
/// of them wins every time, and a job the cancel won is never handed to a worker.
@Suite("Store contract: cancel against a claim")
struct CancelRaceTests {
    static let rounds = 200

    /// Both sides of one round, released together once both are ready.
    final class StartLine: Sendable {
        private let arrived = Atomic(0)
        func wait() async {
            arrived.add(1, ordering: .acquiringAndReleasing)
            // Bounded: the other side is a task of the same group, started at the same time.
            for _ in 0..<100_000 where arrived.load(ordering: .acquiring) < 2 { await Task.yield() }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func exactlyOneOfACancelAndAClaimAtTheSameInstantWins(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, key) = try await Fixture.funded(store, credits: Self.rounds * 3500, limit: 100_000)
            var wins = (cancel: 0, claim: 0)
            for round in 0..<Self.rounds {
                let t = Fixture.now.addingTimeInterval(Double(round))
                let job = Fixture.job(for: account, key: key, at: t)
                #expect(try await store.submit(Fixture.command(job, key: key, account: account, at: t)).createdJob != nil)
                let now = t.addingTimeInterval(0.5)
                // Every other round, a claim under the account cap (PostgreSQL takes its advisory lock then).
                let request = ClaimRequest(
                    owner: "w", now: now, leaseUntil: now.addingTimeInterval(30), liveSlots: 1, sandboxSlots: 1,
                    accountMaxInFlight: round.isMultiple(of: 2) ? 0 : 1_000)
                let start = StartLine()
                async let claimed = { () async throws -> [Job] in
                    await start.wait()
                    return try await store.claimJobs(request)
                }()
                async let cancelled = { () async throws -> CancelOutcome in
                    await start.wait()
                    return try await store.cancel(jobID: job.id, accountID: account.id, environment: .test, at: now)
                }()
                let (claim, outcome) = try await (claimed, cancelled)
                let kinds = try await store.ledger(accountID: account.id, limit: 10, before: nil).filter { $0.jobID == job.id }.map(\.kind)
                switch outcome {
                case .cancelled(let stored):
                    wins.cancel += 1
                    #expect(claim.isEmpty, "round \(round): the claim took a job the cancel won")
                    #expect(stored.status == .error && stored.failure?.code == .cancelled)
                    #expect(kinds.sorted { $0.rawValue < $1.rawValue } == [.hold, .release], "round \(round)")
                    #expect(try await store.claimJobs(request).isEmpty, "round \(round): a cancelled job was claimed afterwards")
                case .notCancellable(let seen):
                    wins.claim += 1
                    let taken = try #require(claim.first, "round \(round): neither side won")
                    #expect(claim.count == 1 && taken.id == job.id && seen.leaseToken == taken.leaseToken)
                    #expect(kinds == [.hold], "round \(round)")
                    // The claim's worker goes on: its provider accepts the job, stored under its token.
                    let accepted = try JobStateMachine.apply(
                        .providerAccepted(providerJobID: "up-\(round)", providerRequestID: nil, nextPollAt: now.addingTimeInterval(86_400)),
                        to: taken, now: now, videoTTL: 60)
                    #expect(try await store.applyClaimed(accepted, at: now), "round \(round)")
                    #expect(try await store.job(id: job.id)?.status == .processing)
                default:
                    Issue.record("round \(round): unexpected outcome \(outcome)")
                }
            }
            print("cancel against claim on \(kind.rawValue): \(wins.cancel) rounds won by the cancel, \(wins.claim) by the claim")
            #expect(wins.cancel + wins.claim == Self.rounds)
            let stats = try await store.stats(now: Fixture.now.addingTimeInterval(Double(Self.rounds)))
            #expect(stats.jobsByStatus[.error, default: 0] == wins.cancel && stats.jobsByStatus[.processing, default: 0] == wins.claim)
            #expect(try await store.balances(accountID: account.id)[.test] == Balance(total: Self.rounds * 3500, held: wins.claim * 3500))
        }
    }
}
