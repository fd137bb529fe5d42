import VideogateDomain

/// Every documented operation, in the order of `Router+build.swift`.
enum OpenAPIOperations {
    static func path(_ name: String, _ description: String) -> JSONValue {
        ["name": .string(name), "in": "path", "required": true, "description": .string(description), "schema": ["type": "string"]]
    }
    static func query(_ name: String, _ description: String, _ schema: JSONValue = ["type": "string"]) -> JSONValue {
        ["name": .string(name), "in": "query", "required": false, "description": .string(description), "schema": schema]
    }
    static func header(_ name: String, _ description: String, _ schema: JSONValue = ["type": "string"]) -> JSONValue {
        ["name": .string(name), "in": "header", "required": false, "description": .string(description), "schema": schema]
    }

    static let paging: [JSONValue] = [
        query("limit", "Page size, 1 to 100", ["type": "integer", "minimum": 1, "maximum": 100]),
        query("after", "The next_cursor of the previous page"),
    ]
    static let statusFilter = query("status", "Only jobs in this status", ["type": "string", "enum": .array(JobStatus.allCases.map { .string($0.rawValue) })])
    static let bodyErrors: [(Int, String, OpenAPIOperation.Content)] = [
        (400, "Malformed body or invalid field", .json("Error")),
        (413, "Body larger than the limit", .json("Error")),
        (415, "Body not application/json", .json("Error")),
    ]
    static let fileResponses: [(Int, String, OpenAPIOperation.Content)] = [
        (200, "The file", .bytes(["video/mp4", "image/jpeg"])),
        (206, "The requested byte range", .bytes(["video/mp4", "image/jpeg"])),
        (304, "Not modified (If-None-Match)", .none),
        (410, "The result expired and was deleted", .json("Error")),
        (416, "Range outside the file", .json("Error")),
    ]
    static let fileHeaders = [header("Range", "bytes=start-end"), header("If-None-Match", "An ETag"), header("If-Range", "An ETag")]

    /// `from`, `to` and `group_by` of the usage routes.
    static func usageParameters(groupings: [UsageGrouping]) -> [JSONValue] {
        [
            query("from", "RFC 3339 date-time or YYYY-MM-DD (start of that UTC day), included; default 30 days before to"),
            query("to", "RFC 3339 date-time or YYYY-MM-DD (end of that UTC day), excluded; default now; at most 366 days after from"),
            query("group_by", "Default day (UTC)", ["type": "string", "enum": .array(groupings.map { .string($0.rawValue) })]),
        ]
    }

