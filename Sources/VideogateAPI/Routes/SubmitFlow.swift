import Foundation
import Hummingbird
import VideogateDomain
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

extension GatewayServices {
    /// The one submission path of `POST /v1/video` and `POST /v1/videos`, in api.md's check order:
    /// key (401, thrown) → daily limit (429) → body (`readBody`: 415/413/400) → fields → live
    /// availability (503) → credits (402). `readBody` reads the route's body format into the fields
    /// `SubmissionValidator` takes and the SHA-256 of its bytes (for `Idempotency-Key`); validation,
    /// the quota count, the hold and idempotency are the same for every route.
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
        var imageKey: String?
        let validation: Result<Job, GatewayError>
        do {
            if let key = idempotencyKey, key.isEmpty || key.count > 255 {
                throw GatewayError(.invalidIdempotencyKey, "The Idempotency-Key must be 1 to 255 characters.", param: "Idempotency-Key")
            }
            let body = try await readBody(&request)
            requestHash = body.sha256
            let submission = try validator.validate(body.object)
            guard isAvailable(submission.model, for: principal.key.environment) else {
                throw GatewayError(
                    .modelUnavailable, "The model '\(submission.model.id)' is not available: its provider is not configured.",
                    param: "model")
            }
            if case .bytes(let data, let mediaType) = submission.image {
                let key = ResultKeys.input(jobID: jobID, mediaType: mediaType)
                try await blobs.put(key: key, data: data, contentType: mediaType)
                imageKey = key
            }
            validation = .success(
                Job(
                    id: jobID, accountID: principal.account.id, keyID: principal.key.id, environment: principal.key.environment,
                    model: submission.model, submission: submission, imageKey: imageKey, createdAt: now,
                    deadlineAt: now.addingTimeInterval(configuration.jobTimeout)))
        } catch let error as GatewayError {
            validation = .failure(error)
            // A refused body is never replayed: only created jobs are remembered under their key.
            idempotencyKey = nil
        }
        let outcome = try await store.submit(
            SubmitCommand(
                key: principal.key, account: principal.account, idempotencyKey: idempotencyKey, requestHash: requestHash,
                validation: validation, now: now))
        switch outcome {
        case .created(let job, let quota):
            context.logger.info("job created", metadata: ["job_id": .string(job.id), "model": .string(job.modelID)])
            return .created(job, RateLimitHeaders.make(quota))
        case .replayed(let job, let quota):
            if let imageKey { try? await blobs.delete(key: imageKey) }
            var headers = RateLimitHeaders.make(quota)
            headers[.idempotentReplayed] = "true"
            return .replayed(job, headers)
        case .refused(let error, let quota):
            if let imageKey { try? await blobs.delete(key: imageKey) }
            return .refused(error, RateLimitHeaders.make(quota))
        }
    }
}
