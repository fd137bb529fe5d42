import Foundation
import Logging
import Metrics
import Tracing
import VideogateDomain
import VideogateProviders
import VideogateStorage

/// Takes one claimed job one step further: submit it, poll it, or fetch, check and store its
/// result. Decisions go through `JobStateMachine`; each is stored with `GatewayStore.apply`,
/// fenced by the claim's lease token, so a step of a worker that lost its lease changes nothing.
/// Every upstream call is preceded by a look at the lease (`LeaseGuard.check()`): a step whose
/// lease lapsed stops before its next call, and a cancelled step records nothing.
public struct JobRunner: Sendable {
    let store: any GatewayStore
    let blobs: any BlobStore
    let providers: [ProviderKind: any VideoProvider]
    /// Chooses credentials for creates and keeps their health; nil when no live provider is configured.
    let router: CredentialRouter?
    /// The models a job may run on, in order: its own, or its alias's members.
    let routes: @Sendable (Job) -> [RouteTarget]
    let probe: MediaProbe
    let clock: any WallClock
    let configuration: WorkerConfiguration
    let metrics: any MetricsFactory
    let logger: Logger

    public init(
        store: any GatewayStore, blobs: any BlobStore, providers: [ProviderKind: any VideoProvider], router: CredentialRouter? = nil,
        routes: @escaping @Sendable (Job) -> [RouteTarget] = RouteTarget.own, probe: MediaProbe, clock: any WallClock,
        configuration: WorkerConfiguration, metrics: any MetricsFactory, logger: Logger
    ) {
        self.router = router
        self.routes = routes
        self.store = store
        self.blobs = blobs
        self.providers = providers
        self.probe = probe
        self.clock = clock
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    /// Runs one step of a job claimed under `lease`. Returns without recording anything when the
    /// lease is lost or the task is cancelled; the caller then gives the lease back.
    public func step(_ job: Job, lease: LeaseGuard) async {
        // The step is a span of the submission's trace (its context stored with the job).
        let attributes: [String: SpanAttribute] = [
            "videogate.job_id": .string(job.id), "videogate.job_status": .string(job.status.rawValue),
            "videogate.provider": .string(job.provider.rawValue), "videogate.attempt": .int64(Int64(job.attempts)),
        ]
        await Traces.span("job step", context: Traces.context(parent: job.traceParent), attributes: attributes) { _ in
            await stepInSpan(job, lease: lease)
        }
    }

    private func stepInSpan(_ job: Job, lease: LeaseGuard) async {
        var logger = logger
        logger[metadataKey: "job_id"] = .string(job.id)
        let event: JobEvent
        if clock.now() >= job.deadlineAt {
            event = .timedOut
        } else if let provider = providers[job.provider] ?? routedCreate(job) {
            do {
                event = try await decide(job, provider: provider, lease: lease, logger: logger)
            } catch let lost as LeaseLost {
                logger.warning("step stopped before its next upstream call", metadata: ["reason": .string(lost.description)])
                return
            } catch where Task.isCancelled {
                return
            } catch {
                logger.error("job step failed", metadata: ["error": .string(String(reflecting: error))])
                event = .retryLater(at: clock.now().addingTimeInterval(RetryPolicy.delay(attempt: job.attempts, retryAfter: nil, jitter: .random(in: 0...1))))
            }
        } else {
            event = .failed(JobFailure(.providerError, "The provider \(job.provider.displayName) is not configured on this server."))
        }
        // A step cut short (deadline, lost lease, shutdown) stores nothing: what it did is redone
        // by the next claim, or the caller records the timeout. A provider job id is the exception:
        // storing it (fenced by the token) is what keeps the next claim from creating it again.
        var storesProviderJobID = false
        if case .providerAccepted = event { storesProviderJobID = true }
        guard !Task.isCancelled || storesProviderJobID else { return }
        await record(event, for: job, lease: lease, logger: logger)
    }

    /// Ends a job whose deadline passed while a step ran (the step was cancelled): `error` /
    /// `timeout`, hold released, fenced by the lease token like any step.
    public func recordTimeout(of job: Job, lease: LeaseGuard) async {
        var logger = logger
        logger[metadataKey: "job_id"] = .string(job.id)
        await record(.timedOut, for: job, lease: lease, logger: logger)
    }

    private func decide(_ job: Job, provider: any VideoProvider, lease: LeaseGuard, logger: Logger) async throws -> JobEvent {
        // Polls do not need the start image: it is read from storage only to submit and to fetch the result.
        let request = try await providerRequest(for: job, withImage: job.status == .pending)
        let now = clock.now()
        switch job.status {
        case .pending:
            // A create in flight is not cut short (shutdown, a lapsing lease): sent again by the
            // next claim, it would be paid twice by providers without idempotency. The phase stays
            // `creating` until the answer is being stored.
            try lease.enter(.creating)
            if job.provider != .sandbox, let router {
                return try await createRouted(job, request: request, router: router, lease: lease, logger: logger)
            }
            do {
                let receipt = try await provider.submit(request, on: .sandbox)
                let firstPoll = now.addingTimeInterval(provider.schedule.delay(beforePoll: 0, jitter: .random(in: 0...1)))
                return .providerAccepted(providerJobID: receipt.providerJobID, providerRequestID: receipt.providerRequestID, nextPollAt: firstPoll)
            } catch {
                return failureEvent(error, job: job, logger: logger)
            }
        case .processing:
            let handle = ProviderHandle(providerJobID: job.providerJobID ?? "", submittedAt: job.submittedAt ?? job.createdAt, request: request)
            do {
                try lease.check()
                let pool = router?.pool ?? CredentialPool([])
                let credential = try pool.bound(name: job.credential, definition: job.credentialDefinition, provider: job.provider)
                let polled = try await Traces.providerCall(provider: job.provider.rawValue, credential: credential.name) { () async throws(ProviderFailure) in
                    try await provider.poll(handle, on: credential)
                }
                switch polled {
                case .running(let progress):
                    let polls = max(1, job.attempts - 1)
                    let next = now.addingTimeInterval(provider.schedule.delay(beforePoll: polls, jitter: .random(in: 0...1)))
                    return .stillRunning(progress: progress, nextPollAt: next)
                case .failed(let failure):
                    return .failed(failure)
                case .succeeded(let result):
                    // Fetching may use the start image (the sandbox draws it), so the handle carries it again.
                    var complete = handle
                    complete.request = try await providerRequest(for: job, withImage: true)
                    return .succeeded(
                        try await storeResult(of: job, handle: complete, result: result, provider: provider, credential: credential, lease: lease))
                }
            } catch let error as ProviderFailure {
                return failureEvent(error, job: job, logger: logger)
            }
        case .completed, .error:
            throw JobTransitionRefusal.alreadyFinal(job.status)
        }
    }

    func failureEvent(_ failure: ProviderFailure, job: Job, logger: Logger) -> JobEvent {
        switch failure {
        case .final(let jobFailure):
            return .failed(jobFailure)
        case .credentialRefused(let message):
            return .failed(JobFailure(.providerError, message))
        case .retryable(let message, let retryAfter):
            let delay = RetryPolicy.delay(attempt: job.attempts, retryAfter: retryAfter, jitter: .random(in: 0...1))
            logger.warning("provider call will be retried", metadata: ["reason": .string(message), "delay_s": .stringConvertible(delay)])
            return .retryLater(at: clock.now().addingTimeInterval(delay))
        }
    }

    /// Fetches the finished video into scratch space, checks it is a real video, makes its poster,
    /// and puts both into result storage under keys derived from the job id (a retry overwrites).
    private func storeResult(
        of job: Job, handle: ProviderHandle, result: ProviderResult, provider: any VideoProvider, credential: ProviderCredential,
        lease: LeaseGuard
    ) async throws -> JobResult {
        let directory = configuration.scratchDirectory.appendingPathComponent("videogate-\(job.id)-\(Identifier.randomBase62(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let video = directory.appendingPathComponent("video.mp4")
        let poster = directory.appendingPathComponent("poster.jpg")
        try lease.check()
        let posterMade = try await Traces.providerCall(provider: job.provider.rawValue, credential: credential.name) {
            () async throws(ProviderFailure) -> Bool in
            try await provider.fetchResult(handle, result: result, to: video, poster: poster, on: credential)
        }
        let info: MediaInfo
        do {
            info = try await Traces.span("media probe") { _ throws(MediaProbeError) in try await probe.inspect(video) }
        } catch .notAVideo(let reason) {
            logger.warning("result is not a video", metadata: ["job_id": .string(job.id), "reason": .string(reason)])
            throw ProviderFailure.final(JobFailure(.providerError, "The provider returned a file that is not a playable video."))
        } catch {
            // ffprobe itself failed (load, a killed process): our problem, not the video's. Try the step again.
            throw ProviderFailure.retryable("checking the video failed: \(error)", retryAfter: nil)
        }
        let videoKey = ResultKeys.video(jobID: job.id)
        let thumbnailKey = ResultKeys.thumbnail(jobID: job.id)
        var storedThumbnail: String?
        do {
            if !posterMade {
                try await Traces.span("media poster") { _ in
                    try await probe.makePoster(from: video, to: poster, at: min(1, info.durationSeconds / 2), inspected: info)
                }
            }
            try await upload(poster, key: thumbnailKey, contentType: "image/jpeg", bytes: nil)
            storedThumbnail = thumbnailKey
        } catch {
            logger.warning("poster frame failed", metadata: ["job_id": .string(job.id), "error": .string(String(describing: error))])
        }
        try lease.check()
        try await upload(video, key: videoKey, contentType: "video/mp4", bytes: info.sizeBytes)
        return JobResult(
            videoKey: videoKey, thumbnailKey: storedThumbnail, videoBytes: info.sizeBytes,
            durationMilliseconds: Int((info.durationSeconds * 1000).rounded()), width: info.width, height: info.height)
    }

    /// Puts a result file into result storage, as a span of the step.
    private func upload(_ file: URL, key: String, contentType: String, bytes: Int64?) async throws {
        var attributes: [String: SpanAttribute] = ["videogate.result_key": .string(key)]
        if let bytes { attributes["videogate.bytes"] = .int64(bytes) }
        try await Traces.span("result upload", ofKind: .client, attributes: attributes) { _ in
            try await blobs.put(key: key, from: file, contentType: contentType)
        }
    }

    private func providerRequest(for job: Job, withImage: Bool) async throws -> ProviderRequest {
        var image: ProviderImage?
        if let url = job.imageURL {
            image = .url(url)
        } else if withImage, let key = job.imageKey {
            let data = try await blobs.read(key: key, range: nil) { try await $0.collect(upTo: ImageInput.maxBytes) }
            image = .bytes(data, mediaType: ImageInput.sniffMediaType(data) ?? "application/octet-stream")
        }
        return ProviderRequest(
            jobID: job.id, upstreamModel: job.upstreamModel, mode: job.mode, prompt: job.prompt, image: image,
            aspectRatio: job.aspectRatio, duration: job.duration, resubmission: job.status == .pending && job.attempts > 1,
            callbackURL: configuration.callbacks?.url(provider: job.provider, jobID: job.id))
    }

    private func record(_ event: JobEvent, for job: Job, lease: LeaseGuard, logger: Logger) async {
        lease.set(.recording)
        let now = clock.now()
        do {
            let transition = try JobStateMachine.apply(event, to: job, now: now, videoTTL: configuration.videoTTL)
            guard try await store.apply(transition, token: lease.token, at: now) else {
                logger.warning("lease lost before the step was stored; another worker has the job")
                return
            }
            let status = transition.job.status
            if status.isTerminal {
                Counter(
                    label: "videogate_jobs_finished_total",
                    dimensions: [("provider", job.provider.rawValue), ("status", status.rawValue)], factory: metrics
                ).increment()
                var metadata: Logger.Metadata = ["status": .string(status.rawValue)]
                if let failure = transition.job.failure { metadata["error_code"] = .string(failure.code.rawValue) }
                logger.info("job finished", metadata: metadata)
                if let key = job.imageKey { try? await blobs.delete(key: key) }
            }
        } catch let refusal as JobTransitionRefusal {
            logger.warning("event refused by the state machine", metadata: ["refusal": .string(String(describing: refusal))])
            try? await store.releaseLease(jobID: job.id, token: lease.token)
        } catch {
            // The database did not take it: the lease runs out and the step is done again.
            logger.error("could not store job step", metadata: ["error": .string(String(reflecting: error))])
        }
    }
}
