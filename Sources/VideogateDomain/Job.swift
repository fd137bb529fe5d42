import Foundation

/// Where a job is in its life. `completed` and `error` are final.
public enum JobStatus: String, Sendable, Codable, CaseIterable {
    case pending
    case processing
    case completed
    case error

    public var isTerminal: Bool { self == .completed || self == .error }
}

/// Why a job ended in `error` (the `error.code` of a polled job).
public enum JobErrorCode: String, Sendable, Codable, CaseIterable {
    case providerError = "provider_error"
    case contentPolicyViolation = "content_policy_violation"
    case timeout
    case invalidImage = "invalid_image"
    case internalError = "internal_error"
    /// Its client cancelled it while it was pending (`POST /v1/video/{id}/cancel`).
    case cancelled
}

/// The `error` object of a failed job.
public struct JobFailure: Sendable, Equatable, Codable {
    public var code: JobErrorCode
    public var message: String
    public init(_ code: JobErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// What a finished render left in result storage.
public struct JobResult: Sendable, Equatable {
    public var videoKey: String
    public var thumbnailKey: String?
    public var videoBytes: Int64
    public var durationMilliseconds: Int
    public var width: Int
    public var height: Int
    public init(videoKey: String, thumbnailKey: String?, videoBytes: Int64, durationMilliseconds: Int, width: Int, height: Int) {
        self.videoKey = videoKey
        self.thumbnailKey = thumbnailKey
        self.videoBytes = videoBytes
        self.durationMilliseconds = durationMilliseconds
        self.width = width
        self.height = height
    }
}

/// A video generation job as stored.
public struct Job: Sendable, Equatable {
    public var id: String
    public var accountID: String
    public var keyID: String
    public var environment: KeyEnvironment
    public var modelID: String
    public var provider: ProviderKind
    public var upstreamModel: String
    public var mode: GenerationMode
    public var prompt: String
    /// An image URL to hand on or fetch, or the result-storage key of uploaded image bytes.
    public var imageURL: String?
    public var imageKey: String?
    public var aspectRatio: AspectRatio
    public var duration: Int
    public var webhookURL: String?
    public var metadata: [String: String]
    public var status: JobStatus
    public var progress: Int?
    public var creditsReserved: Int
    public var creditsUsed: Int
    public var failure: JobFailure?
    public var providerJobID: String?
    public var providerRequestID: String?
    public var attempts: Int
    public var nextAttemptAt: Date
    public var leaseOwner: String?
    public var leaseExpiresAt: Date?
    /// The token of the claim that holds the lease, written afresh by every claim: the fence of
    /// everything done under that claim (renew, apply, release).
    public var leaseToken: String?
    public var deadlineAt: Date
    public var createdAt: Date
    public var updatedAt: Date
    public var submittedAt: Date?
    public var completedAt: Date?
    /// When the result stops being downloadable (completion + the video TTL).
    public var expiresAt: Date?
    public var result: JobResult?
    /// Set once the sweeper has deleted the result files.
    public var resultDeleted: Bool
    /// The name of the credential its provider accepted it under (operations.md, "Provider
    /// routing"): every poll and download of it uses that credential.
    public var credential: String?
    /// That credential's entry as JSON, secrets as `env:` references, so that the job can still
    /// be polled when the entry leaves the providers file.
    public var credentialDefinition: String?
    /// For a job of an alias: the member model it was handed to (`modelID` stays the alias).
    public var routedModel: String?
    /// The W3C `traceparent` of the request that submitted the job (when tracing is on), so that the
    /// worker's spans and the webhook's join the submission's trace. Not part of the API.
    public var traceParent: String?

    public init(
        id: String, accountID: String, keyID: String, environment: KeyEnvironment, model: VideoModel, submission: Submission,
        imageKey: String?, createdAt: Date, deadlineAt: Date
    ) {
        self.id = id
        self.accountID = accountID
        self.keyID = keyID
        self.environment = environment
        self.modelID = model.id
        // Test keys always render in the sandbox, whatever the model's provider.
        self.provider = environment == .test ? .sandbox : model.provider
        self.upstreamModel = model.upstreamModel
        self.mode = submission.mode
        self.prompt = submission.prompt
        if case .url(let url) = submission.image { self.imageURL = url } else { self.imageURL = nil }
        self.imageKey = imageKey
        self.aspectRatio = submission.aspectRatio
        self.duration = submission.duration
        self.webhookURL = submission.webhookURL
        self.metadata = submission.metadata
        self.status = .pending
        self.progress = nil
        self.creditsReserved = model.credits
        self.creditsUsed = 0
        self.failure = nil
        self.providerJobID = nil
        self.providerRequestID = nil
        self.attempts = 0
        self.nextAttemptAt = createdAt
        self.leaseOwner = nil
        self.leaseExpiresAt = nil
        self.leaseToken = nil
        self.deadlineAt = deadlineAt
        self.createdAt = createdAt
        self.updatedAt = createdAt
        self.submittedAt = nil
        self.completedAt = nil
        self.expiresAt = nil
        self.result = nil
        self.resultDeleted = false
        self.credential = nil
        self.credentialDefinition = nil
        // A test key's alias job renders in the sandbox at once, as its first member would; a live
        // one is routed by the worker (`JobRouting.routedModel`).
        self.routedModel = environment == .test ? model.members.first : nil
    }
}
