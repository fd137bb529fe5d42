import Foundation
import Testing
@testable import VideogateDomain

@Suite("Webhook retry schedule and attempt outcomes")
struct WebhookTests {
    static let bases: [TimeInterval] = [0.2, 1, 10, 60, 3600]

    @Test(arguments: bases)
    func retriesLastAtLeast24HoursInAll(base: TimeInterval) {
        let schedule = WebhookRetrySchedule(base: base)
        #expect(schedule.delays.reduce(0, +) >= 24 * 3600)
        // Not more retries than it takes: without the last one the schedule would be too short.
        #expect(schedule.delays.dropLast().reduce(0, +) < 24 * 3600)
        #expect(schedule.maxAttempts == schedule.delays.count + 1)
    }

    @Test(arguments: bases)
    func firstRetryAfterTheBaseThenDoublingUpToFourHours(base: TimeInterval) {
        let delays = WebhookRetrySchedule(base: base).delays
        #expect(delays.first == base)
        for (previous, next) in zip(delays, delays.dropFirst()) {
            #expect(next == min(previous * 2, WebhookRetrySchedule.maximumDelay))
        }
        #expect(delays.allSatisfy { $0 <= 4 * 3600 })
    }

    @Test func theDefaultScheduleMakesSeventeenAttemptsOverAboutTwentySixHours() {
        let schedule = WebhookRetrySchedule(base: 10)
        #expect(schedule.delays == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 14400, 14400, 14400, 14400, 14400])
        #expect(schedule.maxAttempts == 17)
        #expect(schedule.delays.reduce(0, +) == 92_470)
    }

    @Test(arguments: [0.0, 0.3, 1.0, -5.0, 7.0])
    func jitterStretchesByAtMostAFifthAndNeverShortens(jitter: Double) throws {
        let schedule = WebhookRetrySchedule(base: 10)
        for retry in 1...schedule.delays.count {
            let nominal = schedule.delays[retry - 1]
            let delay = try #require(schedule.delay(beforeRetry: retry, jitter: jitter))
            #expect(delay >= nominal && delay <= nominal * 1.2)
        }
        #expect(schedule.delay(beforeRetry: 0, jitter: jitter) == nil)
        #expect(schedule.delay(beforeRetry: schedule.delays.count + 1, jitter: jitter) == nil)
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        (WebhookAttemptOutcome.answered(status: 200), 1, WebhookNext.delivered),
        (.answered(status: 204), 16, .delivered),
        (.answered(status: 500), 1, .retry(at: now.addingTimeInterval(10))),
        (.answered(status: 302), 2, .retry(at: now.addingTimeInterval(20))),
        (.answered(status: 410), 3, .retry(at: now.addingTimeInterval(40))),
        (.unreachable("no answer within 15 s"), 4, .retry(at: now.addingTimeInterval(80))),
        (.answered(status: 503), 16, .retry(at: now.addingTimeInterval(14400))),
        (.answered(status: 503), 17, .failed),
        (.unreachable("connection refused"), 17, .failed),
        (.refused("the address is private (10.0.0.0/8)"), 1, .failed),
    ])
    func eachOutcomeDecidesWhatFollows(outcome: WebhookAttemptOutcome, attempt: Int, next: WebhookNext) {
        #expect(WebhookRetrySchedule(base: 10).next(after: outcome, attempt: attempt, now: Self.now, jitter: 0) == next)
    }

    @Test func attemptsKeepTheStatusAndSayWhyTheyFailed() {
        #expect(WebhookAttemptOutcome.answered(status: 200).errorText == nil)
        #expect(WebhookAttemptOutcome.answered(status: 200).statusCode == 200)
        #expect(WebhookAttemptOutcome.answered(status: 500).errorText == "the receiver answered 500")
        #expect(WebhookAttemptOutcome.answered(status: 301).errorText?.contains("redirects are not followed") == true)
        #expect(WebhookAttemptOutcome.unreachable("connection refused").statusCode == nil)
        #expect(WebhookAttemptOutcome.refused("the address is loopback").errorText == "refused by the outbound rules: the address is loopback")
        #expect(WebhookNext.retry(at: Self.now).status == .pending)
        #expect(WebhookNext.delivered.status == .delivered && WebhookNext.failed.status == .failed)
    }
}
