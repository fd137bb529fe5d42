import VideogateDomain

/// The `components.schemas` of `/openapi.json`: the bodies our routes read and write, with the
/// field names the code emits (`JSON/Views.swift`, `Admin/AdminViews.swift`).
enum OpenAPISchemas {
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

    static var all: [String: JSONValue] {
        let balance = object(["available": integer, "held": integer], required: ["available", "held"])
        let balances = object(["live": ref("Balance"), "test": ref("Balance")], required: ["live", "test"])
        let statuses = JobStatus.allCases.map(\.rawValue)
        let models = Catalog.standard.models.map(\.id)
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
                    "mode": string(values: GenerationMode.allCases.map(\.rawValue)),
                    "image": string("https:// URL or base64 PNG/JPEG/WebP bytes (data: prefix allowed), at most 10 MiB decoded"),
                    "aspect_ratio": string(values: AspectRatio.allCases.map(\.rawValue)),
                    "duration": ["type": "integer", "minimum": 1],
                    "webhook_url": string(format: "uri"),
                    "metadata": ["type": "object", "maxProperties": 16, "additionalProperties": ["type": "string", "maxLength": 512]],
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
                ], required: ["request_id", "status", "model", "mode", "aspect_ratio", "duration", "credits_reserved", "created_at"]),
            "JobList": list(of: "Job"),
            "Model": object(
                [
                    "id": string(), "provider": string(values: ProviderKind.allCases.filter { $0 != .sandbox }.map(\.rawValue)),
                    "provider_name": string(), "mode": string(values: GenerationMode.allCases.map(\.rawValue)), "credits": integer,
                    "durations": array(integer), "default_duration": integer, "aspect_ratios": array(string()),
                    "default_aspect_ratio": string(), "available": boolean,
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
                            "key": object(["id": string(), "environment": string(values: ["live", "test"])]), "balances": ref("Balances"),
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
            "AdminAccountCreate": object(
                ["name": ["type": "string", "minLength": 1, "maxLength": 200], "plan": string(values: Plan.allCases.map(\.rawValue)),
                 "daily_limit": ["type": "integer", "minimum": 1]], required: ["name"]),
            "AdminAccountUpdate": object(["plan": string(values: Plan.allCases.map(\.rawValue)), "daily_limit": ["type": "integer", "minimum": 1]]),
            "AdminKeyCreate": object(["environment": string(values: ["live", "test"]), "name": ["type": "string", "maxLength": 200]]),
            "AdminKeyCreated": object(
                ["success": boolean, "key": string("The secret, shown only here"), "key_id": string(), "environment": string(), "account_id": string()],
                required: ["success", "key", "key_id", "environment"]),
            "AdminKeyRevoked": object(["success": boolean, "key_id": string(), "revoked": boolean], required: ["success", "key_id", "revoked"]),
            "AdminCredits": object(
                ["amount": ["type": "integer", "not": ["const": 0]], "environment": string(values: ["live", "test"]), "reason": string()],
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
                ], required: ["id", "account_id", "status", "provider", "attempts", "created_at"]),
            "AdminJobList": list(of: "AdminJob"),
        ]
    }
}
