import Foundation
import VideogateDomain

/// One upstream that renders videos: the sandbox renderer, and Veo, Sora, Kling, WAN and
/// Seedance. A worker drives every provider the same way: `submit` once, `poll` on the
/// provider's `schedule` until it answers `succeeded` or `failed`, then `fetchResult` with what
/// the successful poll returned.
public protocol VideoProvider: Sendable {
    var kind: ProviderKind { get }
    /// When to poll after a submission and between polls.
    var schedule: PollSchedule { get }

    /// Hands a job to the provider. Must not create a second upstream job when called again for the
    /// same `jobID` where the provider allows that (idempotency or client ids).
    /// - Throws: `ProviderFailure.retryable` for 429, 5xx and network failures,
    ///   `ProviderFailure.final` for refusals (bad request, auth, content policy).
    func submit(_ request: ProviderRequest) async throws(ProviderFailure) -> ProviderSubmission

    /// Asks the provider how the job is doing.
    func poll(_ handle: ProviderHandle) async throws(ProviderFailure) -> ProviderPoll

    /// Writes the finished video to `destination` (a local file the caller owns), streaming it.
    /// - Throws: `ProviderFailure.retryable` when the download may work later (the job is polled
    ///   again, which yields a fresh result location), `.final` when it never will.
    func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL) async throws(ProviderFailure)
}

/// What a provider needs to render a job.
public struct ProviderRequest: Sendable, Equatable {
    public var jobID: String
    public var upstreamModel: String
    public var mode: GenerationMode
    public var prompt: String
    public var image: ProviderImage?
    public var aspectRatio: AspectRatio
    public var duration: Int
    /// True when an earlier attempt to submit this job may have reached the provider (the job was
    /// claimed before and is still pending): an adapter that can look the job up by a client id
    /// does so before submitting again.
    public var resubmission: Bool

    public init(
        jobID: String, upstreamModel: String, mode: GenerationMode, prompt: String, image: ProviderImage?, aspectRatio: AspectRatio,
        duration: Int, resubmission: Bool = false
    ) {
        self.resubmission = resubmission
        self.jobID = jobID
        self.upstreamModel = upstreamModel
        self.mode = mode
        self.prompt = prompt
        self.image = image
        self.aspectRatio = aspectRatio
        self.duration = duration
    }
}

/// A start image: a URL (for providers that fetch URLs themselves) or bytes.
public enum ProviderImage: Sendable, Equatable {
    case url(String)
    case bytes(Data, mediaType: String)
}

/// The provider's receipt for a submission.
public struct ProviderSubmission: Sendable, Equatable {
    public var providerJobID: String
    public var providerRequestID: String?
    public init(providerJobID: String, providerRequestID: String? = nil) {
        self.providerJobID = providerJobID
        self.providerRequestID = providerRequestID
    }
}

/// A submitted job as a provider sees it when polled or fetched.
public struct ProviderHandle: Sendable, Equatable {
    public var providerJobID: String
    public var submittedAt: Date
    public var request: ProviderRequest
    public init(providerJobID: String, submittedAt: Date, request: ProviderRequest) {
        self.providerJobID = providerJobID
        self.submittedAt = submittedAt
        self.request = request
    }
}

/// What a poll found.
public enum ProviderPoll: Sendable, Equatable {
    case running(progress: Int?)
    case succeeded(ProviderResult)
    case failed(JobFailure)
}

/// Where a finished video is: the provider's own (usually short-lived) URL of the file, or nil
/// when the provider serves it from a fixed path of its API (Sora's `/content`, the sandbox).
public struct ProviderResult: Sendable, Equatable {
    public var videoURL: String?
    public init(videoURL: String? = nil) { self.videoURL = videoURL }
}

/// A failed provider call.
public enum ProviderFailure: Error, Sendable, Equatable {
    /// Worth trying again (429, 5xx, network); `retryAfter` in seconds when the provider said.
    case retryable(String, retryAfter: TimeInterval?)
    /// Ends the job in `error`.
    case final(JobFailure)
}

/// When to poll: first after a typical render time, then backing off to a ceiling.
public struct PollSchedule: Sendable, Equatable {
    public var firstPoll: TimeInterval
    public var interval: TimeInterval
    public var maxInterval: TimeInterval
    public var backoff: Double

    public init(firstPoll: TimeInterval, interval: TimeInterval, maxInterval: TimeInterval, backoff: Double = 1.5) {
        self.firstPoll = firstPoll
        self.interval = interval
        self.maxInterval = maxInterval
        self.backoff = backoff
    }

    /// Delay before poll number `attempt` (0 = the first poll after submission), with up to 10 % jitter
    /// from `jitter` (0...1) so that jobs submitted together do not poll together.
    public func delay(beforePoll attempt: Int, jitter: Double) -> TimeInterval {
        let base = attempt == 0 ? firstPoll : min(maxInterval, interval * pow(backoff, Double(attempt - 1)))
        return base * (1 + 0.1 * min(1, max(0, jitter)))
    }
}
