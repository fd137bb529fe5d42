import Foundation
import ProviderFakes
import Testing
import VideogateDomain
import VideogateProviders

/// One row of docs/providers/errors.md: a provider's documented error answer and the class it must get.
struct DocumentedError: Sendable, CustomTestStringConvertible {
    enum Provider: String, Sendable { case kling, wan, seedance, veo, sora }
    enum Outcome: Sendable, Equatable { case retryable, credential, request, content }

    let provider: Provider
    let status: Int
    let code: String
    let outcome: Outcome
    var message = ""

    var testDescription: String { "\(provider.rawValue) \(status) \(code) is \(outcome)" }

    init(_ provider: Provider, _ status: Int, _ code: String, _ outcome: Outcome, message: String = "") {
        (self.provider, self.status, self.code, self.outcome, self.message) = (provider, status, code, outcome, message)
    }

    static let kling: [DocumentedError] = [
        .init(.kling, 401, "1000", .credential), .init(.kling, 401, "1001", .credential), .init(.kling, 401, "1002", .credential),
        .init(.kling, 401, "1003", .credential), .init(.kling, 401, "1004", .credential),
        .init(.kling, 429, "1100", .credential), .init(.kling, 429, "1101", .credential), .init(.kling, 429, "1102", .credential),
        .init(.kling, 403, "1103", .credential),
        .init(.kling, 400, "1200", .request), .init(.kling, 400, "1201", .request), .init(.kling, 404, "1202", .request),
        .init(.kling, 404, "1203", .request), .init(.kling, 400, "1300", .request),
        .init(.kling, 400, "1301", .content, message: "Trigger the content security policy"),
        .init(.kling, 429, "1302", .retryable), .init(.kling, 429, "1303", .retryable), .init(.kling, 429, "1304", .credential),
        .init(.kling, 500, "5000", .retryable), .init(.kling, 503, "5001", .retryable), .init(.kling, 504, "5002", .retryable),
    ]

    static let wan: [DocumentedError] = [
        .init(.wan, 401, "InvalidApiKey", .credential), .init(.wan, 403, "AccessDenied", .credential),
        .init(.wan, 403, "AccessDenied.Unpurchased", .credential),
        .init(.wan, 400, "Arrearage", .credential, message: "Access denied, please make sure your account is in good standing."),
        .init(.wan, 403, "AllocationQuota.FreeTierOnly", .credential), .init(.wan, 403, "AllocationQuota.FreeExceeded", .credential),
        .init(.wan, 400, "PrepaidBillOverdue", .credential), .init(.wan, 400, "PostpaidBillOverdue", .credential),
        .init(.wan, 400, "CommodityNotPurchased", .credential), .init(.wan, 404, "WorkSpaceNotFound", .credential),
        .init(.wan, 429, "Throttling", .retryable), .init(.wan, 429, "Throttling.RateQuota", .retryable),
        .init(.wan, 429, "Throttling.AllocationQuota", .retryable),
        .init(.wan, 500, "InternalError", .retryable), .init(.wan, 500, "InternalError.Algo", .retryable),
        .init(.wan, 500, "InternalError.Timeout", .retryable), .init(.wan, 500, "SystemError", .retryable),
        .init(.wan, 503, "ModelUnavailable", .retryable), .init(.wan, 500, "RequestTimeOut", .retryable),
        .init(.wan, 400, "InvalidParameter", .request), .init(.wan, 400, "BadRequest.EmptyInput", .request),
        .init(.wan, 400, "BadRequest.EmptyParameters", .request), .init(.wan, 400, "BadRequest.EmptyModel", .request),
        .init(.wan, 400, "BadRequest.TooLarge", .request), .init(.wan, 400, "InvalidURL", .request),
        .init(.wan, 400, "UnsupportedOperation", .request), .init(.wan, 404, "ModelNotFound", .request),
        .init(.wan, 400, "DataInspectionFailed", .content, message: "Input data may contain inappropriate content."),
    ]

