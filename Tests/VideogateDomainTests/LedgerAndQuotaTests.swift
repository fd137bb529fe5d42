import Foundation
import Testing
@testable import VideogateDomain

@Suite("Ledger rules and quota window")
struct LedgerAndQuotaTests {
    @Test func holdNeedsAvailableCredits() {
        #expect(LedgerRules.hold(100, on: Balance(total: 100, held: 0)) == Balance(total: 100, held: 100))
        #expect(LedgerRules.hold(101, on: Balance(total: 100, held: 0)) == nil)
        #expect(LedgerRules.hold(50, on: Balance(total: 100, held: 60)) == nil)
        #expect(LedgerRules.hold(-1, on: Balance(total: 100, held: 0)) == nil)
    }

    @Test func grantNeverGoesBelowHeld() {
        #expect(LedgerRules.grant(-40, on: Balance(total: 100, held: 60)) == Balance(total: 60, held: 60))
        #expect(LedgerRules.grant(-41, on: Balance(total: 100, held: 60)) == nil)
        #expect(LedgerRules.grant(500, on: .zero) == Balance(total: 500, held: 0))
    }

    @Test func settlementArithmetic() {
        let balance = Balance(total: 1000, held: 300)
        #expect(LedgerRules.settle(.capture(300), on: balance) == Balance(total: 700, held: 0))
        #expect(LedgerRules.settle(.release(300), on: balance) == Balance(total: 1000, held: 0))
        #expect(LedgerRules.settle(.none, on: balance) == balance)
    }

    /// A seeded random walk of holds and settlements never makes a balance negative.
    @Test(arguments: [1, 2, 3, 42])
    func randomSequencesNeverOverdraw(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var balance = Balance(total: 10_000, held: 0)
        var open: [Int] = []
        for _ in 0..<2000 {
            switch random.next() % 4 {
            case 0, 1:
                let price = Int(random.next() % 4000)
                if let next = LedgerRules.hold(price, on: balance) {
                    balance = next
                    open.append(price)
                }
            case 2 where !open.isEmpty:
                balance = LedgerRules.settle(.capture(open.removeLast()), on: balance)
            case 3 where !open.isEmpty:
                balance = LedgerRules.settle(.release(open.removeLast()), on: balance)
            default:
                balance = LedgerRules.grant(Int(random.next() % 500), on: balance) ?? balance
            }
            #expect(balance.available >= 0 && balance.held >= 0 && balance.total >= 0)
            #expect(balance.held == open.reduce(0, +))
        }
    }

    @Test func quotaBucketsAreMinutesAndExpireAfterADay() {
        let date = Date(timeIntervalSince1970: 1_800_000_059)
        let bucket = QuotaWindow.bucket(for: date)
        #expect(bucket == 30_000_000)
        #expect(QuotaWindow.bucket(for: Date(timeIntervalSince1970: 1_800_000_060)) == bucket + 1)
        #expect(QuotaWindow.expiry(ofBucket: bucket) == Date(timeIntervalSince1970: 1_800_000_000 + 86_400))
        // The bucket is inside the window until its expiry and outside from then on.
        #expect(QuotaWindow.firstBucket(at: Date(timeIntervalSince1970: 1_800_000_000 + 86_399)) <= bucket)
        #expect(QuotaWindow.firstBucket(at: Date(timeIntervalSince1970: 1_800_000_000 + 86_400)) > bucket)
    }

    @Test func quotaStatusFigures() {
        let status = QuotaStatus(limit: 100, used: 100, resetAt: .distantFuture)
        #expect(status.isExhausted && status.remaining == 0)
        #expect(QuotaStatus(limit: 100, used: 120, resetAt: .distantFuture).remaining == 0)
        #expect(!QuotaStatus(limit: 100, used: 99, resetAt: .distantFuture).isExhausted)
    }

    @Test(arguments: [(Plan.free, 100), (.pro, 1000), (.enterprise, 10_000)])
    func planLimits(plan: Plan, limit: Int) {
        #expect(plan.defaultDailyLimit == limit)
    }
}

/// A small seeded generator for repeatable random tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
