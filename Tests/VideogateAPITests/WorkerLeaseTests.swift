import Foundation
import HummingbirdTesting
import Logging
import Metrics
import ServiceLifecycle
import Synchronization
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders
import VideogateStorage
import VideogateWorker

/// The worker against stores and providers that misbehave in process: renewals that stall longer
/// than the lease, provider calls that hang past the job's deadline, a create in flight at shutdown.
@Suite("Worker: leases fenced by claim, deadlines mid-step, bounded shutdown", .serialized)
struct WorkerLeaseTests {
    /// A worker over `store` whose only provider (for test keys) is `provider`.
    static func worker(
        _ gateway: TestGateway, store: any GatewayStore, provider: ScriptedProvider, lease: TimeInterval, grace: Duration = .seconds(2)
    ) -> JobWorker {
        let configuration = WorkerConfiguration(
            concurrency: 4, leaseDuration: lease, idleInterval: 0.05, scratchDirectory: gateway.directory.appendingPathComponent("tmp"))
        var logger = Logger(label: "worker-test")
        logger.logLevel = .critical
        let runner = JobRunner(
            store: store, blobs: gateway.gateway.services.blobs, providers: [.sandbox: provider], probe: MediaProbe(), clock: SystemWallClock(),
            configuration: configuration, metrics: NOOPMetricsHandler.instance, logger: logger)
        return JobWorker(runner: runner, store: store, clock: SystemWallClock(), configuration: configuration, logger: logger, shutdownGrace: grace)
    }

