import Foundation
import Testing
import VideogateDomain
@testable import VideogateStorage

@Suite("Store contract: videos deleted through /v1/videos")
struct OpenAIVideoStoreTests {
    @Test(arguments: StoreKind.allCases)
    func onlyFinishedJobsOfTheAccountAreDeletedAndTheyLeaveTheList(kind: StoreKind) async throws {
        try await kind.withStore { store in
            let (account, jobs) = try await QueueContractTests.seed(store, jobs: 4)
            let (other, _) = try await Fixture.funded(store, credits: 0)
            let t = Fixture.now.addingTimeInterval(1)
            let claimed = try await store.claimJobs(owner: "w", limit: 1, now: t, leaseUntil: t.addingTimeInterval(30))
            let finished = try #require(claimed.first)
            let result = JobResult(videoKey: "v.mp4", thumbnailKey: nil, videoBytes: 1, durationMilliseconds: 1, width: 2, height: 2)
            #expect(try await store.applyClaimed(try JobStateMachine.apply(.succeeded(result), to: finished, now: t, videoTTL: 60), at: t))
            let pending = try #require(jobs.first { $0.id != finished.id })

            #expect(try await store.deleteOpenAIVideo(jobID: pending.id, accountID: account.id, environment: .test, at: t) == false)
            #expect(try await store.deleteOpenAIVideo(jobID: finished.id, accountID: other.id, environment: .test, at: t) == false)
            #expect(try await store.isOpenAIVideoDeleted(jobID: finished.id) == false)
            #expect(try await store.deleteOpenAIVideo(jobID: finished.id, accountID: account.id, environment: .test, at: t))
            #expect(try await store.deleteOpenAIVideo(jobID: finished.id, accountID: account.id, environment: .test, at: t) == false)
            #expect(try await store.isOpenAIVideoDeleted(jobID: finished.id))
            #expect(try await store.isOpenAIVideoDeleted(jobID: "req_unknown") == false)
            let job = try #require(try await store.job(id: finished.id))
            #expect(job.status == .completed && job.resultDeleted)
            // The sweeper has nothing left to delete.
            #expect(try await store.expiredResults(now: t.addingTimeInterval(61), limit: 10).isEmpty)

            let remaining = jobs.map(\.id).filter { $0 != finished.id }.sorted()
            let ascending = try await store.openAIVideos(accountID: account.id, environment: .test, after: nil, ascending: true, limit: 10).map(\.id)
            #expect(ascending == remaining)
            let descending = try await store.openAIVideos(accountID: account.id, environment: .test, after: nil, ascending: false, limit: 2).map(\.id)
            #expect(descending == Array(remaining.reversed().prefix(2)))
            let afterFirst = try await store.openAIVideos(accountID: account.id, environment: .test, after: remaining[0], ascending: true, limit: 10).map(\.id)
            #expect(afterFirst == Array(remaining.dropFirst()))
            let beforeLast = try await store.openAIVideos(accountID: account.id, environment: .test, after: remaining[2], ascending: false, limit: 10).map(\.id)
            #expect(beforeLast == [remaining[1], remaining[0]])
            #expect(try await store.openAIVideos(accountID: other.id, environment: .test, after: nil, ascending: true, limit: 10).isEmpty)
            // /v1/video's list still has it.
            #expect(try await store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).count == 4)
        }
    }
}
