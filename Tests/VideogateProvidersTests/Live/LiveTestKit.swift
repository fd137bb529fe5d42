import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ProviderFakes
import VideogateDomain
import VideogateProviders

/// Runs `body` with a fake provider on 127.0.0.1 serving the shared test MP4.
func withFake<T: Sendable>(
    _ routes: @escaping @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void, _ body: @Sendable (FakeUpstream) async throws -> T
) async throws -> T {
    let fake = FakeUpstream(video: try FakeVideo.mp4())
    return try await fake.run(routes: routes, body)
}

/// Provider HTTP for tests: the shared client, and outbound rules that allow the fakes on 127.0.0.1.
func testHTTP() throws -> ProviderHTTP {
    ProviderHTTP(client: HTTPClient.shared, outbound: try OutboundClient(policy: OutboundPolicy(allowedHosts: ["127.0.0.1"]), timeout: 10), concurrency: 4)
}

let quietLogger: Logger = {
    var logger = Logger(label: "provider-tests")
    logger.logLevel = .critical
    return logger
}()

func liveRequest(
    model: String, mode: GenerationMode = .textToVideo, image: ProviderImage? = nil, aspectRatio: AspectRatio = .landscape, duration: Int = 5,
    jobID: String = "req_01TESTJOB", resubmission: Bool = false
) -> ProviderRequest {
    ProviderRequest(
        jobID: jobID, upstreamModel: model, mode: mode, prompt: "a red fox in snow", image: image, aspectRatio: aspectRatio, duration: duration,
        resubmission: resubmission)
}

func handle(_ submission: ProviderSubmission, _ request: ProviderRequest) -> ProviderHandle {
    ProviderHandle(providerJobID: submission.providerJobID, submittedAt: Date(), request: request)
}

/// Polls until the provider leaves `running` (at most `limit` polls).
func pollToEnd<P: VideoProvider>(_ provider: BoundProvider<P>, _ handle: ProviderHandle, limit: Int = 10) async throws -> ProviderPoll {
    for _ in 0..<limit {
        let poll = try await provider.poll(handle)
        if case .running = poll { continue }
        return poll
    }
    return .running(progress: nil)
}

/// A tiny valid PNG (1x1).
let tinyPNG = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")!
/// A 360x360 PNG: the smallest square start image every image-to-video provider takes.
let startPNG = Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAWgAAAFoCAIAAAD1h/aCAAADXklEQVR42u3UMQ0AAAzDsEIapEEa5GHob8kIciSzB1CJBIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBGAeAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxAMahAmAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHYBwqAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAxiEBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHADGARgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQAYB2AcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcagAdB4Hl6lYcEDpZQAAAABJRU5ErkJggg==")!

extension ProviderFailure {
    var isRetryable: Bool { if case .retryable = self { true } else { false } }
    var finalCode: JobErrorCode? { if case .final(let failure) = self { failure.code } else { nil } }
}

extension ProviderPoll {
    var failureCode: JobErrorCode? { if case .failed(let failure) = self { failure.code } else { nil } }
    var resultURL: String?? { if case .succeeded(let result) = self { result.videoURL } else { nil } }
}

/// The provider failure an operation threw, or nil when it succeeded (or threw something else).
func failure<T>(_ operation: () async throws -> T) async -> ProviderFailure? {
    do {
        _ = try await operation()
        return nil
    } catch {
        return error as? ProviderFailure
    }
}