    /// Runs `worker` in a service group until `done` holds (or `timeout` passes), then shuts it down gracefully.
    static func run(_ worker: JobWorker, timeout: Duration = .seconds(30), until done: @Sendable () async throws -> Bool) async throws {
        let group = ServiceGroup(configuration: .init(services: [worker], logger: Logger(label: "worker-test-group")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let deadline = ContinuousClock.now + timeout
            while try await !done(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    static func submit(_ client: any TestClientProtocol, key: String) async throws -> String {
        let response = try await client.submit(key: key, json: #"{"prompt":"a red fox in snow","model":"veo3.1"}"#)
        #expect(response.status == .ok, "\(response.text)")
        return try #require(try response.json()["request_id"] as? String)
    }

    static func isFinal(_ store: any GatewayStore, _ id: String) async throws -> Bool {
        try await store.job(id: id)?.status.isTerminal == true
    }

    /// The ledger entries of one job, sorted by kind.
    static func kinds(_ store: any GatewayStore, _ account: Account, job: String) async throws -> [LedgerEntryKind] {
        try await store.ledger(accountID: account.id, limit: 100, before: nil).filter { $0.jobID == job }.map(\.kind).sorted { $0.rawValue < $1.rawValue }
    }

    /// The database stalls (a renewal hangs for four leases) while the provider is slow to answer a
    /// poll: the lease lapses, the process claims the job again, and the old step, once its poll
    /// returns, must not fetch. Before the token fence both steps ran and both fetched.
    @Test func aStepWhoseLeaseLapsedMakesNoFurtherUpstreamCallAndTheJobIsDoneOnce() async throws {
        let gateway = try await TestGateway.make(role: .api)
        try await gateway.test { client in
            let (account, key, _) = try await gateway.account(credits: 100_000)
            // Lease 1 s (a loaded test machine can take half a second to answer a claim), the
            // renewal stalled for four leases, the poll hung for three.
            let store = StallingStore(gateway.store, stall: .seconds(4))
            let firstPoll = Atomic(true)
            let provider = try ScriptedProvider { call in
                if call == .poll && firstPoll.exchange(false, ordering: .acquiringAndReleasing) { store.stallNextRenewal() }
            }
            provider.hang(.poll, for: .milliseconds(3000))
            let id = try await Self.submit(client, key: key)
            try await Self.run(Self.worker(gateway, store: store, provider: provider, lease: 1), timeout: .seconds(60)) {
                try await Self.isFinal(gateway.store, id)
            }

            let job = try #require(try await gateway.store.job(id: id))
            #expect(job.status == .completed, "\(job)")
            #expect(provider.count(.create) == 1)
            // The stale step's poll returned while its renewal was still stalled (no new step can
            // start before that renewal ends, 1 s later): a fetch then could only be the stale step's.
            #expect(provider.calls(.fetch, within: .milliseconds(800), afterHung: .poll) == 0)
            #expect(provider.count(.fetch) >= 1)
            #expect(provider.count(.poll) >= 2)
            #expect(!provider.overlapped, "two steps of one job called the provider at once")
            #expect(try await Self.kinds(gateway.store, account, job: id) == [.capture, .hold])
            #expect(try await gateway.store.balances(accountID: account.id)[.test]?.held == 0)
        }
    }

    enum Hang: String, CaseIterable, Sendable {
        case create, poll, fetch
        var call: ScriptedProvider.Call {
            switch self {
            case .create: .create
            case .poll: .poll
            case .fetch: .fetch
            }
        }
    }

    /// A provider call that hangs (and ignores cancellation) past the job's deadline: the job ends
    /// `error` / `timeout` with its hold released within seconds of the deadline, not when the call ends.
    @Test(arguments: Hang.allCases)
    func aStepHungPastTheDeadlineEndsTheJobInTimeoutAtTheDeadline(_ hang: Hang) async throws {
        let gateway = try await TestGateway.make(role: .api, jobTimeout: 2)
        try await gateway.test { client in
            let (account, key, _) = try await gateway.account(credits: 100_000)
            let provider = try ScriptedProvider()
            provider.hang(hang.call, for: .seconds(8))
            let submitted = ContinuousClock.now
            let id = try await Self.submit(client, key: key)
            let finishedAfter = Mutex<Duration?>(nil)
            try await Self.run(Self.worker(gateway, store: gateway.store, provider: provider, lease: 5)) {
                guard try await Self.isFinal(gateway.store, id) else { return false }
                finishedAfter.withLock { $0 = $0 ?? ContinuousClock.now - submitted }
                return true
            }
            let job = try #require(try await gateway.store.job(id: id))
            #expect(job.status == .error && job.failure?.code == .timeout, "\(job)")
            let elapsed = try #require(finishedAfter.withLock { $0 })
            #expect(elapsed < .seconds(5), "ended \(elapsed) after submission, deadline 2 s, hang 8 s")
            #expect(try await Self.kinds(gateway.store, account, job: id) == [.hold, .release])
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 100_000, held: 0))
        }
    }

    /// Shutdown while a provider create is in flight: the create finishes and its provider job id
    /// is stored within the drain, and the next worker polls that job instead of creating it again.
    @Test func aCreateInFlightAtShutdownIsStoredAndNotSentAgain() async throws {
        let gateway = try await TestGateway.make(role: .api)
        try await gateway.test { client in
            let (account, key, _) = try await gateway.account(credits: 100_000)
            let creating = Atomic(false)
            let provider = try ScriptedProvider { call in if call == .create { creating.store(true, ordering: .releasing) } }
            provider.hang(.create, for: .milliseconds(1500))
            let id = try await Self.submit(client, key: key)
            let stopped = ContinuousClock.now
            // Shut down as soon as the create is in flight; drain window 3 s (others stop at 1.5 s).
            try await Self.run(Self.worker(gateway, store: gateway.store, provider: provider, lease: 5, grace: .seconds(3))) {
                creating.load(ordering: .acquiring)
            }
            #expect(ContinuousClock.now - stopped < .seconds(5))
            let stored = try #require(try await gateway.store.job(id: id))
            #expect(stored.status == .processing && stored.providerJobID == "up-\(id)" && stored.leaseToken == nil, "\(stored)")
            #expect(provider.count(.create) == 1)

            try await Self.run(Self.worker(gateway, store: gateway.store, provider: provider, lease: 5)) { try await Self.isFinal(gateway.store, id) }
            #expect(try await gateway.store.job(id: id)?.status == .completed)
            #expect(provider.count(.create) == 1)
            #expect(try await Self.kinds(gateway.store, account, job: id) == [.capture, .hold])
        }
    }
}
