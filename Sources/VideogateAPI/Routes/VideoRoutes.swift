import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// `POST /v1/video`, `GET /v1/video/{id}`, `GET /v1/video`.
struct VideoRoutes: Sendable {
    let services: GatewayServices

    /// Submits a job. Check order: key (401) → daily limit (429) → body (415/413/400) → fields → credits (402).
    func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        // The quota is decided, and reported, by the submit transaction itself.
        let principal = try await services.authenticate(request, withQuota: false)
        let now = principal.now
        let jobID = Identifier.make("req", at: now)
        var idempotencyKey = request.headers[.idempotencyKey]
        var requestHash = ""
        var imageKey: String?
        let validation: Result<Job, GatewayError>
        do {
            if let key = idempotencyKey, key.isEmpty || key.count > 255 {
                throw GatewayError(.invalidIdempotencyKey, "The Idempotency-Key must be 1 to 255 characters.", param: "Idempotency-Key")
            }
            let body = try await JSONBody.read(&request, limit: services.configuration.maxBodyBytes)
            requestHash = body.sha256
            let submission = try services.validator.validate(body.object)
            guard services.isAvailable(submission.model, for: principal.key.environment) else {
                throw GatewayError(
                    .modelUnavailable, "The model '\(submission.model.id)' is not available: its provider is not configured.",
                    param: "model")
            }
            if case .bytes(let data, let mediaType) = submission.image {
                let key = ResultKeys.input(jobID: jobID, mediaType: mediaType)
                try await services.blobs.put(key: key, data: data, contentType: mediaType)
                imageKey = key
            }
            validation = .success(
                Job(
                    id: jobID, accountID: principal.account.id, keyID: principal.key.id, environment: principal.key.environment,
                    model: submission.model, submission: submission, imageKey: imageKey, createdAt: now,
                    deadlineAt: now.addingTimeInterval(services.configuration.jobTimeout)))
        } catch let error as GatewayError {
            validation = .failure(error)
            // A refused body is never replayed: only created jobs are remembered under their key.
            idempotencyKey = nil
        }
        let outcome = try await services.store.submit(
            SubmitCommand(
                key: principal.key, account: principal.account, idempotencyKey: idempotencyKey, requestHash: requestHash,
                validation: validation, now: now))
        switch outcome {
        case .created(let job, let quota):
            context.logger.info("job created", metadata: ["job_id": .string(job.id), "model": .string(job.modelID)])
            return JSONResponse.make(JobView.created(job), headers: RateLimitHeaders.make(quota))
        case .replayed(let job, let quota):
            if let imageKey { try? await services.blobs.delete(key: imageKey) }
            var headers = RateLimitHeaders.make(quota)
            headers[.idempotentReplayed] = "true"
            return JSONResponse.make(JobView.created(job), headers: headers)
        case .refused(let error, let quota):
            if let imageKey { try? await services.blobs.delete(key: imageKey) }
            return error.response(headers: RateLimitHeaders.make(quota))
        }
    }

    /// Polls one job of the caller's account.
    func poll(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        return try await services.withRateLimitHeaders(request, jobID: id) { principal, now in
            if let wait = services.throttle.admit(jobID: principal.account.id + "/" + id, now: now) {
                throw GatewayError(
                    .pollingTooFrequent, "Poll one job at most once every \(Int(services.configuration.pollInterval)) seconds.",
                    retryAfter: wait)
            }
            return JSONResponse.make(try await services.view(try services.ownedJob(principal), success: true))
        }
    }

    /// The account's jobs, newest first: `?status=&limit=&after=`.
    func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request) { principal, _ in
            let page = try PageQuery(request, idPrefix: "req")
            let jobs = try await services.store.jobs(
                accountID: principal.account.id, status: try PageQuery.status(request), limit: page.limit + 1, before: page.after)
            var views: [JobView] = []
            for job in jobs.prefix(page.limit) { views.append(try await services.view(job, success: nil)) }
            return JSONResponse.make(ListPage(views, limit: page.limit, fetched: jobs.count, cursor: \.requestID))
        }
    }
}

/// `limit` (1...100, default 20) and `after` (a cursor id) of list routes.
struct PageQuery {
    let limit: Int
    let after: String?

    init(_ request: Request, idPrefix: String, defaultLimit: Int = 20) throws(GatewayError) {
        let query = request.uri.queryParameters
        if let text = query["limit"] {
            guard let value = Int(String(text)), (1...100).contains(value) else {
                throw GatewayError(.invalidParameter, "limit must be an integer from 1 to 100.", param: "limit")
            }
            limit = value
        } else {
            limit = defaultLimit
        }
        if let text = query["after"].map(String.init), !text.isEmpty {
            guard Identifier.isWellFormed(text, prefix: idPrefix) else {
                throw GatewayError(.invalidParameter, "after must be an id returned as next_cursor.", param: "after")
            }
            after = text
        } else {
            after = nil
        }
    }
}

extension PageQuery {
    /// The `status` filter of job lists.
    static func status(_ request: Request) throws(GatewayError) -> JobStatus? {
        guard let text = request.uri.queryParameters["status"].map(String.init) else { return nil }
        guard let status = JobStatus(rawValue: text) else {
            throw GatewayError(.invalidParameter, "status must be one of pending, processing, completed, error.", param: "status")
        }
        return status
    }
}

/// One page of a list: `data`, `has_more`, and the `next_cursor` to pass as `after`.
struct ListPage<Item: Encodable>: Encodable {
    let success = true
    let data: [Item]
    let hasMore: Bool
    let nextCursor: String?
    enum CodingKeys: String, CodingKey {
        case success, data
        case hasMore = "has_more"
        case nextCursor = "next_cursor"
    }

    /// `fetched` is how many rows the query returned when asked for `limit + 1`.
    init(_ items: [Item], limit: Int, fetched: Int, cursor: KeyPath<Item, String>) {
        data = Array(items.prefix(limit))
        hasMore = fetched > limit
        nextCursor = hasMore ? data.last?[keyPath: cursor] : nil
    }
}

/// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (Unix seconds when the oldest counted request
/// leaves the rolling 24-hour window).
enum RateLimitHeaders {
    static func make(_ quota: QuotaStatus?) -> HTTPFields {
        var headers = HTTPFields()
        guard let quota else { return headers }
        headers[.rateLimitLimit] = String(quota.limit)
        headers[.rateLimitRemaining] = String(quota.remaining)
        headers[.rateLimitReset] = String(Int64(quota.resetAt.timeIntervalSince1970.rounded(.up)))
        return headers
    }
}

extension GatewayServices {
    /// Authenticates, runs `body`, and puts the key's rate-limit figures on its answer, error or not.
    func withRateLimitHeaders(
        _ request: Request, jobID: String? = nil, _ body: (Principal, Date) async throws -> Response
    ) async throws -> Response {
        let principal = try await authenticate(request, jobID: jobID)
        let headers = RateLimitHeaders.make(principal.quota)
        do {
            var response = try await body(principal, principal.now)
            response.headers.append(contentsOf: headers)
            return response
        } catch let error as GatewayError {
            return error.response(headers: headers)
        }
    }

    /// The job the request was authenticated with; 404 when it is absent or another account's (indistinguishable).
    func ownedJob(_ principal: Principal) throws(GatewayError) -> Job {
        guard let job = principal.job else {
            throw GatewayError(.notFound, "No job with this request_id exists for this account.")
        }
        return job
    }
}
