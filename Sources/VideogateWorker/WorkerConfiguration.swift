import Foundation
import VideogateDomain
import VideogateProviders

/// Settings of a worker process.
public struct WorkerConfiguration: Sendable {
    /// Live jobs (not sandbox) worked on at once.
    public var concurrency: Int
    /// Sandbox jobs (test keys, rendered here with ffmpeg) worked on at once, in their own lane.
    public var sandboxConcurrency: Int
    /// The most unfinished jobs of one account handed to providers or the renderer at once, across
    /// all workers; 0 means no cap.
    public var accountMaxInFlight: Int
    /// How long a claim lasts without renewal; renewed every third of it while a step runs.
    public var leaseDuration: TimeInterval
    /// How long results stay downloadable.
    public var videoTTL: TimeInterval
    /// Pause between claims when nothing was due.
    public var idleInterval: TimeInterval
    /// How often expired results are deleted.
    public var sweepInterval: TimeInterval
    /// Where renders and downloads are written before they go to result storage.
    public var scratchDirectory: URL
    /// This process's name on the leases it takes.
    public var ownerID: String
    /// Where providers that offer completion callbacks are told to call (`VIDEOGATE_PROVIDER_CALLBACKS`);
    /// nil when callbacks are off.
    public var callbacks: ProviderCallbacks?

    public init(
        concurrency: Int = 8, leaseDuration: TimeInterval = 30, videoTTL: TimeInterval = 86_400, idleInterval: TimeInterval = 0.25,
        sweepInterval: TimeInterval = 60, scratchDirectory: URL = FileManager.default.temporaryDirectory,
        ownerID: String = WorkerConfiguration.defaultOwnerID(),
        sandboxConcurrency: Int = ProcessInfo.processInfo.activeProcessorCount, accountMaxInFlight: Int = 0,
        callbacks: ProviderCallbacks? = nil
    ) {
        self.callbacks = callbacks
        self.concurrency = max(1, concurrency)
        self.sandboxConcurrency = max(1, sandboxConcurrency)
        self.accountMaxInFlight = max(0, accountMaxInFlight)
        self.leaseDuration = leaseDuration
        self.videoTTL = videoTTL
        self.idleInterval = idleInterval
        self.sweepInterval = sweepInterval
        self.scratchDirectory = scratchDirectory
        self.ownerID = ownerID
    }

    /// `host-pid-random`: unique per process, readable in `/admin/jobs`.
    public static func defaultOwnerID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(Identifier.randomBase62(6))"
    }
}

/// Delays for retrying a transient failure: exponential from 2 s to 5 min with jitter, or what the provider asked.
public enum RetryPolicy {
    public static func delay(attempt: Int, retryAfter: TimeInterval?, jitter: Double) -> TimeInterval {
        if let retryAfter, retryAfter > 0 { return min(3600, retryAfter) }
        let base = min(300, 2 * pow(2, Double(max(0, attempt - 1))))
        return base * (0.5 + 0.5 * min(1, max(0, jitter)))
    }
}
