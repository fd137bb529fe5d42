import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// `POST /v1/video`, `GET /v1/video/{id}`, `GET /v1/video`.
struct VideoRoutes: Sendable {
    let services: GatewayServices

    /// Submits a job. Check order: key (401) → daily limit (429) → body (415/413/400) → fields → credits (402).
    func submit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let limit = services.configuration.maxBodyBytes
        let answer = try await services.submit(request, context: context) { request throws(GatewayError) in
            try await JSONBody.read(&request, limit: limit)
        }
        switch answer {
        case .created(let job, let headers), .replayed(let job, let headers):
            return JSONResponse.make(JobView.created(job, isAlias: services.catalog.isAlias(job.modelID)), headers: headers)
        case .refused(let error, let headers):
            return error.response(headers: headers)
        }
    }

    /// Polls one job of the caller's account and environment.
    func poll(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request, jobID: context.parameters.get("id")) { principal, now in
            // The job first: the throttle keeps state only for jobs the caller can see, so garbage or
            // other accounts' ids cost no memory.
            let job = try services.ownedJob(principal)
            if let wait = services.throttle.admit(jobID: job.id, now: now) {
                throw GatewayError(
                    .pollingTooFrequent, "Poll one job at most once every \(Int(services.configuration.pollInterval)) seconds.",
                    retryAfter: wait)
            }
            return JSONResponse.make(try await services.view(job, success: true))
        }
    }

    /// The jobs of the caller's account and environment, newest first: `?status=&limit=&after=`.
    func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request) { principal, _ in
            let page = try PageQuery(request, idPrefix: "req")
            let jobs = try await services.store.jobs(
                accountID: principal.account.id, environment: principal.key.environment, status: try PageQuery.status(request),
                limit: page.limit + 1, before: page.after)
            let views = try await services.views(Array(jobs.prefix(page.limit)), success: nil)
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
    /// `next_cursor` is always present: `null` on the last page (the document requires the field).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(success, forKey: .success)
        try container.encode(data, forKey: .data)
        try container.encode(hasMore, forKey: .hasMore)
        try container.encode(nextCursor, forKey: .nextCursor)
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

    /// The job the request was authenticated with; 404 when it is absent, another account's or of the
    /// other environment (indistinguishable).
    func ownedJob(_ principal: Principal) throws(GatewayError) -> Job {
        guard let job = principal.job else {
            throw GatewayError(.notFound, "No job with this request_id exists for this account.")
        }
        return job
    }
}
