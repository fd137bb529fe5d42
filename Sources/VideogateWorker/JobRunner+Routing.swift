import Foundation
import Logging
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// Handing a live job to a credential (operations.md, "Provider routing"): for each model the job
/// may run on (its own, or its alias's members in order), each credential of that model's provider
/// that may take a create now, in the router's order. A create that fails in a way that blames the
/// credential (network, time-out, 408, 429, 5xx, a refused credential) goes to the next one at
/// once; a refusal of the request itself ends the job. When every credential is exhausted the
/// usual retry schedule applies; when every credential is full (`max_concurrency`) the job waits
/// `pending` and is tried again within about a second.
extension JobRunner {
    /// For a pending job whose own provider has no adapter here: the adapter of a later member of
    /// its alias, when one has credentials.
    func routedCreate(_ job: Job) -> (any VideoProvider)? {
        guard job.status == .pending, router != nil else { return nil }
        return routes(job).lazy.compactMap { providers[$0.provider] }.first
    }

    func createRouted(_ job: Job, request: ProviderRequest, router: CredentialRouter, lease: LeaseGuard, logger: Logger) async throws -> JobEvent {
        var full = false
        var lastFailure: ProviderFailure?
        var reopensAt: Date?
        // A job claimed again after a create may have reached its provider goes first to the
        // credential it was bound to, whose look-up by client id (Kling) can find that upstream job.
        let earlier = request.resubmission ? job.credential : nil
        for target in routes(job) {
            guard let provider = providers[target.provider] else { continue }
            var targetRequest = request
            targetRequest.upstreamModel = target.upstreamModel
            // A member of another provider is called back on its own path (the callback checks it).
            targetRequest.callbackURL = configuration.callbacks?.url(provider: target.provider, jobID: job.id)
            let now = clock.now()
            let choice = await router.candidates(for: target.provider, first: earlier, at: now)
            if let until = choice.reopensAt { reopensAt = min(reopensAt ?? until, until) }
            for (credential, probe) in choice.credentials {
                try lease.check()
                guard
                    try await store.bindCredential(
                        jobID: job.id, token: lease.token, credential: credential.name, definition: credential.definition.storedJSON,
                        maxConcurrency: credential.maxConcurrency, at: clock.now())
                else {
                    full = true
                    continue
                }
                if probe, !(await router.claimProbe(credential, at: clock.now())) { continue }
                do {
                    let receipt = try await Traces.providerCall(provider: target.provider.rawValue, credential: credential.name) {
                        () async throws(ProviderFailure) in try await provider.submit(targetRequest, on: credential)
                    }
                    let accepted = clock.now()
                    await router.recordSuccess(credential, at: accepted)
                    let firstPoll = accepted.addingTimeInterval(provider.schedule.delay(beforePoll: 0, jitter: .random(in: 0...1)))
                    let routing = JobRouting(
                        credential: credential.name, credentialDefinition: credential.definition.storedJSON, provider: target.provider,
                        upstreamModel: target.upstreamModel, routedModel: target.memberID ?? job.routedModel)
                    logger.info(
                        "job handed to provider",
                        metadata: ["credential": .string(credential.name), "provider": .string(target.provider.rawValue)])
                    return .providerAccepted(
                        providerJobID: receipt.providerJobID, providerRequestID: receipt.providerRequestID, nextPollAt: firstPoll, routing: routing)
                } catch let failure where failure.blamesCredential {
                    await router.recordFailure(credential, failure.message, at: clock.now())
                    logger.warning(
                        "create failed; trying the next credential",
                        metadata: ["credential": .string(credential.name), "reason": .string(failure.message)])
                    lastFailure = failure
                } catch {
                    await router.recordAnswered(credential, at: clock.now())
                    return failureEvent(error, job: job, logger: logger)
                }
            }
        }
        let now = clock.now()
        if let lastFailure {
            // Every credential that could take it failed: the usual schedule (or what the provider asked).
            var retryAfter: TimeInterval?
            if case .retryable(_, let after) = lastFailure { retryAfter = after }
            let delay = RetryPolicy.delay(attempt: job.attempts, retryAfter: retryAfter, jitter: .random(in: 0...1))
            logger.warning("every credential failed; the create will be retried", metadata: ["delay_s": .stringConvertible(delay)])
            return .retryLater(at: now.addingTimeInterval(delay))
        }
        if full {
            // Every credential that may take it is at its max_concurrency: wait, pending, with a queue position.
            return .retryLater(at: now.addingTimeInterval(1 + .random(in: 0...0.5)))
        }
        if let reopensAt {
            // Every breaker is open: try again when the first may be probed.
            return .retryLater(at: max(now.addingTimeInterval(1), min(reopensAt, now.addingTimeInterval(600))))
        }
        return .failed(JobFailure(.providerError, "No provider of the model '\(job.modelID)' is configured on this server."))
    }
}

extension ProviderFailure {
    /// The failure's text, for logs and the credential's `last_error`.
    public var message: String {
        switch self {
        case .retryable(let message, _), .credentialRefused(let message): message
        case .final(let failure): failure.message
        }
    }
}