    static let all: [OpenAPIOperation] = [
        OpenAPIOperation(
            method: "post", path: "/v1/video", id: "submitVideo", summary: "Submit a video generation job", auth: .apiKey,
            parameters: [header(
                "Idempotency-Key",
                "Up to 255 characters, scoped to the account and the key's environment; a repeat with the same body within 24 h "
                    + "replays the first response",
                ["type": "string", "minLength": 1, "maxLength": 255])],
            requestBody: "SubmitRequest",
            responses: [
                (200, "The job, stored before this response", .json("Job")),
                (402, "Not enough available credits (insufficient_credits), or over the key's spend limit (spend_limit_exceeded)", .json("Error")),
                (409, "Idempotency-Key reused with another body", .json("Error")),
                (429, "Daily request limit reached", .json("Error")),
                (503, "Live keys: the model's provider has no credential, or every credential's circuit breaker is open (with Retry-After)", .json("Error")),
            ] + bodyErrors, rateLimited: true,
            links: [
                "getVideo": ["id": "$response.body#/request_id"], "getVideoContent": ["id": "$response.body#/request_id"],
                "cancelVideo": ["id": "$response.body#/request_id"],
                "getVideoEvents": ["id": "$response.body#/request_id"],
            ]),
        OpenAPIOperation(
            method: "post", path: "/v1/video/quote", id: "quoteVideo",
            summary: "The price of a submission and whether it would be accepted now; creates, holds and counts nothing", auth: .apiKey,
            requestBody: "SubmitRequest",
            responses: [
                (200, "The quote", .json("Quote")),
                (503, "Live keys: the model's provider has no credential, or every credential's circuit breaker is open (with Retry-After)", .json("Error")),
            ] + bodyErrors, rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/video", id: "listVideos", summary: "The account's jobs, newest first", auth: .apiKey,
            parameters: [statusFilter] + paging,
            responses: [(200, "A page of jobs", .json("JobList")), (400, "Bad query parameter", .json("Error"))], rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/video/{id}", id: "getVideo", summary: "Poll a job", auth: .apiKey,
            parameters: [path("id", "The request_id")],
            responses: [
                (200, "The job", .json("Job")), (404, "No such job for this account", .json("Error")),
                (429, "Polled too often", .json("Error")),
            ], rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/video/{id}/content", id: "getVideoContent", summary: "The MP4 of a completed job", auth: .apiKey,
            parameters: [path("id", "The request_id")] + fileHeaders,
            responses: fileResponses + [(404, "No such job, or not completed", .json("Error"))], rateLimited: true),
        OpenAPIOperation(
            method: "post", path: "/v1/video/{id}/cancel", id: "cancelVideo",
            summary: "Cancel a pending job that no worker is handing to its provider (no body; one sent is ignored)", auth: .apiKey,
            parameters: [path("id", "The request_id")],
            responses: [
                (200, "The job, ended in error with error.code cancelled and its hold released (again when cancelled before)", .json("Job")),
                (404, "No such job for this account", .json("Error")),
                (409, "not_cancellable: being handed to its provider, processing, completed or failed otherwise", .json("Error")),
            ], rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/video/{id}/events", id: "getVideoEvents",
            summary: "Live status stream (Server-Sent Events): `event: job` with the job object as data, first as it is now and then "
                + "on every change of status, progress or queue position; `: keep-alive` comments at least every 15 s; the stream ends "
                + "after the event of a final state (at once for a finished job). Not a poll: no poll throttle, no daily limit",
            auth: .apiKey, parameters: [path("id", "The request_id")],
            responses: [
                (200, "The event stream", .events(name: "job", schema: "Job")), (404, "No such job for this account", .json("Error")),
                (429, "This key has 100 streams open on this server (too_many_streams)", .json("Error")),
            ], rateLimited: true),
        // The OpenAI-compatible surface: OpenAI's bodies and error format (openai-compat.md).
        OpenAPIOperation(
            method: "post", path: "/v1/videos", id: "openaiCreateVideo",
            summary: "OpenAI-compatible: create a video (a job, as POST /v1/video; multipart as OpenAI's SDK sends it, or JSON)",
            auth: .apiKey,
            parameters: [header(
                "Idempotency-Key",
                "Up to 255 characters, scoped to the account and the key's environment; a repeat with the same JSON body bytes, "
                    + "or the same form fields and file whatever the multipart boundary, within 24 h replays the first response",
                ["type": "string", "minLength": 1, "maxLength": 255])],
            requestBody: "OpenAIVideoCreate", formRequestBody: "OpenAIVideoCreateForm", errorSchema: "OpenAIError",
            responses: [
                (200, "The video (status queued), stored before this response", .json("OpenAIVideo")),
                (400, "Malformed body or invalid field (param: prompt, model, seconds, size or input_reference)", .json("OpenAIError")),
                (
                    402, "Not enough available credits (insufficient_credits), or over the key's spend limit (spend_limit_exceeded)",
                    .json("OpenAIError")
                ),
                (409, "Idempotency-Key reused with another body", .json("OpenAIError")),
                (413, "Body larger than the limit", .json("OpenAIError")),
                (415, "Body neither multipart/form-data nor application/json", .json("OpenAIError")),
                (429, "Daily request limit reached", .json("OpenAIError")),
                (503, "Live keys: the model's provider has no credential, or every credential's circuit breaker is open (with Retry-After)", .json("OpenAIError")),
            ], rateLimited: true,
            links: [
                "openaiGetVideo": ["id": "$response.body#/id"], "openaiGetVideoContent": ["id": "$response.body#/id"],
                "openaiDeleteVideo": ["id": "$response.body#/id"], "openaiCancelVideo": ["id": "$response.body#/id"],
            ]),
        OpenAPIOperation(
            method: "get", path: "/v1/videos", id: "openaiListVideos",
            summary: "OpenAI-compatible: the account's videos not deleted through this surface", auth: .apiKey,
            parameters: [
                query("after", "The last_id of the previous page"),
                query("limit", "Page size, 1 to 100 (default 20)", ["type": "integer", "minimum": 1, "maximum": 100]),
                query("order", "By creation time (default desc)", ["type": "string", "enum": ["asc", "desc"]]),
            ],
            errorSchema: "OpenAIError",
            responses: [(200, "A page of videos", .json("OpenAIVideoList")), (400, "Bad query parameter", .json("OpenAIError"))],
            rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/videos/{id}", id: "openaiGetVideo",
            summary: "OpenAI-compatible: one video; the openai-poll-after-ms header gives a polling pace the poll throttle always admits",
            auth: .apiKey, parameters: [path("id", "The video id (a request_id)")], errorSchema: "OpenAIError",
            responses: [
                (200, "The video", .json("OpenAIVideo")), (404, "No such video for this account, or deleted", .json("OpenAIError")),
                (429, "Polled too often", .json("OpenAIError")),
            ], rateLimited: true),
        OpenAPIOperation(
            method: "delete", path: "/v1/videos/{id}", id: "openaiDeleteVideo",
            summary: "OpenAI-compatible: delete a finished video's files and hide it from this surface", auth: .apiKey,
            parameters: [path("id", "The video id (a request_id)")], errorSchema: "OpenAIError",
            responses: [
                (200, "Deleted", .json("OpenAIVideoDeleted")), (404, "No such video for this account, or deleted", .json("OpenAIError")),
                (409, "Still queued or in progress (video_not_finished; x-should-retry: false)", .json("OpenAIError")),
            ], rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/videos/{id}/content", id: "openaiGetVideoContent",
            summary: "OpenAI-compatible: the MP4 (variant=video) or the poster frame (variant=thumbnail)", auth: .apiKey,
            parameters: [
                path("id", "The video id (a request_id)"),
                query(
                    "variant", "Which file (default video); no spritesheets are made",
                    ["type": "string", "enum": ["video", "thumbnail", "spritesheet"]]),
            ] + fileHeaders,
            errorSchema: "OpenAIError",
            responses: [
                (200, "The file", .bytes(["video/mp4", "image/jpeg"])),
                (206, "The requested byte range", .bytes(["video/mp4", "image/jpeg"])),
                (304, "Not modified (If-None-Match)", .none),
                (400, "Unknown variant", .json("OpenAIError")),
                (404, "No such video, not completed, deleted, or no such variant (spritesheet)", .json("OpenAIError")),
                (410, "The content expired and was deleted", .json("OpenAIError")),
                (416, "Range outside the file", .json("OpenAIError")),
            ], rateLimited: true),
        OpenAPIOperation(
            method: "post", path: "/v1/videos/{id}/cancel", id: "openaiCancelVideo",
            summary: "Cancel a queued video that no worker is handing to its provider (no body; one sent is ignored)", auth: .apiKey,
            parameters: [path("id", "The video id (a request_id)")], errorSchema: "OpenAIError",
            responses: [
                (200, "The video, failed with error.code cancelled (again when cancelled before)", .json("OpenAIVideo")),
                (404, "No such video for this account, or deleted", .json("OpenAIError")),
                (409, "not_cancellable (x-should-retry: false): being handed to its provider, in progress, completed or failed otherwise",
                 .json("OpenAIError")),
            ], rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/models", id: "listModels", summary: "The model catalog", auth: .apiKey,
            responses: [(200, "The catalog; available is for the caller's key environment", .json("ModelList"))]),
        OpenAPIOperation(
            method: "get", path: "/v1/account", id: "getAccount", summary: "Plan, balances, the key's daily limit, spend limit and spend",
            auth: .apiKey,
            responses: [(200, "The account", .json("Account"))], rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/v1/usage", id: "getUsage",
            summary: "Jobs created in a range, how they ended and what they cost, for the key's account and environment",
            auth: .apiKey, parameters: usageParameters(groupings: UsageGrouping.forAccounts),
            responses: [(200, "One row per group, ascending", .json("UsageReport")), (400, "Bad query parameter", .json("Error"))],
            rateLimited: true),
        OpenAPIOperation(
            method: "get", path: "/files/{file_id}", id: "getSignedFile", summary: "A result file behind a signed URL (video_url)",
            auth: .none,
            parameters: [
                path("file_id", "req_....mp4 or req_....jpg"), query("expires", "Unix seconds", ["type": "integer"]),
                query("signature", "HMAC-SHA256, base64url"),
            ] + fileHeaders,
            responses: fileResponses + [(403, "Signature missing or wrong", .json("Error")), (404, "No such file", .json("Error"))]),
        OpenAPIOperation(
            method: "post", path: "/admin/accounts", id: "adminCreateAccount", summary: "Create an account", auth: .admin,
            requestBody: "AdminAccountCreate", responses: [(200, "The account", .json("AdminAccount"))] + bodyErrors,
            links: ["adminGetAccount": ["id": "$response.body#/account/id"], "adminLedger": ["id": "$response.body#/account/id"]]),
        OpenAPIOperation(
            method: "get", path: "/admin/accounts/{id}", id: "adminGetAccount", summary: "An account with balances", auth: .admin,
            parameters: [path("id", "acct_...")],
            responses: [(200, "The account", .json("AdminAccount")), (404, "No such account", .json("Error"))]),
        OpenAPIOperation(
            method: "patch", path: "/admin/accounts/{id}", id: "adminUpdateAccount", summary: "Change plan or daily limit", auth: .admin,
            parameters: [path("id", "acct_...")], requestBody: "AdminAccountUpdate",
            responses: [(200, "The account", .json("AdminAccount")), (404, "No such account", .json("Error"))] + bodyErrors),
        OpenAPIOperation(
            method: "post", path: "/admin/accounts/{id}/keys", id: "adminCreateKey", summary: "Create an API key", auth: .admin,
            parameters: [path("id", "acct_...")], requestBody: "AdminKeyCreate",
            responses: [(200, "The key; the secret is shown only here", .json("AdminKeyCreated")), (404, "No such account", .json("Error"))]
                + bodyErrors),
        OpenAPIOperation(
            method: "delete", path: "/admin/keys/{key_id}", id: "adminRevokeKey", summary: "Revoke a key", auth: .admin,
            parameters: [path("key_id", "key_...")],
            responses: [(200, "Revoked from the next request on", .json("AdminKeyRevoked")), (404, "No such key", .json("Error"))]),
        OpenAPIOperation(
            method: "patch", path: "/admin/keys/{key_id}", id: "adminUpdateKey", summary: "Set or remove a key's daily spend limit",
            auth: .admin, parameters: [path("key_id", "key_...")], requestBody: "AdminKeyUpdate",
            responses: [(200, "The key", .json("AdminKey")), (404, "No such key", .json("Error"))] + bodyErrors),
        OpenAPIOperation(
            method: "post", path: "/admin/accounts/{id}/credits", id: "adminAddCredits", summary: "Add or remove credits", auth: .admin,
            parameters: [path("id", "acct_...")], requestBody: "AdminCredits",
            responses: [(200, "The new balances", .json("AdminBalances")), (404, "No such account", .json("Error"))] + bodyErrors),
        OpenAPIOperation(
            method: "get", path: "/admin/accounts/{id}/ledger", id: "adminLedger", summary: "Ledger entries, newest first", auth: .admin,
            parameters: [path("id", "acct_...")] + paging,
            responses: [
                (200, "A page of entries", .json("LedgerList")), (400, "Bad query parameter", .json("Error")),
                (404, "No such account", .json("Error")),
            ]),
        OpenAPIOperation(
            method: "post", path: "/admin/accounts/{id}/webhook-secret", id: "adminRotateWebhookSecret",
            summary: "Rotate the webhook secret", auth: .admin, parameters: [path("id", "acct_...")],
            responses: [(200, "The account with its new secret", .json("AdminAccount")), (404, "No such account", .json("Error"))]),
        OpenAPIOperation(
            method: "get", path: "/admin/jobs", id: "adminListJobs", summary: "Jobs across accounts with provider ids and timings",
            auth: .admin, parameters: [query("account", "acct_..."), statusFilter] + paging,
            responses: [(200, "A page of jobs", .json("AdminJobList")), (400, "Bad query parameter", .json("Error"))]),
        OpenAPIOperation(
            method: "get", path: "/admin/providers", id: "adminProviders", summary: "Provider credentials with their health and jobs in flight",
            auth: .admin, parameters: [], responses: [(200, "Every configured credential", .json("AdminCredentialList"))]),
        OpenAPIOperation(
            method: "get", path: "/admin/jobs/{id}/webhooks", id: "adminJobWebhooks",
            summary: "A job's webhook deliveries with every attempt", auth: .admin, parameters: [path("id", "req_...")],
            responses: [(200, "The deliveries, oldest first", .json("AdminWebhookDeliveryList")), (404, "No such job", .json("Error"))]),
        OpenAPIOperation(
            method: "get", path: "/admin/usage", id: "adminUsage", summary: "Usage across accounts (or of one), of one environment",
            auth: .admin,
            parameters: [
                query("account", "acct_...; all accounts when absent"),
                query("environment", "Which keys' jobs (default live)", ["type": "string", "enum": ["live", "test"]]),
            ] + usageParameters(groupings: UsageGrouping.allCases),
            responses: [
                (200, "One row per group, ascending", .json("UsageReport")), (400, "Bad query parameter", .json("Error")),
                (404, "No such account", .json("Error")),
            ]),
        OpenAPIOperation(
            method: "get", path: "/healthz", id: "health", summary: "200 while the process runs", auth: .none,
            responses: [(200, "Alive", .json("Status"))]),
        OpenAPIOperation(
            method: "get", path: "/readyz", id: "ready", summary: "Database and result storage reachable", auth: .none,
            responses: [(200, "Ready", .json("Status")), (503, "not_ready", .json("Error"))]),
        OpenAPIOperation(
            method: "get", path: "/metrics", id: "metrics", summary: "Prometheus metrics", auth: .none,
            responses: [(200, "Prometheus text exposition", .text("text/plain"))]),
        OpenAPIOperation(
            method: "get", path: "/openapi.json", id: "openapi", summary: "This document", auth: .none,
            responses: [(200, "OpenAPI 3.1", .text("application/json"))]),
    ]
}