    static let seedance: [DocumentedError] = [
        .init(.seedance, 401, "AuthenticationError", .credential), .init(.seedance, 401, "InvalidAccountStatus", .credential),
        .init(.seedance, 403, "AccessDenied", .credential), .init(.seedance, 403, "AccountOverdueError", .credential),
        .init(.seedance, 403, "OperationDenied.ServiceOverdue", .credential), .init(.seedance, 403, "OperationDenied.ServiceNotOpen", .credential),
        .init(.seedance, 404, "ModelNotOpen", .credential), .init(.seedance, 404, "InvalidEndpointOrModel.ModelIDAccessDisabled", .credential),
        .init(.seedance, 400, "InvalidEndpoint.ClosedEndpoint", .credential),
        .init(.seedance, 429, "QuotaExceeded", .credential), .init(.seedance, 429, "SetLimitExceeded", .credential),
        .init(.seedance, 429, "RateLimitExceeded", .retryable), .init(.seedance, 429, "RateLimitExceeded.EndpointRPMExceeded", .retryable),
        .init(.seedance, 429, "RateLimitExceeded.EndpointTPMExceeded", .retryable),
        .init(.seedance, 429, "ModelAccountRpmRateLimitExceeded", .retryable), .init(.seedance, 429, "APIAccountRpmRateLimitExceeded", .retryable),
        .init(.seedance, 429, "AccountRateLimitExceeded", .retryable), .init(.seedance, 429, "ModelAccountIpmRateLimitExceeded", .retryable),
        .init(.seedance, 429, "InflightBatchsizeExceeded", .retryable), .init(.seedance, 429, "ServerOverloaded", .retryable),
        .init(.seedance, 429, "RequestBurstTooFast", .retryable), .init(.seedance, 500, "InternalServiceError", .retryable),
        .init(.seedance, 400, "MissingParameter", .request), .init(.seedance, 400, "MissingParameter.content", .request),
        .init(.seedance, 400, "InvalidParameter", .request), .init(.seedance, 400, "InvalidParameter.duration", .request),
        .init(.seedance, 400, "InvalidImageURL.EmptyURL", .request), .init(.seedance, 400, "InvalidImageURL.InvalidFormat", .request),
        .init(.seedance, 404, "InvalidEndpointOrModel.NotFound", .request), .init(.seedance, 404, "NotFound.task", .request),
        .init(.seedance, 404, "ResourceNotFound", .request),
        .init(.seedance, 400, "InputTextSensitiveContentDetected", .content), .init(.seedance, 400, "InputImageSensitiveContentDetected", .content),
        .init(.seedance, 400, "OutputVideoSensitiveContentDetected", .content),
        .init(.seedance, 400, "InputTextSensitiveContentDetected.PolicyViolation", .content),
        .init(.seedance, 400, "InputImageSensitiveContentDetected.PrivacyInformation", .content),
        .init(.seedance, 400, "SensitiveContentDetected", .content),
    ]

    static let veo: [DocumentedError] = [
        .init(.veo, 400, "INVALID_ARGUMENT/API_KEY_INVALID", .credential, message: "API key not valid. Please pass a valid API key."),
        .init(.veo, 400, "INVALID_ARGUMENT/API_KEY_EXPIRED", .credential, message: "API key expired. Please renew the API key."),
        .init(.veo, 400, "INVALID_ARGUMENT", .request),
        .init(
            .veo, 400, "FAILED_PRECONDITION", .credential,
            message: "Gemini API free tier is not available in your country. Please enable billing."),
        .init(.veo, 401, "UNAUTHENTICATED", .credential), .init(.veo, 403, "PERMISSION_DENIED", .credential),
        .init(.veo, 404, "NOT_FOUND", .request),
        .init(.veo, 429, "RESOURCE_EXHAUSTED", .retryable), .init(.veo, 500, "INTERNAL", .retryable),
        .init(.veo, 503, "UNAVAILABLE", .retryable), .init(.veo, 504, "DEADLINE_EXCEEDED", .retryable),
        .init(.veo, 400, "INVALID_ARGUMENT", .content, message: "The prompt was blocked by the safety filters: it may violate the usage policy."),
    ]

    static let sora: [DocumentedError] = [
        .init(.sora, 401, "invalid_api_key", .credential, message: "Incorrect API key provided."),
        .init(.sora, 401, "invalid_authentication", .credential), .init(.sora, 401, "account_deactivated", .credential),
        .init(.sora, 403, "unsupported_country_region_territory", .credential),
        .init(.sora, 429, "insufficient_quota", .credential, message: "You exceeded your current quota, please check your plan and billing details."),
        .init(.sora, 429, "credit_balance_exhausted", .credential), .init(.sora, 400, "billing_hard_limit_reached", .credential),
        .init(.sora, 429, "rate_limit_exceeded", .retryable, message: "Rate limit reached for requests."),
        .init(.sora, 503, "slow_down", .retryable), .init(.sora, 429, "slow_down", .retryable),
        .init(.sora, 503, "server_is_overloaded", .retryable), .init(.sora, 500, "server_error", .retryable),
        .init(.sora, 404, "video_not_found", .request),
        .init(.sora, 400, "moderation_blocked", .content, message: "Your request was blocked by our moderation system."),
    ]

    static let all = kling + wan + seedance + veo + sora
}

/// Every documented error answer of docs/providers/errors.md, played by the provider's fake, gets
/// its class: retryable and refused credentials fail over and count against health, the caller's
/// own requests (content refusals included) end the job.
@Suite struct ErrorClassificationTests {
    @Test(arguments: DocumentedError.all)
    func aDocumentedCreateErrorGetsItsClass(_ row: DocumentedError) async throws {
        let failed = try await Self.answer(row, on: .create)
        #expect(failed.map(Self.outcome) == row.outcome, "\(String(describing: failed))")
    }

