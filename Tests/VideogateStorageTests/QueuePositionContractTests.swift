import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: queue positions")
struct QueuePositionContractTests {
    typealias Fair = FairClaimContractTests
    static let t = Fair.t

    /// The queue positions of the jobs `ids` that are pending, from the order at `t`.
    static func positions(_ store: any GatewayStore, _ ids: [String], cap: Int) async throws -> [String: Int] {
        let order = try await store.queueOrder(now: t, accountMaxInFlight: cap)
        var positions: [String: Int] = [:]
        for id in ids {
            if let job = try await store.job(id: id), let position = order.position(of: job) { positions[id] = position }
        }
        return positions
    }

    /// Claims one job at a time in one lane, at `t`, until a claim takes nothing. Each claim must take
    /// the job that was at position 0, which is then at 0 as being handed over, while every other job
    /// asked about moves up by exactly one. Returns the ids in the order claimed.
    static func claimOneAtATime(_ store: any GatewayStore, _ ids: [String], sandbox: Bool, cap: Int = 0) async throws -> [String] {
        var remaining = Set(ids)
        var claimed: [String] = []
        var before = try await Self.positions(store, ids, cap: cap)
        #expect(Set(before.values) == Set(0..<ids.count), "distinct positions from 0 up")
        for _ in 0..<ids.count {
            let request = Fair.request("w", live: sandbox ? 0 : 1, sandbox: sandbox ? 1 : 0, cap: cap)
            guard let job = try await store.claimJobs(request).first else { break }
            #expect(before[job.id] == 0, "the claim took the job at position 0")
            remaining.remove(job.id)
            claimed.append(job.id)
            let after = try await Self.positions(store, Array(remaining) + [job.id], cap: cap)
            #expect(after[job.id] == 0, "a leased pending job is being handed over")
            for id in remaining { #expect(after[id] == before[id].map { $0 - 1 }) }
            before = after.filter { remaining.contains($0.key) }
        }
        return claimed
    }

    @Test(arguments: StoreKind.allCases)
    func positionsPredictTheClaimOrderAcrossAccountsWithJobsInFlight(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, a) = try await Fair.jobs(store, count: 5)
            let (_, b) = try await Fair.jobs(store, count: 3, start: 1)
            let (_, c) = try await Fair.jobs(store, count: 2, start: 2)
            // A and B get one job each in flight: A's with its provider (processing, next poll far
            // off), B's leased (being handed over).
            let first = try await store.claimJobs(Fair.request("w0", sandbox: 2))
            #expect(Set(first.map(\.id)) == [a[0].id, b[0].id])
            let handed = try #require(first.first { $0.id == a[0].id })
            let accepted = try JobStateMachine.apply(
                .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: Self.t.addingTimeInterval(1000)), to: handed,
                now: Self.t, videoTTL: 60)
            #expect(try await store.applyClaimed(accepted, at: Self.t))
            let (_, d) = try await Fair.jobs(store, count: 2, start: 3)
            let (_, live) = try await Fair.jobs(store, count: 3, environment: .live, start: 4)

            let waiting = Array(a[1...] + b[1...] + c + d).map(\.id)
            let shown = try await Self.positions(store, waiting + [a[0].id, b[0].id], cap: 0)
            #expect(shown[a[0].id] == nil, "processing: no position")
            #expect(shown[b[0].id] == 0)
            // Accounts with nothing in flight first, then every account's next job, oldest first.
            let expected = [c[0], d[0], a[1], b[1], c[1], d[1], a[2], b[2], a[3], a[4]].map(\.id)
            #expect(expected.enumerated().allSatisfy { shown[$0.element] == $0.offset })

