import Foundation
import HTTPTypes
import Hummingbird
import VideogateDomain
import VideogateStorage

/// The OpenAI-compatible surface (openai-compat.md): `POST /v1/videos`, `GET /v1/videos`,
/// `GET /v1/videos/{id}`, `GET /v1/videos/{id}/content`, `DELETE /v1/videos/{id}`, on the same
/// jobs, ledger, quota, idempotency and storage as `/v1/video`. Errors take OpenAI's body.
struct OpenAIVideoRoutes: Sendable {
    let services: GatewayServices

    /// Creates a video: the submission path of `POST /v1/video` with this surface's body.
    func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let limit = services.configuration.maxBodyBytes
        let answer = try await services.submit(request, context: context) { request throws(GatewayError) in
            try await OpenAIVideoRequest.read(&request, limit: limit)
        }
        switch answer {
        case .created(let job, let headers), .replayed(let job, let headers):
            // A replay answers what the first request did: the video as it was created.
            return JSONResponse.make(OpenAIVideo.created(job), headers: headers)
        case .refused(let error, let headers):
            return OpenAIVideoRequest.surfaceError(error).response(headers: headers, format: .openAI)
        }
    }

    /// One video, with `openai-poll-after-ms` set to the pace the poll throttle always admits.
    func retrieve(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.openAIRoute(request, jobID: context.parameters.get("id")) { principal, now in
            let job = try await services.visibleVideo(principal)
            // The same bucket as GET /v1/video/{id}: the throttle is per job, whichever surface polls,
            // and only for jobs the caller can see.
            if let wait = services.throttle.admit(jobID: job.id, now: now) {
                throw GatewayError(
                    .pollingTooFrequent, "Poll one video at most once every \(Int(services.configuration.pollInterval)) seconds.",
                    retryAfter: wait)
            }
            var response = JSONResponse.make(OpenAIVideo(job, standing: try await services.standings(of: [job])[job.id]))
            response.headers[.openAIPollAfterMs] = String(services.openAIPollAfterMilliseconds)
            return response
        }
    }

    /// The videos of the caller's account and environment not deleted here: `?after=&limit=&order=asc|desc` (default 20, desc).
    func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.openAIRoute(request) { principal, _ in
            let page: PageQuery
            do {
                page = try PageQuery(request, idPrefix: "req")
            } catch let error as GatewayError where error.param == "after" {
                throw GatewayError(.invalidParameter, "after must be a video id (the last_id of a previous page).", param: "after")
            }
            let ascending: Bool
            switch request.uri.queryParameters["order"].map(String.init) {
            case nil, "desc": ascending = false
            case "asc": ascending = true
            default: throw GatewayError(.invalidParameter, "order must be asc or desc.", param: "order")
            }
            let jobs = try await services.store.openAIVideos(
                accountID: principal.account.id, environment: principal.key.environment, after: page.after, ascending: ascending,
                limit: page.limit + 1)
            let shown = Array(jobs.prefix(page.limit))
            let standings = try await services.standings(of: shown)
            return JSONResponse.make(
                OpenAIVideoList(data: shown.map { OpenAIVideo($0, standing: standings[$0.id]) }, hasMore: jobs.count > page.limit))
        }
    }

    /// The MP4 (`variant=video`, default) or the poster frame (`variant=thumbnail`), with Range,
    /// HEAD and ETag as `GET /v1/video/{id}/content`. No spritesheets are made: 404.
    func content(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.openAIRoute(request, jobID: context.parameters.get("id")) { principal, now in
            let variant = request.uri.queryParameters["variant"].map(String.init) ?? "video"
            guard ["video", "thumbnail", "spritesheet"].contains(variant) else {
                throw GatewayError(.invalidParameter, "variant must be video, thumbnail or spritesheet.", param: "variant")
            }
            let job = try await services.visibleVideo(principal)
            guard job.status == .completed, let result = job.result else {
                throw GatewayError(.notFound, "The video has no content yet (status \(OpenAIVideo(job).status)).")
            }
            if job.resultDeleted || (job.expiresAt ?? now) <= now {
                throw GatewayError(.expired, "The content of this video has expired and was deleted.")
            }
            let key: String
            switch variant {
            case "thumbnail":
                guard let thumbnail = result.thumbnailKey else { throw GatewayError(.notFound, "This video has no thumbnail.") }
                key = thumbnail
            case "spritesheet":
                throw GatewayError(.notFound, "This server makes no spritesheets: variant spritesheet is not available.", param: "variant")
            default:
                key = result.videoKey
            }
            return try await ContentRoutes(services: services).serve(key: key, request: request, context: context, expired: false)
        }
    }

    /// Deletes a finished video's result files and hides it from this surface. A video still
    /// queued or in progress is refused with 409 `video_not_finished` (its hold must settle first),
    /// marked `x-should-retry: false` so that the SDK raises at once instead of retrying.
    func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.openAIRoute(request, jobID: context.parameters.get("id")) { principal, now in
            let job = try await services.visibleVideo(principal)
            guard job.status.isTerminal else {
                var headers = HTTPFields()
                headers[.xShouldRetry] = "false"
                return OpenAIErrorBody.response(
                    status: .conflict, code: "video_not_finished",
                    message: "The video is \(OpenAIVideo(job).status): it can be deleted once it is completed or failed.", headers: headers)
            }
            // Files first: if marking fails the client retries, and deleting absent files is no error.
            if let result = job.result {
                try await services.blobs.delete(key: result.videoKey)
                if let thumbnail = result.thumbnailKey { try await services.blobs.delete(key: thumbnail) }
            }
            guard
                try await services.store.deleteOpenAIVideo(
                    jobID: job.id, accountID: principal.account.id, environment: principal.key.environment, at: now)
            else {
                throw GatewayError(.notFound, "No video with this id exists for this account.")
            }
            context.logger.info("video deleted", metadata: ["job_id": .string(job.id)])
            return JSONResponse.make(OpenAIVideoDeleted(id: job.id))
        }
    }
}

extension GatewayServices {
    /// Authenticates (401 thrown, rendered by the error middleware in this surface's format), runs
    /// `body`, and puts the key's rate-limit figures on its answer; its `GatewayError`s take OpenAI's body.
    func openAIRoute(_ request: Request, jobID: String? = nil, _ body: (Principal, Date) async throws -> Response) async throws -> Response {
        let principal = try await authenticate(request, jobID: jobID)
        let headers = RateLimitHeaders.make(principal.quota)
        do {
            var response = try await body(principal, principal.now)
            response.headers.append(contentsOf: headers)
            return response
        } catch let error as GatewayError {
            return error.response(headers: headers, format: .openAI)
        }
    }

    /// The job the request named, unless it is absent, another account's, of the other environment or
    /// deleted through `/v1/videos` (404 alike).
    func visibleVideo(_ principal: Principal) async throws -> Job {
        guard let job = principal.job, try await !store.isOpenAIVideoDeleted(jobID: job.id) else {
            throw GatewayError(.notFound, "No video with this id exists for this account.")
        }
        return job
    }

    /// `openai-poll-after-ms`: the poll throttle's interval, at which a client is never refused
    /// (the SDK waits this long after each answer, so its polls are at least this far apart and
    /// the bucket gains a token between two of them); 1 s, the SDK's own default, when the throttle is off.
    var openAIPollAfterMilliseconds: Int {
        configuration.pollInterval > 0 ? Int((configuration.pollInterval * 1000).rounded(.up)) : 1000
    }
}

extension HTTPField.Name {
    static let openAIPollAfterMs = Self("openai-poll-after-ms")!
    static let xShouldRetry = Self("x-should-retry")!
}
