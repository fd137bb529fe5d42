import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// One live status stream: the job as it is now, then an `event: job` whenever what the stream
/// would send differs from what it last sent, `: keep-alive` comments in between, and the end after
/// the event of a final state.
///
/// The stream re-reads its job (by primary key) when the change feed names it, every
/// `fallback` when the feed sees only this process's writes, and, while the job is pending (its
/// queue position moves when other jobs are claimed or created), when any other job changes — at
/// most every `queueDebounce` — and at least every `pendingTick`.
struct JobEventStream {
    static let queueDebounce = Duration.milliseconds(500)
    static let pendingTick = Duration.seconds(1)

    let services: GatewayServices
    let watch: JobWatch
    let accountID: String
    let environment: KeyEnvironment
    let keepAlive: Duration
    let fallback: Duration?

    /// Writes the stream until the job's final state is sent, the server shuts down (`.shutdown`),
    /// or the client goes away (a write throws).
    func run(first: Job, writer: inout any ResponseBodyWriter) async throws {
        let clock = ContinuousClock()
        var sent = try await send(first, after: nil, writer: &writer)
        guard !first.status.isTerminal else { return }
        var status = first.status
        watch.setPending(status == .pending)
        var lastRead = clock.now
        var lastWrite = clock.now
        // The job was read before the stream was watched: read it once more at once for the gap.
        var readDue: ContinuousClock.Instant? = clock.now
        while true {
            var wakeAt = lastWrite + keepAlive
            if let readDue { wakeAt = min(wakeAt, readDue) }
            if let fallback { wakeAt = min(wakeAt, lastRead + fallback) }
            if status == .pending { wakeAt = min(wakeAt, lastRead + Self.pendingTick) }
            let reasons = await watch.wakeup.wait(for: wakeAt - clock.now)
            if reasons.contains(.shutdown) || Task.isCancelled { return }
            let now = clock.now
            if reasons.contains(.own) { readDue = now }
            if reasons.contains(.queue) && status == .pending {
                let debounced = lastRead + Self.queueDebounce
                readDue = min(readDue ?? debounced, debounced)
            }
            var mustRead = readDue.map { $0 <= now } ?? false
            if let fallback, now >= lastRead + fallback { mustRead = true }
            if status == .pending && now >= lastRead + Self.pendingTick { mustRead = true }
            if mustRead {
                readDue = nil
                lastRead = now
                guard let job = try await services.store.job(id: first.id, accountID: accountID, environment: environment) else { return }
                if let changed = try await send(job, after: sent, writer: &writer) {
                    sent = changed
                    lastWrite = clock.now
                }
                if job.status.isTerminal { return }
                status = job.status
                watch.setPending(status == .pending)
            }
            if clock.now >= lastWrite + keepAlive {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                lastWrite = clock.now
            }
        }
    }

    /// Sends the job unless it shows what `previous` showed; returns what was sent, nil when nothing was.
    private func send(_ job: Job, after previous: Data?, writer: inout any ResponseBodyWriter) async throws -> Data? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let json = try encoder.encode(try await services.view(job, success: true))
        let fingerprint = Self.fingerprint(json)
        if let previous, previous == fingerprint, !job.status.isTerminal { return nil }
        var event = ByteBuffer(string: "event: job\ndata: ")
        event.writeBytes(json)
        event.writeString("\n\n")
        try await writer.write(event)
        return fingerprint
    }

    /// The job object without `estimated_completion_at`, whose drift alone is no change worth an event.
    static func fingerprint(_ json: Data) -> Data {
        guard var object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else { return json }
        object["estimated_completion_at"] = nil
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? json
    }
}
