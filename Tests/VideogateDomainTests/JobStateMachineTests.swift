import Foundation
import Testing
@testable import VideogateDomain

@Suite("Job state machine")
struct JobStateMachineTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let result = JobResult(videoKey: "v.mp4", thumbnailKey: "v.jpg", videoBytes: 100, durationMilliseconds: 5000, width: 720, height: 1280)

    static func job(_ status: JobStatus) -> Job {
        let model = Catalog.standard.model("sora-2")!
        let submission = Submission(
            model: model, mode: .textToVideo, prompt: "p", image: nil, aspectRatio: .landscape, duration: 4, webhookURL: nil, metadata: [:])
        var job = Job(
            id: "req_1", accountID: "acct_1", keyID: "key_1", environment: .test, model: model, submission: submission, imageKey: nil,
            createdAt: now, deadlineAt: now.addingTimeInterval(600))
        job.status = status
        return job
    }

    enum EventCase: String, CaseIterable, Sendable {
        case accepted, running, retry, succeeded, failed, timedOut

        var event: JobEvent {
            switch self {
            case .accepted: .providerAccepted(providerJobID: "up_1", providerRequestID: "r_1", nextPollAt: now.addingTimeInterval(30))
            case .running: .stillRunning(progress: 40, nextPollAt: now.addingTimeInterval(10))
            case .retry: .retryLater(at: now.addingTimeInterval(5))
            case .succeeded: .succeeded(result)
            case .failed: .failed(JobFailure(.contentPolicyViolation, "refused"))
            case .timedOut: .timedOut
            }
        }
    }

    /// (from, event) → (to, ledger effect), or nil when the event is refused as invalid.
    static let table: [(JobStatus, EventCase, JobStatus?, LedgerEffect)] = [
        (.pending, .accepted, .processing, .none),
        (.pending, .running, nil, .none),
        (.pending, .retry, .pending, .none),
        (.pending, .succeeded, .completed, .capture(3500)),
        (.pending, .failed, .error, .release(3500)),
        (.pending, .timedOut, .error, .release(3500)),
        (.processing, .accepted, nil, .none),
        (.processing, .running, .processing, .none),
        (.processing, .retry, .processing, .none),
        (.processing, .succeeded, .completed, .capture(3500)),
        (.processing, .failed, .error, .release(3500)),
        (.processing, .timedOut, .error, .release(3500)),
    ]

    @Test(arguments: table.indices)
    func transitions(index: Int) {
        let (from, eventCase, to, effect) = Self.table[index]
        do {
            let transition = try JobStateMachine.apply(eventCase.event, to: Self.job(from), now: Self.now, videoTTL: 86_400)
            #expect(transition.job.status == to, "\(from) + \(eventCase)")
            #expect(transition.ledger == effect, "\(from) + \(eventCase)")
        } catch {
            #expect(to == nil, "\(from) + \(eventCase) refused: \(error)")
            if case .invalid = error {} else { Issue.record("expected .invalid, got \(error)") }
        }
    }

    @Test(arguments: [JobStatus.completed, .error], EventCase.allCases)
    func finalStatesRefuseEveryEvent(status: JobStatus, eventCase: EventCase) {
        #expect(throws: JobTransitionRefusal.alreadyFinal(status)) {
            try JobStateMachine.apply(eventCase.event, to: Self.job(status), now: Self.now, videoTTL: 86_400)
        }
    }

    @Test func successRecordsResultExpiryAndCharge() throws {
        let transition = try JobStateMachine.apply(.succeeded(Self.result), to: Self.job(.processing), now: Self.now, videoTTL: 3600)
        #expect(transition.job.completedAt == Self.now)
        #expect(transition.job.expiresAt == Self.now.addingTimeInterval(3600))
        #expect(transition.job.creditsUsed == 3500)
        #expect(transition.job.result == Self.result)
        #expect(transition.job.progress == 100)
    }

    @Test func failureAndTimeoutChargeNothing() throws {
        let failed = try JobStateMachine.apply(.failed(JobFailure(.providerError, "boom")), to: Self.job(.processing), now: Self.now, videoTTL: 1)
        #expect(failed.job.creditsUsed == 0 && failed.job.failure == JobFailure(.providerError, "boom"))
        let timedOut = try JobStateMachine.apply(.timedOut, to: Self.job(.pending), now: Self.now, videoTTL: 1)
        #expect(timedOut.job.failure?.code == .timeout && timedOut.job.completedAt == Self.now)
    }

    @Test func acceptanceRecordsProviderIDsAndNextPoll() throws {
        let transition = try JobStateMachine.apply(EventCase.accepted.event, to: Self.job(.pending), now: Self.now, videoTTL: 1)
        #expect(transition.job.providerJobID == "up_1" && transition.job.providerRequestID == "r_1")
        #expect(transition.job.submittedAt == Self.now)
        #expect(transition.job.nextAttemptAt == Self.now.addingTimeInterval(30))
    }

    @Test(arguments: [(nil as Int?, 30, 30), (50, 30, 50), (20, 30, 30), (150, 30, 100), (-5, 0, 0)])
    func progressIsMonotonicAndClamped(reported: Int?, before: Int, expected: Int) throws {
        var job = Self.job(.processing)
        job.progress = before
        let transition = try JobStateMachine.apply(.stillRunning(progress: reported, nextPollAt: Self.now), to: job, now: Self.now, videoTTL: 1)
        #expect(transition.job.progress == expected)
    }
}
