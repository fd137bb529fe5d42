import VideogateDomain

/// The `components.schemas` of `/openapi.json`: the bodies our routes read and write, with the
/// field names the code emits (`JSON/Views.swift`, `Admin/AdminViews.swift`).
enum OpenAPISchemas {
    /// `schema`, or JSON null.
    static func orNull(_ schema: JSONValue) -> JSONValue { ["anyOf": [schema, ["type": "null"]]] }

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    static func string(_ description: String? = nil, format: String? = nil, values: [String]? = nil) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "string"]
        if let description { schema["description"] = .string(description) }
        if let format { schema["format"] = .string(format) }
        if let values { schema["enum"] = .array(values.map { .string($0) }) }
        return .object(schema)
    }
    static let integer: JSONValue = ["type": "integer"]
    static let boolean: JSONValue = ["type": "boolean"]
    static let nonNegative: JSONValue = ["type": "integer", "minimum": 0]
    static let time: JSONValue = string("RFC 3339 UTC time", format: "date-time")
    static func nullable(_ type: String) -> JSONValue { ["type": [.string(type), "null"]] }
    static func object(_ properties: [String: JSONValue], required: [String] = []) -> JSONValue {
        var schema: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.map { .string($0) }) }
        return .object(schema)
    }
    static func array(_ items: JSONValue) -> JSONValue { ["type": "array", "items": items] }
    static func list(of item: String) -> JSONValue {
        object(
            ["success": boolean, "data": array(ref(item)), "has_more": boolean, "next_cursor": nullable("string")],
            required: ["success", "data", "has_more", "next_cursor"])
    }

    /// The schemas for a gateway serving `catalog` (its enabled ids, aliases included, are the
    /// `model` values a submission may name).
    static func all(catalog: Catalog) -> [String: JSONValue] {
        let balance = object(["available": integer, "held": integer], required: ["available", "held"])
        let balances = object(["live": ref("Balance"), "test": ref("Balance")], required: ["live", "test"])
        let statuses = JobStatus.allCases.map(\.rawValue)
        let models = catalog.enabledModels.map(\.id)
        let spendLimit: JSONValue = [
            "type": "integer", "minimum": 0, "maximum": .number(Double(SpendLimit.maxLimit)),
            "description": "Credits the key's jobs may hold or be charged over any rolling 24 hours",
        ]
        let failure = object(["code": string(values: JobErrorCode.allCases.map(\.rawValue)), "message": string()], required: ["code", "message"])
        return [
            "Error": object(
                [
                    "success": ["type": "boolean", "const": false],
                    "error": string("Machine-readable code", values: GatewayError.Code.allHTTP.map(\.rawValue)),
                    "message": string("A human sentence"),
                    "param": string("The request field at fault"),
                ], required: ["success", "error", "message"]),
            "SubmitRequest": object(
                [
                    "prompt": ["type": "string", "minLength": 1, "maxLength": 4000],
                    "model": string(values: models),
                    // Optional fields may be null: null counts as absent (README, "Choices where the contract is silent").
                    "mode": orNull(string(values: GenerationMode.allCases.map(\.rawValue))),
                    "image": orNull(string("https:// URL or base64 PNG/JPEG/WebP bytes (data: prefix allowed), at most 10 MiB decoded")),
                    "aspect_ratio": orNull(string(values: AspectRatio.allCases.map(\.rawValue))),
                    "duration": orNull(["type": "integer", "minimum": 1]),
                    "webhook_url": orNull(string(format: "uri")),
                    "metadata": orNull([
                        "type": "object", "maxProperties": 16, "propertyNames": ["minLength": 1, "maxLength": 64],
                        "additionalProperties": ["type": "string", "maxLength": 512],
                    ]),
                ], required: ["prompt", "model"]),
            "Job": object(
                [
                    "success": boolean, "request_id": string(), "status": string(values: statuses), "model": string(),
                    "mode": string(values: GenerationMode.allCases.map(\.rawValue)),
                    "aspect_ratio": string(values: AspectRatio.allCases.map(\.rawValue)), "duration": integer,
                    "credits_reserved": integer, "created_at": time, "progress": ["type": "integer", "minimum": 0, "maximum": 100],
                    "video_url": string(format: "uri"), "thumbnail_url": string(format: "uri"), "expires_at": time,
                    "credits_used": integer, "completed_at": time, "error": failure,
                    "metadata": ["type": "object", "additionalProperties": ["type": "string"]],
                    "queue_position": [
                        "type": "integer", "minimum": 0,
                        "description": "Pending jobs only: how many pending jobs of its lane (live or sandbox) go to a provider before it; 0 is next",
                    ],
                    "estimated_completion_at": string("Unfinished jobs only: the server's estimate of completion (RFC 3339 UTC)", format: "date-time"),
                    "routed_model": [
                        "type": ["string", "null"],
                        "description": "Jobs of an alias only: the member model the job runs on; null until it is routed",
                    ],
                ], required: ["request_id", "status", "model", "mode", "aspect_ratio", "duration", "credits_reserved", "created_at"]),
            "JobList": list(of: "Job"),
            "UsageReport": object(
                [
                    "success": boolean, "from": time, "to": time, "group_by": string(values: UsageGrouping.allCases.map(\.rawValue)),
                    "data": array(ref("UsageRow")),
                ], required: ["success", "from", "to", "group_by", "data"]),
            "UsageRow": object(
                [
                    "day": string("The UTC day of creation (group_by=day)", format: "date"), "model": string("group_by=model"),
                    "key_id": string("group_by=key"), "account_id": string("group_by=account (admin)"),
                    "jobs": nonNegative, "completed": nonNegative, "failed": nonNegative, "credits_charged": nonNegative,
                    "seconds_rendered": nonNegative,
                ], required: ["jobs", "completed", "failed", "credits_charged", "seconds_rendered"]),
            "Quote": object(
                [
                    "success": boolean, "model": string(), "mode": string(values: GenerationMode.allCases.map(\.rawValue)),
                    "aspect_ratio": string(values: AspectRatio.allCases.map(\.rawValue)), "duration": integer,
                    "credits": ["type": "integer", "description": "What a submission of this body would hold"],
                    "available_credits": ["type": "integer", "description": "Balance minus credits held, in the key's environment"],
                    "affordable": ["type": "boolean", "description": "Whether the price fits the available credits and the key's spend limit"],
                    "spend_limit_remaining": [
                        "type": ["integer", "null"], "description": "What is left of the key's daily spend limit; null without a limit",
                    ],
                ],
                required: [
                    "success", "model", "mode", "aspect_ratio", "duration", "credits", "available_credits", "affordable", "spend_limit_remaining",
                ]),
            // The OpenAI-compatible surface (/v1/videos): OpenAI's video object, list, deletion and error bodies.
            "OpenAIError": object(
                [
                    "error": object(
                        [
                            "message": string("A human sentence"),
                            "type": string("OpenAI's error type, from the status", values: OpenAIErrorBody.allTypes),
                            "param": ["type": ["string", "null"], "description": "The request field at fault"],
                            "code": string("Our machine-readable code", values: GatewayError.Code.allHTTP.map(\.rawValue) + ["video_not_finished"]),
                        ], required: ["message", "type", "param", "code"]),
                ], required: ["error"]),
            "OpenAIVideo": object(
                [
                    "id": string("The job's request_id"), "object": ["type": "string", "const": "video"],
                    "status": string("queued (pending), in_progress (processing), completed, failed (error)", values: [
                        "queued", "in_progress", "completed", "failed",
                    ]),
                    "model": string(), "progress": ["type": "integer", "minimum": 0, "maximum": 100],
                    "seconds": string("The duration in seconds"), "size": string("WIDTHxHEIGHT of the aspect ratio: 1280x720, 720x1280 or 720x720"),
                    "created_at": ["type": "integer", "description": "Unix seconds"],
                    "completed_at": ["type": ["integer", "null"], "description": "Unix seconds, once completed or failed"],
                    "expires_at": ["type": ["integer", "null"], "description": "Unix seconds until which the content can be downloaded"],
                    "error": [
                        "type": ["object", "null"],
                        "properties": ["code": string(values: JobErrorCode.allCases.map(\.rawValue)), "message": string()],
                        "required": ["code", "message"],
                    ],
                    "prompt": string(), "remixed_from_video_id": ["type": "null"],
                    // Ours, beyond OpenAI's object, present only while they apply.
                    "queue_position": [
                        "type": "integer", "minimum": 0, "description": "Queued videos only: how many queued videos of its lane go before it",
                    ],
                    "estimated_completion_at": ["type": "integer", "description": "Unfinished videos only: estimated completion, Unix seconds"],
                    "routed_model": string("Videos of an alias only, once routed: the member model the video runs on"),
                ],
                required: [
                    "id", "object", "status", "model", "progress", "seconds", "size", "created_at", "completed_at", "expires_at", "error", "prompt",
                    "remixed_from_video_id",
                ]),
            "OpenAIVideoList": object(
                [
                    "object": ["type": "string", "const": "list"], "data": array(ref("OpenAIVideo")), "first_id": nullable("string"),
                    "last_id": nullable("string"), "has_more": boolean,
                ], required: ["object", "data", "first_id", "last_id", "has_more"]),
            "OpenAIVideoDeleted": object(
                ["id": string(), "object": ["type": "string", "const": "video.deleted"], "deleted": ["type": "boolean", "const": true]],
                required: ["id", "object", "deleted"]),
            "OpenAIVideoCreate": object(
                [
                    "prompt": ["type": "string", "minLength": 1, "maxLength": 4000],
                    "model": string("Any catalog id; default sora-2", values: models),
                    "seconds": ["type": ["string", "integer"], "description": "The duration in seconds, one the model accepts"],
                    "size": string("WIDTHxHEIGHT: 1280x720 or 1792x1024 (16:9), 720x1280 or 1024x1792 (9:16), a square size (1:1); default 720x1280"),
                    "input_reference": [
                        "description": "The start image of an image-to-video model: https URL or base64 (data: prefix allowed), or {image_url}",
                        "oneOf": [string(), object(["image_url": string()], required: ["image_url"])],
                    ],
                ], required: ["prompt"]),
            "OpenAIVideoCreateForm": object(
                [
                    "prompt": ["type": "string", "minLength": 1, "maxLength": 4000],
                    "model": string("Any catalog id; default sora-2", values: models),
                    "seconds": string("The duration in seconds, one the model accepts"),
                    "size": string("WIDTHxHEIGHT, as in the JSON body; default 720x1280"),
                    "input_reference": [
                        "type": "string", "format": "binary",
                        "description": "The start image of an image-to-video model (PNG, JPEG or WebP, recognised by its bytes)",
                    ],
                ], required: ["prompt"]),
            "Model": object(
                [
                    "id": string(), "provider": string(values: ProviderKind.allCases.filter { $0 != .sandbox }.map(\.rawValue)),
                    "provider_name": string(), "mode": string(values: GenerationMode.allCases.map(\.rawValue)), "credits": integer,
                    "durations": array(integer), "default_duration": integer, "aspect_ratios": array(string()),
                    "default_aspect_ratio": string(), "available": boolean,
                    "members": [
                        "type": "array", "items": string(), "minItems": 1,
                        "description": "Aliases only: the member model ids, in the order a job is offered to them; the provider is the first's",
                    ],
                ],
                required: [
                    "id", "provider", "mode", "credits", "durations", "default_duration", "aspect_ratios", "default_aspect_ratio", "available",
                ]),
            "ModelList": object(["success": boolean, "data": array(ref("Model"))], required: ["success", "data"]),
            "Balance": balance,
            "Balances": balances,
            "Account": object(
                [
                    "success": boolean,
                    "account": object(
                        [
                            "id": string(), "name": string(), "plan": string(values: Plan.allCases.map(\.rawValue)),
                            "key": object(
                                [
                                    "id": string(), "environment": string(values: ["live", "test"]),
                                    "spend_limit_daily": ["type": ["integer", "null"], "description": "Credits per rolling 24 h; null: no limit"],
                                    "spent_last_24h": ["type": "integer", "description": "Held or charged for the key's jobs of the last 24 h"],
                                ], required: ["id", "environment", "spend_limit_daily", "spent_last_24h"]),
                            "balances": ref("Balances"),
                            "daily_limit": integer, "used": integer, "remaining": integer, "reset_at": time,
                        ], required: ["id", "plan", "balances", "daily_limit", "used", "remaining", "reset_at"]),
                ], required: ["success", "account"]),
            "Status": object(["success": boolean, "status": string()], required: ["success", "status"]),
            "AdminAccount": object(
                [
                    "success": boolean,
                    "account": object(
                        [
                            "id": string(), "name": string(), "plan": string(values: Plan.allCases.map(\.rawValue)), "daily_limit": integer,
                            "created_at": time, "webhook_secret": string(), "balances": ref("Balances"),
                        ], required: ["id", "name", "plan", "daily_limit", "created_at", "webhook_secret", "balances"]),
                ], required: ["success", "account"]),
            // As on /v1/video, an optional field that is null counts as absent.
            "AdminAccountCreate": object(
                ["name": ["type": "string", "minLength": 1, "maxLength": 200], "plan": orNull(string(values: Plan.allCases.map(\.rawValue))),
                 "daily_limit": orNull(["type": "integer", "minimum": 1])], required: ["name"]),
            "AdminAccountUpdate": object([
                "plan": orNull(string(values: Plan.allCases.map(\.rawValue))), "daily_limit": orNull(["type": "integer", "minimum": 1]),
            ]),
            "AdminKeyCreate": object([
                "environment": orNull(string(values: ["live", "test"])), "name": orNull(["type": "string", "maxLength": 200]),
                "spend_limit_daily": orNull(spendLimit),
            ]),
            "AdminKeyCreated": object(
                [
                    "success": boolean, "key": string("The secret, shown only here"), "key_id": string(), "environment": string(),
                    "account_id": string(), "spend_limit_daily": nullable("integer"),
                ],
                required: ["success", "key", "key_id", "environment", "spend_limit_daily"]),
            "AdminKeyUpdate": object(["spend_limit_daily": orNull(spendLimit)], required: ["spend_limit_daily"]),
            "AdminKey": object(
                [
                    "success": boolean, "key_id": string(), "account_id": string(), "environment": string(values: ["live", "test"]),
                    "name": nullable("string"), "prefix": string(), "created_at": time, "revoked": boolean,
                    "spend_limit_daily": nullable("integer"),
                ],
                required: ["success", "key_id", "account_id", "environment", "name", "prefix", "created_at", "revoked", "spend_limit_daily"]),
            "AdminKeyRevoked": object(["success": boolean, "key_id": string(), "revoked": boolean], required: ["success", "key_id", "revoked"]),
            "AdminCredits": object(
                ["amount": ["type": "integer", "not": ["const": 0]], "environment": orNull(string(values: ["live", "test"])), "reason": orNull(string())],
                required: ["amount"]),
            "AdminBalances": object(["success": boolean, "account_id": string(), "balances": ref("Balances")], required: ["success", "balances"]),
            "LedgerEntry": object(
                [
                    "id": string(), "kind": string(values: LedgerEntryKind.allCases.map(\.rawValue)), "environment": string(),
                    "amount": integer, "job_id": string(), "reason": string(),
                    "balance_after": object(["total": integer, "held": integer, "available": integer]), "created_at": time,
                ], required: ["id", "kind", "environment", "amount", "balance_after", "created_at"]),
            "LedgerList": list(of: "LedgerEntry"),
            "AdminJob": object(
                [
                    "id": string(), "account_id": string(), "key_id": string(), "environment": string(), "model": string(),
                    "provider": string(), "upstream_model": string(), "status": string(values: statuses), "progress": integer,
                    "provider_job_id": string(), "provider_request_id": string(), "attempts": integer, "credits_reserved": integer,
                    "credits_used": integer, "error": failure, "created_at": time, "submitted_at": time, "completed_at": time,
                    "updated_at": time, "next_attempt_at": time, "deadline_at": time, "lease_owner": string(), "lease_expires_at": time,
                    "expires_at": time, "video_bytes": integer, "video_duration_ms": integer,
                    "credential": string("The provider credential the job is bound to"),
                ], required: ["id", "account_id", "status", "provider", "attempts", "created_at"]),
            "AdminJobList": list(of: "AdminJob"),
            "AdminCredential": object(
                [
                    "provider": string(), "name": string(), "route": string(values: ["api", "gemini", "vertex"]), "weight": integer,
                    "max_concurrency": nullable("integer"), "state": string(values: BreakerState.allCases.map(\.rawValue)),
                    "in_flight": nonNegative, "recent_failures": nonNegative, "last_error": nullable("string"),
                    "last_failure_at": ["type": ["string", "null"], "format": "date-time"],
                    "opened_until": ["type": ["string", "null"], "format": "date-time"], "failures_total": nonNegative,
                ],
                required: [
                    "provider", "name", "route", "weight", "max_concurrency", "state", "in_flight", "recent_failures", "last_error",
                    "last_failure_at", "opened_until", "failures_total",
                ]),
            "AdminCredentialList": object(["success": boolean, "credentials": array(ref("AdminCredential"))], required: ["success", "credentials"]),
            "AdminWebhookAttempt": object(
                [
                    "number": integer, "attempted_at": time,
                    "status_code": ["type": ["integer", "null"], "description": "The receiver's status; null when no answer came"],
                    "latency_ms": integer, "error": ["type": ["string", "null"], "description": "Why the attempt failed; null when it succeeded"],
                ], required: ["number", "attempted_at", "status_code", "latency_ms", "error"]),
            "AdminWebhookDelivery": object(
                [
                    "id": string("The webhook-id header, the same on every attempt"), "job_id": string(), "url": string(),
                    "event": string("The job's final status", values: [JobStatus.completed.rawValue, JobStatus.error.rawValue]),
                    "status": string(values: WebhookDeliveryStatus.allCases.map(\.rawValue)), "attempt_count": integer,
                    "next_attempt_at": ["type": ["string", "null"], "format": "date-time"], "created_at": time,
                    "finished_at": ["type": ["string", "null"], "format": "date-time"], "attempts": array(ref("AdminWebhookAttempt")),
                ],
                required: ["id", "job_id", "url", "event", "status", "attempt_count", "next_attempt_at", "created_at", "finished_at", "attempts"]),
            "AdminWebhookDeliveryList": object(
                ["success": boolean, "job_id": string(), "data": array(ref("AdminWebhookDelivery"))], required: ["success", "job_id", "data"]),
        ]
    }
}
