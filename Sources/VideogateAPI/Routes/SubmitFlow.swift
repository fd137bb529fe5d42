import Foundation
import Hummingbird
import Logging
import Tracing
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// What became of a submission, for the route to render in its own format.
enum SubmitAnswer: Sendable {
    /// The job and its hold are stored.
    case created(Job, HTTPFields)
    /// An idempotent replay: the job the first request created (headers include `Idempotent-Replayed`).
    case replayed(Job, HTTPFields)
    /// Refused by a check; the headers carry the rate-limit figures.
    case refused(GatewayError, HTTPFields)
}

/// A submission body that passed every check made before the store's.
struct PreparedSubmission: Sendable {
    /// An uploaded start image, to be stored under `key` once the job is accepted.
    struct Image: Sendable {
        let key: String
        let data: Data
        let mediaType: String
    }
    /// The job a submission would create (its `creditsReserved` is what it would hold).
    let job: Job
    /// SHA-256 of the body (for `Idempotency-Key`).
    let requestHash: String
    let image: Image?
}

extension GatewayServices {
    /// The one submission path of `POST /v1/video` and `POST /v1/videos`, in api.md's check order:
    /// key (401, thrown) → daily limit (429) → body (`readBody`: 415/413/400) → fields → live
    /// availability (503) (these three by `prepare`, which quotes share) → the key's spend limit
    /// (402) → credits (402). `readBody` reads the route's body format into the fields
    /// `SubmissionValidator` takes and the SHA-256 of its bytes (for `Idempotency-Key`); validation,
    /// the quota count, the hold and idempotency are the same for every route. An uploaded image is
    /// stored only once the submit transaction has accepted the job, so a refused submission stores
    /// nothing and no crash can leave an orphan behind (see `storeImage`).
    func submit(
        _ request: Request, context: AppRequestContext, readBody: (inout Request) async throws(GatewayError) -> JSONBody
    ) async throws -> SubmitAnswer {
        var request = request
        // The quota is decided, and reported, by the submit transaction itself.
        let principal = try await authenticate(request, withQuota: false)
        let now = principal.now
        let jobID = Identifier.make("req", at: now)
        var idempotencyKey = request.headers[.idempotencyKey]
        var requestHash = ""
        var image: PreparedSubmission.Image?
        let validation: Result<Job, GatewayError>
        do {
            if let key = idempotencyKey, key.isEmpty || key.count > 255 {
                throw GatewayError(.invalidIdempotencyKey, "The Idempotency-Key must be 1 to 255 characters.", param: "Idempotency-Key")
            }
            let prepared = try await prepare(&request, principal: principal, jobID: jobID, readBody: readBody)
            requestHash = prepared.requestHash
            image = prepared.image
            validation = .success(prepared.job)
        } catch let error as GatewayError {
            validation = .failure(error)
            // A refused body is never replayed: only created jobs are remembered under their key.
            idempotencyKey = nil
        }
        // The worker's spans and the webhook's join this request's trace through the stored context.
        let traceParent = Traces.currentParent()
        let command = SubmitCommand(
            key: principal.key, account: principal.account, idempotencyKey: idempotencyKey, requestHash: requestHash,
            validation: validation.map { job in
                var job = job
                job.traceParent = traceParent
                return job
            }, now: now)
        let outcome = try await Traces.span("submit transaction", attributes: ["videogate.job_id": .string(jobID)]) { _ in
            try await store.submit(command)
        }
        switch outcome {
        case .created(let job, let quota):
            if let image { try await storeImage(image.data, mediaType: image.mediaType, of: job, replay: false, logger: context.logger) }
            context.logger.info("job created", metadata: ["job_id": .string(job.id), "model": .string(job.modelID)])
            return .created(job, RateLimitHeaders.make(quota))
        case .replayed(let job, let quota):
            if let image { try await storeImage(image.data, mediaType: image.mediaType, of: job, replay: true, logger: context.logger) }
            var headers = RateLimitHeaders.make(quota)
            headers[.idempotentReplayed] = "true"
            return .replayed(job, headers)
        case .refused(let error, let quota):
            return .refused(error, RateLimitHeaders.make(quota))
        }
    }

    /// The checks of a submission that need no store, in api.md's order: body (`readBody`:
    /// 415/413/400) → fields (`SubmissionValidator`: prompt, model, mode, image, aspect ratio,
    /// duration, webhook_url, metadata) → live availability (503). The one validation path of
    /// submissions and of `POST /v1/video/quote`: it reads and decides, and stores nothing.
    func prepare(
        _ request: inout Request, principal: Principal, jobID: String, readBody: (inout Request) async throws(GatewayError) -> JSONBody
    ) async throws(GatewayError) -> PreparedSubmission {
        let body = try await readBody(&request)
        let submission = try validator.validate(body.object)
        guard isAvailable(submission.model, for: principal.key.environment) else {
            throw GatewayError(
                .modelUnavailable, "The model '\(submission.model.id)' is not available: its provider is not configured.", param: "model")
        }
        if principal.key.environment == .live, let until = await credentialsOpenUntil(submission.model, at: principal.now) {
            let seconds = max(1, Int(until.timeIntervalSince(principal.now).rounded(.up)))
            throw GatewayError(
                .modelUnavailable,
                "The model '\(submission.model.id)' is not available: every credential of its provider is failing "
                    + "(circuit breaker open for another \(seconds) s).",
                param: "model", retryAfter: seconds)
        }
        var image: PreparedSubmission.Image?
        if case .bytes(let data, let mediaType) = submission.image {
            image = PreparedSubmission.Image(key: ResultKeys.input(jobID: jobID, mediaType: mediaType), data: data, mediaType: mediaType)
        }
        let now = principal.now
        let job = Job(
            id: jobID, accountID: principal.account.id, keyID: principal.key.id, environment: principal.key.environment,
            model: submission.model, submission: submission, imageKey: image?.key, createdAt: now,
            deadlineAt: now.addingTimeInterval(configuration.jobTimeout))
        return PreparedSubmission(job: job, requestHash: body.sha256, image: image)
    }

    /// Puts an accepted job's uploaded image under its `imageKey`. The job and its hold are stored
    /// before the image: a process that dies in between leaves a job whose image is missing (its
    /// worker steps fail and are retried until the deadline, which releases the hold), never a file
    /// that no job owns. A replay of the same body (same bytes, same `Idempotency-Key`) puts the
    /// image again when it is still missing and the job has not started, so retrying a submission
    /// that got no answer repairs it.
    private func storeImage(_ data: Data, mediaType: String, of job: Job, replay: Bool, logger: Logger) async throws {
        guard let key = job.imageKey else { return }
        if replay {
            guard job.status == .pending, try await blobs.head(key: key) == nil else { return }
        }
        do {
            try await blobs.put(key: key, data: data, contentType: mediaType)
        } catch {
            logger.error("storing the uploaded image failed", metadata: ["job_id": .string(job.id), "error": .string(String(reflecting: error))])
            throw error
        }
    }
}
