import Foundation
import VideogateDomain

/// The OpenAPI 3.1 document served at `/openapi.json`, built once at start-up for the served
/// catalog. Operations are listed here by method and path; a test checks them against the
/// router's table both ways.
enum OpenAPIDocument {
    static func json(catalog: Catalog = .standard) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(document(catalog: catalog)))) ?? Array("{}".utf8)
    }

    static func document(catalog: Catalog = .standard) -> JSONValue {
        var paths: [String: [String: JSONValue]] = [:]
        for operation in OpenAPIOperations.all {
            paths[operation.path, default: [:]][operation.method] = operation.json
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "videogate",
                "version": "1.0.0",
                "description": "One API for AI video generation across Google Veo, OpenAI Sora, Kling, Alibaba WAN and ByteDance Seedance.",
            ],
            "servers": [["url": "/"]],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(OpenAPISchemas.all(catalog: catalog)),
                "securitySchemes": [
                    "apiKey": ["type": "http", "scheme": "bearer", "description": "vg_live_... or vg_test_... key"],
                    "adminToken": ["type": "http", "scheme": "bearer", "description": "VIDEOGATE_ADMIN_TOKEN"],
                ],
                "headers": [
                    "X-Request-Id": ["description": "The server's id for this HTTP call", "schema": ["type": "string"]],
                    "X-RateLimit-Limit": ["description": "Requests per key per rolling 24 hours", "schema": ["type": "integer"]],
                    "X-RateLimit-Remaining": ["description": "Requests left in the window", "schema": ["type": "integer"]],
                    "X-RateLimit-Reset": [
                        "description": "Unix time (s) when the oldest counted request leaves the window", "schema": ["type": "integer"],
                    ],
                    "Retry-After": ["description": "Seconds to wait", "schema": ["type": "integer"]],
                ],
            ],
        ]
    }
}

/// One documented operation.
struct OpenAPIOperation {
    enum Auth { case none, apiKey, admin }

    let method: String
    let path: String
    let id: String
    let summary: String
    let auth: Auth
    var parameters: [JSONValue] = []
    var requestBody: String? = nil
    /// The schema of a `multipart/form-data` request body, beside (or instead of) the JSON one.
    var formRequestBody: String? = nil
    /// The schema of the error bodies added to every operation (401, default): OpenAI's on `/v1/videos`.
    var errorSchema = "Error"
    /// Status → (description, content): a schema name for JSON, or a media type for bytes.
    var responses: [(Int, String, Content)]
    var rateLimited = false
    /// OpenAPI links of the 200 response: operation id → its parameters taken from this response
    /// (`$response.body#/request_id`), so that stateful testing follows create → retrieve → content.
    var links: [String: [String: String]] = [:]

    enum Content {
        case json(String)
        case bytes([String])
        case text(String)
        /// `text/event-stream` whose events are `event: <name>` with this schema's JSON object as `data`.
        case events(name: String, schema: String)
        case none
    }

    var json: JSONValue {
        var operation: [String: JSONValue] = ["operationId": .string(id), "summary": .string(summary)]
        switch auth {
        case .none: operation["security"] = []
        case .apiKey: operation["security"] = [["apiKey": []]]
        case .admin: operation["security"] = [["adminToken": []]]
        }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        var bodies: [String: JSONValue] = [:]
        if let requestBody { bodies["application/json"] = ["schema": OpenAPISchemas.ref(requestBody)] }
        if let formRequestBody { bodies["multipart/form-data"] = ["schema": OpenAPISchemas.ref(formRequestBody)] }
        if !bodies.isEmpty { operation["requestBody"] = ["required": true, "content": .object(bodies)] }
        var all = responses
        if auth != .none { all.append((401, "Missing, malformed, unknown or revoked credentials", .json(errorSchema))) }
        var rendered: [String: JSONValue] = [:]
        for (status, description, content) in all {
            rendered[String(status)] = response(status: status, description: description, content: content)
        }
        rendered["default"] = response(status: 500, description: "Any other failure (405 with Allow, 500)", content: .json(errorSchema))
        operation["responses"] = .object(rendered)
        return .object(operation)
    }

    private func response(status: Int, description: String, content: Content) -> JSONValue {
        var headers: [String: JSONValue] = ["X-Request-Id": ["$ref": "#/components/headers/X-Request-Id"]]
        if rateLimited && status != 401 {
            for name in ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"] {
                headers[name] = ["$ref": .string("#/components/headers/\(name)")]
            }
        }
        if status == 429 { headers["Retry-After"] = ["$ref": "#/components/headers/Retry-After"] }
        var object: [String: JSONValue] = ["description": .string(description), "headers": .object(headers)]
        if status == 200 && !links.isEmpty {
            object["links"] = .object(Dictionary(uniqueKeysWithValues: links.map { operationID, parameters in
                (operationID, ["operationId": .string(operationID), "parameters": .object(parameters.mapValues { .string($0) })])
            }))
        }
        switch content {
        case .json(let schema): object["content"] = ["application/json": ["schema": OpenAPISchemas.ref(schema)]]
        case .bytes(let types): object["content"] = .object(Dictionary(uniqueKeysWithValues: types.map { ($0, ["schema": ["type": "string", "format": "binary"]]) }))
        case .text(let type): object["content"] = .object([type: ["schema": ["type": "string"]]])
        case .events(let name, let schema):
            // OpenAPI 3.1 reads the schema of an event stream as the schema of each event.
            let event: JSONValue = [
                "type": "object", "required": ["event", "data"],
                "properties": [
                    "event": ["type": "string", "const": .string(name)],
                    "data": ["type": "string", "contentMediaType": "application/json", "contentSchema": OpenAPISchemas.ref(schema)],
                ],
            ]
            object["content"] = ["text/event-stream": ["schema": event]]
        case .none: break
        }
        return .object(object)
    }
}

extension OpenAPIOperation.Content: Equatable {}
