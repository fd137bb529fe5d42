import Foundation
import VideogateDomain
import VideogateStorage

/// A job as `/v1/video` shows it.
struct JobView: Encodable {
    struct Failure: Encodable {
        let code: String
        let message: String
    }

    var success: Bool?
    let requestID: String
    var status: String
    let model: String
    let mode: String
    let aspectRatio: String
    let duration: Int
    let creditsReserved: Int
    let createdAt: String
    var progress: Int?
    var videoURL: String?
    var thumbnailURL: String?
    var expiresAt: String?
    var creditsUsed: Int?
    var completedAt: String?
    var error: Failure?
    var metadata: [String: String]?
    /// Pending jobs only: how many pending jobs of its lane go to a provider before it.
    var queuePosition: Int?
    /// Unfinished jobs only.
    var estimatedCompletionAt: String?
    /// Jobs of an alias only: the member model the job runs on, null until it is routed.
    var routedModel: NullOr<String>?

    enum CodingKeys: String, CodingKey {
        case success, status, model, mode, duration, progress, error, metadata
        case queuePosition = "queue_position"
        case estimatedCompletionAt = "estimated_completion_at"
        case routedModel = "routed_model"
        case requestID = "request_id"
        case aspectRatio = "aspect_ratio"
        case creditsReserved = "credits_reserved"
        case createdAt = "created_at"
        case videoURL = "video_url"
        case thumbnailURL = "thumbnail_url"
        case expiresAt = "expires_at"
        case creditsUsed = "credits_used"
        case completedAt = "completed_at"
    }

    /// The answer to a submission (and its idempotent replays): the job as it was created.
    /// `isAlias`: whether its model is an alias, which shows `routed_model` even while null.
    static func created(_ job: Job, isAlias: Bool) -> JobView {
        JobView(
            success: true, requestID: job.id, status: JobStatus.pending.rawValue, model: job.modelID, mode: job.mode.rawValue,
            aspectRatio: job.aspectRatio.rawValue, duration: job.duration, creditsReserved: job.creditsReserved,
            createdAt: job.createdAt.rfc3339, metadata: job.metadata.isEmpty ? nil : job.metadata,
            routedModel: isAlias || job.routedModel != nil ? NullOr(job.routedModel) : nil)
    }
}

extension GatewayServices {
    /// The job as it is now, with links to its result when completed, and its queue position and
    /// estimate while unfinished (one position query when pending; nothing more when finished).
    func view(_ job: Job, success: Bool?) async throws -> JobView {
        try await views([job], success: success)[0]
    }

    /// The standing (queue position, estimate) of each unfinished job of `jobs`, by id: one
    /// position query for all the pending ones.
    func standings(of jobs: [Job]) async throws -> [String: QueueStanding] {
        try await standings.standings(of: jobs, store: store, now: clock.now())
    }

    /// The views of several jobs, in order, with one position query for all of them.
    func views(_ jobs: [Job], success: Bool?) async throws -> [JobView] {
        let standings = try await standings(of: jobs)
        var views: [JobView] = []
        views.reserveCapacity(jobs.count)
        for job in jobs { views.append(try await view(job, success: success, standing: standings[job.id])) }
        return views
    }

    private func view(_ job: Job, success: Bool?, standing: QueueStanding?) async throws -> JobView {
        var view = JobView.created(job, isAlias: catalog.isAlias(job.modelID))
        view.success = success
        view.status = job.status.rawValue
        view.queuePosition = standing?.position
        view.estimatedCompletionAt = standing?.estimatedCompletion.rfc3339
        switch job.status {
        case .pending:
            break
        case .processing:
            view.progress = job.progress
        case .completed:
            view.creditsUsed = job.creditsUsed
            view.completedAt = job.completedAt?.rfc3339
            if let result = job.result, let expires = job.expiresAt {
                view.expiresAt = expires.rfc3339
                view.videoURL = try await resultURL(key: result.videoKey, expires: expires)
                if let thumbnail = result.thumbnailKey {
                    view.thumbnailURL = try await resultURL(key: thumbnail, expires: expires)
                }
            }
        case .error:
            view.creditsUsed = 0
            view.completedAt = job.completedAt?.rfc3339
            if let failure = job.failure { view.error = JobView.Failure(code: failure.code.rawValue, message: failure.message) }
        }
        return view
    }

    /// A URL that needs no header: the object store's presigned one, or our signed `/files` URL.
    func resultURL(key: String, expires: Date) async throws -> String {
        if let direct = try await blobs.directURL(key: key, expires: expires) { return direct.absoluteString }
        return signer.url(base: configuration.publicURL.string, fileID: key, expires: expires)
    }
}


/// Balances as the API shows them.
struct BalanceView: Encodable {
    let available: Int
    let held: Int
    init(_ balance: Balance) {
        available = balance.available
        held = balance.held
    }
}

func balancesView(_ balances: [KeyEnvironment: Balance]) -> [String: BalanceView] {
    Dictionary(uniqueKeysWithValues: KeyEnvironment.allCases.map { ($0.rawValue, BalanceView(balances[$0] ?? .zero)) })
}
