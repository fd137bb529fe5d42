import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: fair claims")
struct FairClaimContractTests {
    /// A funded account whose `count` jobs of `environment` were submitted from `start`, ten milliseconds apart.
    static func jobs(
        _ store: any GatewayStore, count: Int, environment: KeyEnvironment = .test, start: TimeInterval = 0
    ) async throws -> (Account, [Job]) {
        let account = Fixture.account()
        try await store.createAccount(account)
        let key = Fixture.key(for: account, environment: environment)
        try await store.createKey(key)
        _ = try await store.grant(accountID: account.id, environment: environment, amount: 1_000_000, reason: nil, at: Fixture.now)
        var jobs: [Job] = []
        for index in 0..<count {
            let job = Fixture.job(for: account, key: key, at: Fixture.now.addingTimeInterval(start + Double(index) / 100))
            _ = try #require(try await store.submit(Fixture.command(job, key: key, account: account)).createdJob)
            jobs.append(job)
        }
        return (account, jobs)
    }

    static let t = Fixture.now.addingTimeInterval(10)

    static func request(_ owner: String, live: Int = 0, sandbox: Int = 0, cap: Int = 0, at time: Date = t) -> ClaimRequest {
        ClaimRequest(owner: owner, now: time, leaseUntil: time.addingTimeInterval(30), liveSlots: live, sandboxSlots: sandbox, accountMaxInFlight: cap)
    }

