import Foundation
import VideogateDomain

/// A job as OpenAI's video object (`/v1/videos`). Every field of OpenAI's object is always present,
/// `null` where it has no value, since the SDK's models declare them all. The fields of ours that
/// OpenAI's object has no place for come on top, only while they apply (the SDK keeps unknown
/// fields): `queue_position` on a queued video, `estimated_completion_at` (Unix seconds) on an
/// unfinished one, and `routed_model` on a video of an alias once a member runs it.
struct OpenAIVideo: Encodable {
    struct Failure: Encodable {
        let code: String
        let message: String
    }

    let id: String
    let status: String
    let model: String
    let progress: Int
    let seconds: String
    let size: String
    let createdAt: Int64
    let completedAt: Int64?
    let expiresAt: Int64?
    let error: Failure?
    let prompt: String
    let queuePosition: Int?
    let estimatedCompletionAt: Int64?
    let routedModel: String?

    init(_ job: Job, standing: QueueStanding? = nil) {
        queuePosition = job.status == .pending ? standing?.position : nil
        estimatedCompletionAt = job.status.isTerminal ? nil : standing.map { Self.unix($0.estimatedCompletion) }
        id = job.id
        model = job.modelID
        routedModel = job.routedModel
        prompt = job.prompt
        seconds = String(job.duration)
        size = OpenAISize.size(of: job.aspectRatio)
        createdAt = Self.unix(job.createdAt)
        switch job.status {
        case .pending:
            status = "queued"
            progress = 0
        case .processing:
            status = "in_progress"
            // The provider's figure when it reports one, never 100 before the job is done.
            progress = min(99, max(0, job.progress ?? 50))
        case .completed:
            status = "completed"
            progress = 100
        case .error:
            status = "failed"
            progress = 100
        }
        completedAt = job.status.isTerminal ? job.completedAt.map(Self.unix) : nil
        expiresAt = job.status == .completed ? job.expiresAt.map(Self.unix) : nil
        error = job.status == .error ? job.failure.map { Failure(code: $0.code.rawValue, message: $0.message) } : nil
    }

    /// The video as its creation answered it (queued), whatever has become of the job since.
    static func created(_ job: Job) -> OpenAIVideo {
        var created = job
        created.status = .pending
        return OpenAIVideo(created)
    }

    static func unix(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

    enum CodingKeys: String, CodingKey {
        case id, object, status, model, progress, seconds, size, error, prompt
        case createdAt = "created_at"
        case completedAt = "completed_at"
        case expiresAt = "expires_at"
        case remixedFromVideoID = "remixed_from_video_id"
        case queuePosition = "queue_position"
        case estimatedCompletionAt = "estimated_completion_at"
        case routedModel = "routed_model"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("video", forKey: .object)
        try container.encode(status, forKey: .status)
        try container.encode(model, forKey: .model)
        try container.encode(progress, forKey: .progress)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(size, forKey: .size)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(completedAt, forKey: .completedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(error, forKey: .error)
        try container.encode(prompt, forKey: .prompt)
        try container.encodeNil(forKey: .remixedFromVideoID)
        try container.encodeIfPresent(queuePosition, forKey: .queuePosition)
        try container.encodeIfPresent(estimatedCompletionAt, forKey: .estimatedCompletionAt)
        try container.encodeIfPresent(routedModel, forKey: .routedModel)
    }
}

/// A page of `GET /v1/videos`. The SDK asks for the next page with `after=last_id` while `has_more`.
struct OpenAIVideoList: Encodable {
    let data: [OpenAIVideo]
    let hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case object, data
        case firstID = "first_id"
        case lastID = "last_id"
        case hasMore = "has_more"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("list", forKey: .object)
        try container.encode(data, forKey: .data)
        try container.encode(data.first?.id, forKey: .firstID)
        try container.encode(data.last?.id, forKey: .lastID)
        try container.encode(hasMore, forKey: .hasMore)
    }
}

/// The answer to `DELETE /v1/videos/{id}`.
struct OpenAIVideoDeleted: Encodable {
    let id: String
    let object = "video.deleted"
    let deleted = true
}

/// OpenAI's `size` (`WIDTHxHEIGHT`) and our aspect ratios.
enum OpenAISize {
    /// OpenAI's default size when none is given (portrait).
    static let defaultSize = "720x1280"

    /// The size shown for a ratio: the 720p size of that shape.
    static func size(of ratio: AspectRatio) -> String {
        switch ratio {
        case .landscape: "1280x720"
        case .portrait: "720x1280"
        case .square: "720x720"
        }
    }

    /// The ratio of a size: OpenAI's four sizes (`1792x1024` and `1024x1792` count as 16:9 and
    /// 9:16), any square size, any exact 16:9 or 9:16 size, and our own ratio names. Nil otherwise.
    static func aspectRatio(of size: String) -> AspectRatio? {
        let text = size.trimmingCharacters(in: .whitespaces)
        if let ratio = AspectRatio(rawValue: text) { return ratio }
        switch text {
        case "1792x1024": return .landscape
        case "1024x1792": return .portrait
        default: break
        }
        let sides = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2, let width = Int(sides[0]), let height = Int(sides[1]), width > 0, height > 0,
            width <= 100_000, height <= 100_000
        else { return nil }
        if width == height { return .square }
        if width * 9 == height * 16 { return .landscape }
        if width * 16 == height * 9 { return .portrait }
        return nil
    }
}
