import Foundation
import Synchronization
import Testing
import VideogateStorage

@testable import VideogateAPI

/// The shared reading of the queue order: one reading for many requests, a stale order served at
/// once while the next reading runs, and a wait only for requests whose job changed since.
@Suite("Queue order cache")
struct QueueOrderCacheTests {
    /// A reading that counts its calls and, while `held`, waits until released.
    final class Reader: Sendable {
        let calls = Atomic<Int>(0)
        let gate = Mutex<[CheckedContinuation<Void, Never>]?>(nil)

        func hold() { gate.withLock { $0 = [] } }
        func release() {
            let waiting = gate.withLock { gate in
                defer { gate = nil }
                return gate ?? []
            }
            for continuation in waiting { continuation.resume() }
        }

        func read(takenAt: Date) async -> QueueOrder {
            calls.add(1, ordering: .relaxed)
            await withCheckedContinuation { continuation in
                let wait = gate.withLock { gate -> Bool in
                    guard gate != nil else { return false }
                    gate!.append(continuation)
                    return true
                }
                if !wait { continuation.resume() }
            }
            return QueueOrder(takenAt: takenAt, positions: [:], sandboxCount: 0, liveCount: 0)
        }
    }

    @Test func aStaleOrderIsServedAtOnceWhileOneReadingRunsBehind() async throws {
        let cache = QueueOrderCache()
        let reader = Reader()
        let first = Date(timeIntervalSince1970: 1_000)
        let order = try await cache.order(ttl: 0, notBefore: first) { await reader.read(takenAt: first) }
        #expect(order.takenAt == first && reader.calls.load(ordering: .relaxed) == 1)
        // Once past its freshness (ttl 0, or four times the reading's length) a new reading starts
        // behind, held here; requests are answered from the old order at once all the while.
        reader.hold()
        let second = Date(timeIntervalSince1970: 2_000)
        for _ in 0..<500 where reader.calls.load(ordering: .relaxed) < 2 {
            let served = try await cache.order(ttl: 0, notBefore: first) { await reader.read(takenAt: second) }
            #expect(served.takenAt == first)
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(reader.calls.load(ordering: .relaxed) == 2)
        for _ in 0..<5 {
            let served = try await cache.order(ttl: 0, notBefore: first) { await reader.read(takenAt: second) }
            #expect(served.takenAt == first)
        }
        // One reading behind them, not one each.
        #expect(reader.calls.load(ordering: .relaxed) == 2)
        reader.release()
        // Once it is done, requests see the new order.
        var seen = first
        for _ in 0..<500 where seen != second {
            seen = try await cache.order(ttl: 60, notBefore: first) { await reader.read(takenAt: second) }.takenAt
            if seen != second { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(seen == second)
    }

    @Test func aJobChangedAfterTheOrderWaitsForANewerOne() async throws {
        let cache = QueueOrderCache()
        let reader = Reader()
        let first = Date(timeIntervalSince1970: 1_000)
        _ = try await cache.order(ttl: 60, notBefore: first) { await reader.read(takenAt: first) }
        // Fresh for 60 s, but the job changed at 1,500: the order of 1,000 does not show it.
        let newer = Date(timeIntervalSince1970: 2_000)
        let order = try await cache.order(ttl: 60, notBefore: Date(timeIntervalSince1970: 1_500)) { await reader.read(takenAt: newer) }
        #expect(order.takenAt == newer)
        #expect(reader.calls.load(ordering: .relaxed) == 2)
        // A fresh order that covers the job is reused without reading.
        _ = try await cache.order(ttl: 60, notBefore: Date(timeIntervalSince1970: 1_500)) { await reader.read(takenAt: newer) }
        #expect(reader.calls.load(ordering: .relaxed) == 2)
    }
}
