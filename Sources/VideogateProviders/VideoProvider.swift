import Foundation
import VideogateDomain

/// One upstream that renders videos: the sandbox renderer, and Veo, Sora, Kling, WAN and
/// Seedance. A worker drives every provider the same way: `submit` once, `poll` on the
/// provider's `schedule` until it answers `succeeded` or `failed`, then `fetchResult` with what
/// the successful poll returned. An adapter serves every credential of its provider: each call
/// names the credential (endpoint, route and auth), and a job's polls and download use the one
/// its submission was accepted under.
public protocol VideoProvider: Sendable {
    var kind: ProviderKind { get }
    /// When to poll after a submission and between polls.
    var schedule: PollSchedule { get }

    /// Hands a job to the provider. Must not create a second upstream job when called again for the
    /// same `jobID` where the provider allows that (idempotency or client ids).
    /// - Throws: `ProviderFailure.retryable` for 408, 429, 5xx and network failures,
    ///   `ProviderFailure.credentialRefused` when the credential is (401/403, the provider's auth
    ///   and account codes), `ProviderFailure.final` for refusals of the request (bad request,
    ///   content policy); each provider's codes sorted as docs/providers/errors.md lists them.
    func submit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission

    /// Asks the provider how the job is doing.
    func poll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll

    /// Writes the finished video to `destination` (a local file the caller owns), streaming it.
    /// - Throws: `ProviderFailure.retryable` when the download may work later (the job is polled
    ///   again, which yields a fresh result location), `.final` when it never will.
    func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure)

    /// Writes the finished video to `destination` and, where the provider makes a poster frame
    /// itself at no extra cost (the sandbox renders it), a JPEG to `poster`.
    /// - Returns: true when `poster` was written; the worker cuts one from the video otherwise.
    func fetchResult(
        _ handle: ProviderHandle, result: ProviderResult, to destination: URL, poster: URL?, on credential: ProviderCredential
    ) async throws(ProviderFailure) -> Bool
}

extension VideoProvider {
    /// Fetches the video and makes no poster.
    public func fetchResult(
        _ handle: ProviderHandle, result: ProviderResult, to destination: URL, poster: URL?, on credential: ProviderCredential
    ) async throws(ProviderFailure) -> Bool {
        try await fetchResult(handle, result: result, to: destination, on: credential)
        return false
    }
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
    /// Where the provider should call when the task changes state (`ProviderCallbacks`), when
    /// callbacks are on; adapters of providers with a documented `callback_url` send it.
    public var callbackURL: String?

    public init(
        jobID: String, upstreamModel: String, mode: GenerationMode, prompt: String, image: ProviderImage?, aspectRatio: AspectRatio,
        duration: Int, resubmission: Bool = false, callbackURL: String? = nil
    ) {
        self.resubmission = resubmission
        self.callbackURL = callbackURL
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
    /// The credential was refused (401, 403, the provider's auth and account codes): before
    /// acceptance the job goes to another credential; after it, the job ends in `provider_error`.
    case credentialRefused(String)
    /// Ends the job in `error`: the caller's own outcome, which says nothing about the credential.
    case final(JobFailure)

    /// True for the failures that count against a credential's health and move a create to the
    /// next credential: network, time-outs, 408, 429, 5xx, and refused credentials.
    public var blamesCredential: Bool {
        switch self {
        case .retryable, .credentialRefused: true
        case .final: false
        }
    }
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