    @Test(arguments: StoreKind.allCases)
    func claimsTakeEveryAccountsFirstJobBeforeAnyAccountsSecond(kind: StoreKind) async throws {
        try await kind.withStore { store in
            // The burst was submitted first: by due time alone it would take every slot.
            let (_, burst) = try await Self.jobs(store, count: 6)
            let (_, second) = try await Self.jobs(store, count: 2, start: 1)
            let (_, third) = try await Self.jobs(store, count: 1, start: 2)
            let first = try await store.claimJobs(Self.request("w1", sandbox: 3)).map(\.id)
            #expect(Set(first) == [burst[0].id, second[0].id, third[0].id])
            let next = try await store.claimJobs(Self.request("w2", sandbox: 3)).map(\.id)
            #expect(Set(next) == [burst[1].id, second[1].id, burst[2].id])
            let rest = try await store.claimJobs(Self.request("w3", sandbox: 10)).map(\.id)
            #expect(Set(rest) == Set(burst[3...].map(\.id)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anAccountWithNothingInFlightGoesBeforeABusyOne(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, busy) = try await Self.jobs(store, count: 4)
            #expect(try await store.claimJobs(Self.request("w1", sandbox: 2)).count == 2)
            // Submitted later, but its account has nothing under way while the other has two jobs.
            let (_, idle) = try await Self.jobs(store, count: 1, start: 5)
            #expect(try await store.claimJobs(Self.request("w2", sandbox: 1)).map(\.id) == [idle[0].id])
            #expect(try await store.claimJobs(Self.request("w2", sandbox: 1)).map(\.id) == [busy[2].id])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anAccountsJobDueForAPollGoesBeforeItsNewSubmissions(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.jobs(store, count: 3)
            let submitted = try #require(try await store.claimJobs(Self.request("w", sandbox: 1, at: Fixture.now.addingTimeInterval(1))).first)
            #expect(submitted.id == jobs[0].id)
            // Accepted upstream, next poll after the other two were due.
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: Fixture.now.addingTimeInterval(5)),
                to: submitted, now: Fixture.now.addingTimeInterval(1), videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: Fixture.now.addingTimeInterval(1)))
            let claimed = try #require(try await store.claimJobs(Self.request("w", sandbox: 1)).first)
            #expect(claimed.id == jobs[0].id && claimed.status == .processing)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func liveAndSandboxJobsHaveTheirOwnSlots(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, sandbox) = try await Self.jobs(store, count: 4)
            let (_, live) = try await Self.jobs(store, count: 4, environment: .live, start: 1)
            #expect(sandbox.allSatisfy { $0.provider == .sandbox } && live.allSatisfy { $0.provider != .sandbox })
            // No sandbox slot: sandbox jobs wait, however early they were due.
            let liveOnly = try await store.claimJobs(Self.request("w1", live: 2))
            #expect(liveOnly.map(\.id).sorted() == live[0..<2].map(\.id).sorted())
            let mixed = try await store.claimJobs(Self.request("w1", live: 1, sandbox: 3))
            #expect(mixed.filter { $0.provider == .sandbox }.count == 3)
            #expect(mixed.filter { $0.provider != .sandbox }.map(\.id) == [live[2].id])
            #expect(try await store.claimJobs(Self.request("w1", sandbox: 0)).isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theAccountCapCountsProcessingAndLeasedPendingJobs(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, capped) = try await Self.jobs(store, count: 5)
            let (_, other) = try await Self.jobs(store, count: 1, start: 1)
            let start = Fixture.now.addingTimeInterval(2)
            let firstTwo = try await store.claimJobs(Self.request("w1", sandbox: 10, cap: 2, at: start))
            #expect(Set(firstTwo.map(\.id)) == [capped[0].id, capped[1].id, other[0].id])
            // Another worker sees the two leased pending jobs in flight.
            #expect(try await store.claimJobs(Self.request("w2", sandbox: 10, cap: 2, at: start)).isEmpty)

            // One is accepted upstream (processing, no lease): still in flight.
            let job = try #require(firstTwo.first { $0.id == capped[0].id })
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: start.addingTimeInterval(60)), to: job, now: start,
                videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: start))
            #expect(try await store.claimJobs(Self.request("w2", sandbox: 10, cap: 2, at: start)).isEmpty)

            // It finishes: one place frees up.
            let resumed = try #require(try await store.resumeLease(jobID: job.id, owner: "w1", now: start, leaseUntil: start.addingTimeInterval(30)))
            let result = JobResult(videoKey: "v", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 1000, width: 16, height: 16)
            #expect(try await store.applyClaimed(try JobStateMachine.apply(.succeeded(result), to: resumed, now: start, videoTTL: 60), at: start))
            #expect(try await store.claimJobs(Self.request("w2", sandbox: 10, cap: 2, at: start)).map(\.id) == [capped[2].id])

            // Lapsed leases of pending jobs (dead workers) are not in flight: their jobs are retaken.
            let later = start.addingTimeInterval(31)
            let retaken = try await store.claimJobs(Self.request("w3", sandbox: 10, cap: 2, at: later)).map(\.id)
            #expect(Set(retaken) == [capped[1].id, capped[2].id, other[0].id])
            // No cap: everything due is taken.
            #expect(try await store.claimJobs(Self.request("w3", sandbox: 10, at: later)).count == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aJobDueForAPollOrPastItsDeadlineIsClaimedAtTheCap(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.jobs(store, count: 2)
            let start = Fixture.now.addingTimeInterval(1)
            let job = try #require(try await store.claimJobs(Self.request("w", sandbox: 1, cap: 1, at: start)).first)
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: start.addingTimeInterval(5)), to: job, now: start,
                videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: start))
            let poll = try await store.claimJobs(Self.request("w", sandbox: 5, cap: 1, at: start.addingTimeInterval(6)))
            #expect(poll.map(\.id) == [jobs[0].id])
            // Past its deadline, the waiting job is claimed to end it.
            let pastDeadline = Fixture.now.addingTimeInterval(1801)
            let ending = try await store.claimJobs(Self.request("w", sandbox: 5, cap: 1, at: pastDeadline)).map(\.id)
            #expect(Set(ending) == Set(jobs.map(\.id)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersTogetherKeepTheCap(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, jobs) = try await Self.jobs(store, count: 20)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        for _ in 0..<5 { mine += try await store.claimJobs(Self.request("w\(worker)", live: 2, sandbox: 2, cap: 3)).map(\.id) }
                        return mine
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(claims.count == 3)
            #expect(Set(claims) == Set(jobs[0..<3].map(\.id)))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aLeaseIsResumedOnlyWhenNobodyHoldsIt(kind: StoreKind) async throws {
        try await kind.withStore { store in
            _ = try await Self.jobs(store, count: 1)
            let job = try #require(try await store.claimJobs(Self.request("w1", sandbox: 1)).first)
            #expect(try await store.resumeLease(jobID: job.id, owner: "w2", now: Self.t, leaseUntil: Self.t.addingTimeInterval(30)) == nil)
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: Self.t.addingTimeInterval(60)), to: job, now: Self.t,
                videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: Self.t))
            // Not due for a minute, yet resumed at once by the worker that stored the step.
            let resumed = try #require(try await store.resumeLease(jobID: job.id, owner: "w1", now: Self.t, leaseUntil: Self.t.addingTimeInterval(120)))
            #expect(resumed.status == .processing && resumed.leaseOwner == "w1" && resumed.attempts == 2)
            #expect(try await store.claimJobs(Self.request("w2", sandbox: 1, at: Self.t.addingTimeInterval(61))).isEmpty)
            let failed = try JobStateMachine.apply(.failed(JobFailure(.providerError, "x")), to: resumed, now: Self.t, videoTTL: 60)
            #expect(try await store.applyClaimed(failed, at: Self.t))
            #expect(try await store.resumeLease(jobID: job.id, owner: "w1", now: Self.t, leaseUntil: Self.t.addingTimeInterval(30)) == nil)
        }
    }
}
