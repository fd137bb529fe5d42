import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VideogateDomain
import VideogateStorage

/// `POST /v1/video/{id}/cancel` and `POST /v1/videos/{id}/cancel`: a client stops a job it no longer
/// wants, as long as no provider has it. No body is read (one sent is ignored). Like a poll, a
/// cancel shows the key's rate-limit figures without counting against the daily limit.
struct CancelRoutes: Sendable {
    let services: GatewayServices

    /// Answers the job object, as a poll shows it.
    func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request, jobID: context.parameters.get("id")) { principal, _ in
            let job = try await services.cancel(try services.ownedJob(principal), principal: principal, logger: context.logger)
            return JSONResponse.make(try await services.view(job, success: true))
        }
    }

    /// Answers OpenAI's video object (`failed`, `error.code` `cancelled`). A refusal is marked
    /// `x-should-retry: false`: the SDK retries a 409 otherwise, and a refusal is final.
    func cancelVideo(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.openAIRoute(request, jobID: context.parameters.get("id")) { principal, _ in
            let visible = try await services.visibleVideo(principal)
            do {
                return JSONResponse.make(OpenAIVideo(try await services.cancel(visible, principal: principal, logger: context.logger)))
            } catch let error as GatewayError where error.code == .notCancellable {
                var headers = HTTPFields()
                headers[.xShouldRetry] = "false"
                return error.response(headers: headers, format: .openAI)
            }
        }
    }
}

extension GatewayServices {
    /// Cancels `job`, one of the caller's account and environment, through `GatewayStore.cancel`;
    /// returns it as stored. Throws 409 `not_cancellable` for a job that a worker holds, a provider
    /// has, or that ended otherwise, and 404 `not_found` when it is gone.
    func cancel(_ job: Job, principal: Principal, logger: Logger) async throws -> Job {
        let account = principal.account.id
        switch try await store.cancel(jobID: job.id, accountID: account, environment: principal.key.environment, at: principal.now) {
        case .cancelled(let cancelled):
            logger.info("job cancelled", metadata: ["job_id": .string(cancelled.id)])
            // As a worker does when a job ends: the uploaded start image is no longer needed.
            if let key = cancelled.imageKey { try? await blobs.delete(key: key) }
            return cancelled
        case .alreadyCancelled(let cancelled):
            return cancelled
        case .notCancellable(let current):
            throw GatewayError(.notCancellable, Self.notCancellableMessage(current))
        case .notFound:
            throw GatewayError(.notFound, "No job with this request_id exists for this account.")
        }
    }

    /// Why a cancel was refused, by what became of the job.
    static func notCancellableMessage(_ job: Job) -> String {
        switch job.status {
        case .pending: "The job is being handed to its provider and can no longer be cancelled."
        case .processing: "The job is with its provider, which renders it and charges for it: it can no longer be cancelled."
        case .completed: "The job has completed: there is nothing to cancel."
        case .error: "The job has already ended in error (\(job.failure?.code.rawValue ?? "error")): there is nothing to cancel."
        }
    }
}
