import Foundation
import Testing
@testable import VideogateDomain

@Suite("Job cancellation")
struct JobCancellationTests {
    static let now = JobStateMachineTests.now

    enum Case: String, CaseIterable, Sendable {
        case pending, pendingWithLapsedLease, pendingLeased, pendingLeaseEndingNow, processing, completed, failed, cancelled

        var job: Job {
            var job: Job
            switch self {
            case .pending, .pendingWithLapsedLease, .pendingLeased, .pendingLeaseEndingNow: job = JobStateMachineTests.job(.pending)
            case .processing: job = JobStateMachineTests.job(.processing)
            case .completed: job = JobStateMachineTests.job(.completed)
            case .failed, .cancelled:
                job = JobStateMachineTests.job(.error)
                job.failure = JobFailure(self == .failed ? .providerError : .cancelled, "x")
            }
            switch self {
            case .pendingWithLapsedLease: job.leaseExpiresAt = JobCancellationTests.now.addingTimeInterval(-1)
            case .pendingLeased: job.leaseExpiresAt = JobCancellationTests.now.addingTimeInterval(1)
            // A lease is live strictly before its expiry, as claims see it (`lease_expires_at <= now` is due again).
            case .pendingLeaseEndingNow: job.leaseExpiresAt = JobCancellationTests.now
            default: break
            }
            return job
        }

        var cancellable: Bool { [.pending, .pendingWithLapsedLease, .pendingLeaseEndingNow].contains(self) }
    }

    @Test(arguments: Case.allCases)
    func onlyAPendingJobWithoutALiveLeaseIsCancelled(value: Case) {
        let decision = JobStateMachine.cancel(value.job, now: Self.now)
        switch decision {
        case .cancel(let transition):
            #expect(value.cancellable, "\(value)")
            #expect(transition.job.status == .error && transition.job.failure?.code == .cancelled)
            #expect(transition.job.creditsUsed == 0 && transition.job.completedAt == Self.now && transition.job.updatedAt == Self.now)
            #expect(transition.ledger == .release(value.job.creditsReserved))
        case .alreadyCancelled:
            #expect(value == .cancelled)
        case .notCancellable:
            #expect(!value.cancellable && value != .cancelled, "\(value)")
        }
    }

    @Test func theCancelledEventIsRefusedOutsidePending() {
        #expect(throws: JobTransitionRefusal.self) {
            try JobStateMachine.apply(.cancelled, to: JobStateMachineTests.job(.processing), now: Self.now, videoTTL: 60)
        }
        #expect(throws: JobTransitionRefusal.alreadyFinal(.completed)) {
            try JobStateMachine.apply(.cancelled, to: JobStateMachineTests.job(.completed), now: Self.now, videoTTL: 60)
        }
    }
}
