/// The one error type of videogate: a machine code, an HTTP status, a human sentence,
/// optionally the offending request field and a retry delay.
///
/// The HTTP layer renders it as `{"success": false, "error": code, "message": ..., "param": ...}`.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The machine-readable error code (`invalid_model`, `insufficient_credits`, ...).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        /// The HTTP status that goes with the code.
        public let status: Int
        private init(_ rawValue: String, _ status: Int) {
            self.rawValue = rawValue
            self.status = status
        }
        public var description: String { rawValue }

        // Authentication and limits
        public static let invalidAPIKey = Code("invalid_api_key", 401)
        public static let unauthorized = Code("unauthorized", 401)
        public static let rateLimitExceeded = Code("rate_limit_exceeded", 429)
        public static let pollingTooFrequent = Code("polling_too_frequent", 429)
        public static let tooManyStreams = Code("too_many_streams", 429)
        // Body
        public static let unsupportedMediaType = Code("unsupported_media_type", 415)
        public static let payloadTooLarge = Code("payload_too_large", 413)
        public static let invalidJSON = Code("invalid_json", 400)
        // Submission fields, in the order they are checked
        public static let missingPrompt = Code("missing_prompt", 400)
        public static let promptTooLong = Code("prompt_too_long", 400)
        public static let invalidModel = Code("invalid_model", 400)
        public static let invalidMode = Code("invalid_mode", 400)
        public static let missingImage = Code("missing_image", 400)
        public static let invalidImage = Code("invalid_image", 400)
        public static let invalidAspectRatio = Code("invalid_aspect_ratio", 400)
        public static let invalidDuration = Code("invalid_duration", 400)
        public static let invalidWebhookURL = Code("invalid_webhook_url", 400)
        public static let invalidMetadata = Code("invalid_metadata", 400)
        public static let invalidIdempotencyKey = Code("invalid_idempotency_key", 400)
        public static let invalidParameter = Code("invalid_parameter", 400)
        public static let modelUnavailable = Code("model_unavailable", 503)
        public static let insufficientCredits = Code("insufficient_credits", 402)
        public static let spendLimitExceeded = Code("spend_limit_exceeded", 402)
        public static let idempotencyConflict = Code("idempotency_conflict", 409)
        // Resources
        public static let notFound = Code("not_found", 404)
        public static let methodNotAllowed = Code("method_not_allowed", 405)
        public static let expired = Code("expired", 410)
        public static let invalidSignature = Code("invalid_signature", 403)
        public static let rangeNotSatisfiable = Code("range_not_satisfiable", 416)
        /// A cancel of a job that has started (leased to a worker, or with its provider) or ended otherwise.
        public static let notCancellable = Code("not_cancellable", 409)
        // Operations
        public static let notReady = Code("not_ready", 503)
        public static let internalError = Code("internal_error", 500)
        // Job failure codes (inside a job's `error` object, not HTTP answers)
        public static let providerError = Code("provider_error", 502)
        public static let contentPolicyViolation = Code("content_policy_violation", 422)
        public static let timeout = Code("timeout", 504)

        /// Every code an HTTP response can carry; the OpenAPI document and the tests list these.
        public static let allHTTP: [Code] = [
            .invalidAPIKey, .unauthorized, .rateLimitExceeded, .pollingTooFrequent, .tooManyStreams, .unsupportedMediaType, .payloadTooLarge,
            .invalidJSON, .missingPrompt, .promptTooLong, .invalidModel, .invalidMode, .missingImage, .invalidImage,
            .invalidAspectRatio, .invalidDuration, .invalidWebhookURL, .invalidMetadata, .invalidIdempotencyKey,
            .invalidParameter, .modelUnavailable, .insufficientCredits, .idempotencyConflict, .notFound, .methodNotAllowed,
            .expired, .invalidSignature, .rangeNotSatisfiable, .notCancellable, .notReady, .internalError,
            .spendLimitExceeded,
        ]
    }

    public var code: Code
    public var message: String
    public var param: String?
    /// Seconds after which a retry may succeed (rendered as `Retry-After`).
    public var retryAfter: Int?

    public init(_ code: Code, _ message: String, param: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.param = param
        self.retryAfter = retryAfter
    }

    public var status: Int { code.status }
    public var description: String { "\(code.rawValue): \(message)" }
}
