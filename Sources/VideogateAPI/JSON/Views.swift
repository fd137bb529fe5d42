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

    enum CodingKeys: String, CodingKey {
        case success, status, model, mode, duration, progress, error, metadata
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
    static func created(_ job: Job) -> JobView {
        JobView(
            success: true, requestID: job.id, status: JobStatus.pending.rawValue, model: job.modelID, mode: job.mode.rawValue,
            aspectRatio: job.aspectRatio.rawValue, duration: job.duration, creditsReserved: job.creditsReserved,
            createdAt: job.createdAt.rfc3339, metadata: job.metadata.isEmpty ? nil : job.metadata)
    }
}

extension GatewayServices {
    /// The job as it is now, with links to its result when completed.
    func view(_ job: Job, success: Bool?) async throws -> JobView {
        var view = JobView.created(job)
        view.success = success
        view.status = job.status.rawValue
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
