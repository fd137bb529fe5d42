import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

/// Credential binding under `max_concurrency` and the shared circuit breakers, on each store kind.
@Suite("Store contract: credential binding and health")
struct CredentialRoutingContractTests {
    /// Three pending sora-2 jobs (the fixture's model) of one account, claimed under leases.
    static func claimedJobs(_ store: any GatewayStore, count: Int = 3) async throws -> [Job] {
        let (account, key) = try await Fixture.funded(store, credits: 100_000)
        for index in 0..<count {
            let job = Fixture.job(for: account, key: key, at: Fixture.now.addingTimeInterval(Double(index) / 1000))
            #expect(try await store.submit(Fixture.command(job, key: key, account: account, hash: "h\(index)")).createdJob != nil)
        }
        let claimed = try await store.claimJobs(
            ClaimRequest(owner: "w", limit: count, now: Fixture.now.addingTimeInterval(1), leaseUntil: Fixture.now.addingTimeInterval(60)))
        #expect(claimed.count == count)
        return claimed.sorted { $0.id < $1.id }
    }

    static func bind(_ store: any GatewayStore, _ job: Job, _ credential: String, max: Int?, token: String? = nil) async throws -> Bool {
        try await store.bindCredential(
            jobID: job.id, token: token ?? job.leaseToken ?? "", credential: credential, definition: #"{"name":"\#(credential)"}"#,
            maxConcurrency: max, at: Fixture.now.addingTimeInterval(2))
    }

    @Test(arguments: StoreKind.allCases)
    func aCredentialTakesNoMoreThanItsMaxConcurrency(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await Self.claimedJobs(store)
            #expect(try await Self.bind(store, jobs[0], "a", max: 2))
            #expect(try await Self.bind(store, jobs[1], "a", max: 2))
            #expect(try await Self.bind(store, jobs[2], "a", max: 2) == false)
            #expect(try await Self.bind(store, jobs[2], "b", max: nil))
            #expect(try await store.credentialsInFlight(at: Fixture.now.addingTimeInterval(2)) == ["a": 2, "b": 1])
            // Binding again to the credential it has does not count the job twice.
            #expect(try await Self.bind(store, jobs[1], "a", max: 2))
            // Without its claim's token nothing is bound.
            #expect(try await Self.bind(store, jobs[2], "c", max: nil, token: "not-the-token") == false)
            #expect(try await store.job(id: jobs[2].id)?.credential == "b")
            // A job whose lease was given back is no longer in flight: its slot is free.
            try await store.releaseLease(jobID: jobs[0].id, token: try #require(jobs[0].leaseToken))
            #expect(try await Self.bind(store, jobs[2], "a", max: 2))
            #expect(try await store.credentialsInFlight(at: Fixture.now.addingTimeInterval(2)) == ["a": 2])
            let stored = try #require(try await store.job(id: jobs[2].id))
            #expect(stored.credential == "a" && stored.credentialDefinition == #"{"name":"a"}"#)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentBindsNeverOverfillACredential(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let jobs = try await Self.claimedJobs(store, count: 12)
            let bound = try await withThrowingTaskGroup(of: Bool.self) { group in
                for job in jobs { group.addTask { try await Self.bind(store, job, "tight", max: 5) } }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(bound == 5)
            #expect(try await store.credentialsInFlight(at: Fixture.now.addingTimeInterval(2)) == ["tight": 5])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func healthIsSharedAndEveryOutcomeCounts(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let start = Fixture.now
            // Twenty failures recorded at once (as by several processes) all count.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        _ = try await store.updateCredentialHealth(name: "kling-a", provider: "kling", at: start) {
                            $0.afterFailure("HTTP 503 #\(index)", at: start)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let health = try #require(try await store.credentialHealth().first { $0.name == "kling-a" })
            #expect(health.failuresTotal == 20 && health.consecutiveFailures == 20)
            #expect(health.state == .open && health.provider == "kling")
            #expect(health.openedUntil == start.addingTimeInterval(30))
            // One probe only, once the open period is over.
            let later = start.addingTimeInterval(31)
            let probes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await store.updateCredentialHealth(name: "kling-a", provider: "kling", at: later) { $0.claimingProbe(at: later) } != nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(probes == 1)
            #expect(try await store.credentialHealth().first { $0.name == "kling-a" }?.state == .halfOpen)
            // The probe succeeds: closed, failures reset.
            let closed = try #require(try await store.updateCredentialHealth(name: "kling-a", provider: "kling", at: later) { $0.afterSuccess(at: later) })
            #expect(closed.state == .closed && closed.consecutiveFailures == 0 && closed.successesTotal == 1)
            // nil changes nothing.
            #expect(try await store.updateCredentialHealth(name: "kling-a", provider: "kling", at: later) { _ in nil } == nil)
            #expect(try await store.credentialHealth() == [closed])
        }
    }
}
