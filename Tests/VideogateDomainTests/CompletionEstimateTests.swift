import Foundation
import Testing
import VideogateDomain

@Suite("Completion estimates")
struct CompletionEstimateTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let estimator = CompletionEstimator(liveSlots: 4, sandboxSlots: 2, sandboxDelay: 3, liveDefault: 120)

    static func job(_ environment: KeyEnvironment, status: JobStatus, submitted: Date? = nil) -> Job {
        let model = Catalog.standard.model("kling-v2.5-turbo-pro")!
        let submission = Submission(
            model: model, mode: model.mode, prompt: "p", image: nil, aspectRatio: .landscape, duration: model.defaultDuration, webhookURL: nil,
            metadata: [:])
        var job = Job(
            id: "req_x", accountID: "acct_x", keyID: "key_x", environment: environment, model: model, submission: submission, imageKey: nil,
            createdAt: now.addingTimeInterval(-60), deadlineAt: now.addingTimeInterval(1800))
        job.status = status
        job.submittedAt = submitted
        return job
    }

    @Test(arguments: [
        // (environment, position, seconds from now): run × (1 + position / slots)
        (KeyEnvironment.live, 0, 120.0), (.live, 4, 240), (.live, 6, 300), (.test, 0, 5), (.test, 3, 12.5),
    ])
    func aPendingJobWaitsForTheJobsBeforeItToRunSlotsAtATime(environment: KeyEnvironment, position: Int, seconds: Double) {
        let standing = Self.estimator.standing(of: Self.job(environment, status: .pending), position: position, timings: [:], now: Self.now)
        #expect(standing == QueueStanding(position: position, estimatedCompletion: Self.now.addingTimeInterval(seconds)))
    }

    @Test func aProcessingJobEndsOneMeanRunTimeAfterItsHandOverButNeverBeforeNow() {
        let key = ModelTimingKey(provider: .kling, modelID: "kling-v2.5-turbo-pro")
        let timings = [key: ModelTiming(provider: .kling, modelID: key.modelID, runTime: 90, samples: 3)]
        let recent = Self.job(.live, status: .processing, submitted: Self.now.addingTimeInterval(-30))
        #expect(Self.estimator.standing(of: recent, position: nil, timings: timings, now: Self.now)?.estimatedCompletion == Self.now.addingTimeInterval(60))
        #expect(Self.estimator.standing(of: recent, position: nil, timings: timings, now: Self.now)?.position == nil)
        let late = Self.job(.live, status: .processing, submitted: Self.now.addingTimeInterval(-500))
        #expect(Self.estimator.standing(of: late, position: nil, timings: timings, now: Self.now)?.estimatedCompletion == Self.now)
    }

    @Test func measuredRunTimesReplaceTheDefaultsOfTheirProviderAndModelOnly() {
        let timings = [
            ModelTimingKey(provider: .sandbox, modelID: "kling-v2.5-turbo-pro"): ModelTiming(
                provider: .sandbox, modelID: "kling-v2.5-turbo-pro", runTime: 1.5, samples: 1)
        ]
        #expect(Self.estimator.runTime(of: Self.job(.test, status: .pending), timings: timings) == 1.5)
        #expect(Self.estimator.runTime(of: Self.job(.live, status: .pending), timings: timings) == 120)
        #expect(Self.estimator.runTime(of: Self.job(.test, status: .pending), timings: [:]) == 5)
    }

    @Test(arguments: [JobStatus.completed, .error])
    func finishedJobsHaveNoStanding(status: JobStatus) {
        #expect(Self.estimator.standing(of: Self.job(.live, status: status), position: 0, timings: [:], now: Self.now) == nil)
    }

    @Test func eachCompletionWeighsOneFifthOfTheMean() {
        let timing = ModelTiming(provider: .veo, modelID: "veo3.1", runTime: 100, samples: 4).adding(200)
        #expect(timing.runTime == 120 && timing.samples == 5)
    }
}
