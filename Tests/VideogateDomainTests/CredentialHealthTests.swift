import Foundation
import Testing
import VideogateDomain

@Suite("Circuit breaker of a credential")
struct CredentialHealthTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func failed(_ health: CredentialHealth, times: Int, at time: Date) -> CredentialHealth {
        (0..<times).reduce(health) { current, _ in current.afterFailure("HTTP 500", at: time) }
    }

    @Test func fiveConsecutiveFailuresOpenItForThirtySeconds() {
        let fresh = CredentialHealth(name: "a", provider: "kling", updatedAt: start)
        let four = failed(fresh, times: 4, at: start)
        #expect(four.state == .closed && four.availability(at: start) == .usable)
        // A success in between starts the count again.
        #expect(failed(four.afterSuccess(at: start), times: 4, at: start).state == .closed)
        let five = four.afterFailure("HTTP 429", at: start)
        #expect(five.state == .open && five.openSeconds == 30 && five.lastError == "HTTP 429")
        #expect(five.availability(at: start.addingTimeInterval(29)) == .unavailable(until: start.addingTimeInterval(30)))
        #expect(five.availability(at: start.addingTimeInterval(30)) == .probe)
        // Failures of creates sent before it opened do not lengthen the open period.
        #expect(five.afterFailure("late", at: start.addingTimeInterval(10)).openedUntil == start.addingTimeInterval(30))
    }

    @Test func aFailedProbeDoublesTheOpenPeriodUpToTenMinutes() {
        var health = failed(CredentialHealth(name: "a", provider: "wan", updatedAt: start), times: 5, at: start)
        var now = start
        var periods: [Int] = []
        for _ in 0..<8 {
            now = now.addingTimeInterval(Double(health.openSeconds))
            let probing = try! #require(health.claimingProbe(at: now))
            #expect(probing.state == .halfOpen)
            // While one probe runs, nobody else may probe.
            #expect(probing.claimingProbe(at: now) == nil)
            #expect(probing.availability(at: now) == .unavailable(until: now.addingTimeInterval(120)))
            health = probing.afterFailure("still down", at: now)
            periods.append(health.openSeconds)
        }
        #expect(periods == [60, 120, 240, 480, 600, 600, 600, 600])
        // A successful probe closes it and the next opening starts at 30 s again.
        now = now.addingTimeInterval(600)
        let closed = try! #require(health.claimingProbe(at: now)).afterSuccess(at: now)
        #expect(closed.state == .closed && closed.consecutiveFailures == 0 && closed.openedUntil == nil)
        #expect(failed(closed, times: 5, at: now).openSeconds == 30)
    }

    @Test func anAbandonedProbeMayBeTakenOverAfterItsTimeout() {
        let open = failed(CredentialHealth(name: "a", provider: "veo", updatedAt: start), times: 5, at: start)
        let probing = try! #require(open.claimingProbe(at: start.addingTimeInterval(30)))
        #expect(probing.claimingProbe(at: start.addingTimeInterval(149)) == nil)
        #expect(probing.claimingProbe(at: start.addingTimeInterval(150)) != nil)
        // A closed breaker has no probe to claim.
        #expect(CredentialHealth(name: "b", provider: "veo", updatedAt: start).claimingProbe(at: start) == nil)
    }
}