            #expect(try await Self.claimOneAtATime(store, waiting, sandbox: true) == expected)
            // The live lane has its own order, untouched by the sandbox claims.
            #expect(try await Self.claimOneAtATime(store, live.map(\.id), sandbox: false) == live.map(\.id))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func jobsHeldBackByTheAccountCapComeAfterEveryClaimableJob(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, a) = try await Fair.jobs(store, count: 4)
            let (_, b) = try await Fair.jobs(store, count: 2, start: 1)
            #expect(try await store.claimJobs(Fair.request("w0", sandbox: 1, cap: 2)).map(\.id) == [a[0].id])
            let waiting = Array(a[1...] + b).map(\.id)
            let shown = try await Self.positions(store, waiting, cap: 2)
            #expect([b[0], a[1], b[1], a[2], a[3]].map { shown[$0.id] } == [0, 1, 2, 3, 4])
            #expect(try await Self.claimOneAtATime(store, waiting, sandbox: true, cap: 2) == [b[0].id, a[1].id, b[1].id])
            // Without a cap the same queue is plain round-robin.
            #expect(try await Self.positions(store, [a[2].id], cap: 0)[a[2].id] == 0)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aJobWaitingOutABackoffCountsEveryDueJobOfItsLane(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (_, a) = try await Fair.jobs(store, count: 3)
            let (_, live) = try await Fair.jobs(store, count: 1, environment: .live, start: 1)
            let claimed = try await store.claimJobs(Fair.request("w", sandbox: 2))
            // A claim's jobs come back in no particular order (PostgreSQL's UPDATE … RETURNING).
            #expect(Set(claimed.map(\.id)) == [a[0].id, a[1].id])
            let backingOff = try #require(claimed.first { $0.id == a[1].id })
            let retry = try JobStateMachine.apply(.retryLater(at: Self.t.addingTimeInterval(100)), to: backingOff, now: Self.t, videoTTL: 60)
            #expect(try await store.applyClaimed(retry, at: Self.t))
            let ids = (a + live).map(\.id)
            let shown = try await Self.positions(store, ids, cap: 0)
            #expect(shown == [a[0].id: 0, a[1].id: 1, a[2].id: 0, live[0].id: 0])

            // Finished jobs have no position.
            let first = try #require(claimed.first { $0.id == a[0].id })
            let failed = try JobStateMachine.apply(.failed(JobFailure(.providerError, "x")), to: first, now: Self.t, videoTTL: 60)
            #expect(try await store.applyClaimed(failed, at: Self.t))
            #expect(try await Self.positions(store, ids, cap: 0)[first.id] == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func completionsKeepAWeightedMeanRunTimePerModel(kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.modelTimings().isEmpty)
            let (_, jobs) = try await Fair.jobs(store, count: 3)
            for job in try await store.claimJobs(Fair.request("w", sandbox: 3)) {
                let accepted = try JobStateMachine.apply(
                    .providerAccepted(providerJobID: "up", providerRequestID: nil, nextPollAt: Self.t.addingTimeInterval(1)), to: job,
                    now: Self.t, videoTTL: 60)
                #expect(try await store.applyClaimed(accepted, at: Self.t))
            }
            let polled = try await store.claimJobs(Fair.request("w", sandbox: 3, at: Self.t.addingTimeInterval(1)))
            #expect(polled.count == 3)
            let result = JobResult(videoKey: "v", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 1000, width: 16, height: 16)
            let ends: [(Job, JobEvent, TimeInterval)] = [
                (try #require(polled.first { $0.id == jobs[0].id }), .succeeded(result), 11),
                (try #require(polled.first { $0.id == jobs[1].id }), .failed(JobFailure(.providerError, "x")), 100),
                (try #require(polled.first { $0.id == jobs[2].id }), .succeeded(result), 21),
            ]
            for (job, event, after) in ends {
                let end = Self.t.addingTimeInterval(after)
                #expect(try await store.applyClaimed(try JobStateMachine.apply(event, to: job, now: end, videoTTL: 60), at: end))
            }
            let expected = ModelTiming(provider: .sandbox, modelID: "sora-2", runTime: 11, samples: 1).adding(21)
            #expect(try await store.modelTimings() == [expected])
            #expect(expected.runTime == 13 && expected.samples == 2)
        }
    }
}