    /// Polls use the same classes: a refused credential there ends the job, a retryable one polls again.
    @Test(arguments: [
        DocumentedError(.kling, 429, "1102", .credential), DocumentedError(.kling, 429, "1302", .retryable),
        DocumentedError(.wan, 400, "Arrearage", .credential), DocumentedError(.wan, 429, "Throttling.RateQuota", .retryable),
        DocumentedError(.seedance, 403, "AccountOverdueError", .credential), DocumentedError(.seedance, 500, "InternalServiceError", .retryable),
        DocumentedError(.veo, 403, "PERMISSION_DENIED", .credential), DocumentedError(.veo, 503, "UNAVAILABLE", .retryable),
        DocumentedError(.sora, 429, "insufficient_quota", .credential), DocumentedError(.sora, 429, "rate_limit_exceeded", .retryable),
    ])
    func aDocumentedPollErrorGetsTheSameClass(_ row: DocumentedError) async throws {
        let failed = try await Self.answer(row, on: .status)
        #expect(failed.map(Self.outcome) == row.outcome, "\(String(describing: failed))")
    }

    /// Each fake's own content refusal at create stays `content_policy_violation`.
    @Test(arguments: [DocumentedError.Provider.kling, .wan, .seedance, .veo, .sora])
    func contentRefusalsStayContentPolicyViolations(_ provider: DocumentedError.Provider) async throws {
        let failed = try await Self.run(provider) { fake, call in
            fake.refuseCreatesForPolicy()
            return await failure { try await call.submit() }
        }
        #expect(failed?.finalCode == .contentPolicyViolation, "\(String(describing: failed))")
    }

    static func outcome(_ failure: ProviderFailure) -> DocumentedError.Outcome {
        switch failure {
        case .retryable: .retryable
        case .credentialRefused: .credential
        case .final(let job): job.code == .contentPolicyViolation ? .content : .request
        }
    }

    /// The failure of a create (or, for `.status`, of the poll after a successful create) whose answer is `row`.
    static func answer(_ row: DocumentedError, on call: FakeUpstream.Call) async throws -> ProviderFailure? {
        try await run(row.provider) { fake, provider in
            let fault = FakeUpstream.Fault.documented(status: row.status, code: row.code, message: row.message)
            if call == .create {
                fake.inject([fault], on: .create)
                return await failure { try await provider.submit() }
            }
            let submission = try await provider.submit()
            fake.inject([fault], on: .status)
            return await failure { try await provider.poll(submission) }
        }
    }

    /// A submit and poll of one text-to-video request, through a provider bound to its fake's credential.
    struct Calls: Sendable {
        let submitting: @Sendable (ProviderRequest) async throws -> ProviderSubmission
        let polling: @Sendable (ProviderHandle) async throws -> ProviderPoll
        let request: ProviderRequest

        func submit() async throws -> ProviderSubmission { try await submitting(request) }
        func poll(_ submission: ProviderSubmission) async throws -> ProviderPoll { try await polling(handle(submission, request)) }
    }

    static func run<T: Sendable>(
        _ provider: DocumentedError.Provider, _ body: @escaping @Sendable (FakeUpstream, Calls) async throws -> T
    ) async throws -> T {
        switch provider {
        case .kling:
            let kling = FakeKling()
            return try await withFake(kling.routes) { fake in
                let tokens = KlingTokens(accessKey: kling.accessKey, secretKey: kling.secretKey)
                let bound = BoundProvider(
                    KlingProvider(http: try testHTTP(), logger: quietLogger),
                    ProviderCredential(name: "test", provider: .kling, baseURL: fake.origin, auth: .kling(tokens)))
                return try await body(fake, calls(bound, liveRequest(model: "kling-v2-6")))
            }
        case .wan:
            return try await withFake(FakeWan().routes) { fake in
                let bound = BoundProvider(
                    WanProvider(http: try testHTTP(), logger: quietLogger), .test(.wan, baseURL: fake.origin + "/api/v1", key: "dashscope-test"))
                return try await body(fake, calls(bound, liveRequest(model: "wan2.5-t2v-preview")))
            }
        case .seedance:
            return try await withFake(FakeSeedance().routes) { fake in
                let bound = BoundProvider(
                    SeedanceProvider(http: try testHTTP(), logger: quietLogger), .test(.seedance, baseURL: fake.origin + "/api/v3", key: "ark-test"))
                return try await body(fake, calls(bound, liveRequest(model: "seedance-1-5-pro-251215")))
            }
        case .veo:
            return try await withFake(FakeVeo().routes) { fake in
                let bound = BoundProvider(
                    VeoProvider(http: try testHTTP(), logger: quietLogger), .test(.veo, baseURL: fake.origin + "/v1beta", key: "gemini-test"))
                return try await body(fake, calls(bound, liveRequest(model: "veo-3.1-generate-preview", duration: 8)))
            }
        case .sora:
            return try await withFake(FakeSora().routes) { fake in
                let bound = BoundProvider(
                    SoraProvider(http: try testHTTP(), logger: quietLogger),
                    ProviderCredential(name: "test", provider: .sora, baseURL: fake.origin + "/v1", auth: .openAI("openai-test", .bearer)))
                return try await body(fake, calls(bound, liveRequest(model: "sora-2", duration: 4)))
            }
        }
    }

    static func calls<P: VideoProvider>(_ bound: BoundProvider<P>, _ request: ProviderRequest) -> Calls {
        Calls(submitting: { try await bound.submit($0) }, polling: { try await bound.poll($0) }, request: request)
    }
}
