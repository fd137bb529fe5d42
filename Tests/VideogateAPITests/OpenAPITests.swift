import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VideogateAPI
import VideogateDomain

@Suite("/openapi.json")
struct OpenAPITests {
    /// The served document, and the router's table of routes.
    static func load() async throws -> (document: [String: Any], routes: RouteTable) {
        let gateway = try await TestGateway.make()
        let routes = gateway.gateway.routes
        let data = try await gateway.test { client in Data(try await client.get("/openapi.json", key: nil).body.readableBytesView) }
        let document = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        return (document, routes)
    }

    static func operations(_ document: [String: Any]) -> Set<String> {
        var result = Set<String>()
        for (path, item) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for method in item.keys { result.insert("\(method.uppercased()) \(path)") }
        }
        return result
    }

    @Test func everyRouteIsDocumentedAndEveryOperationIsARoute() async throws {
        let (document, routes) = try await Self.load()
        let served = Set(routes.entries.map { "\($0.method.rawValue) \(RouteTable.openAPIPath($0.path))" })
        let documented = Self.operations(document)
        #expect(served.subtracting(documented).isEmpty, "routes missing from the document: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented operations that are not routes: \(documented.subtracting(served).sorted())")
        #expect(served.count >= 20)
    }

    @Test func everyErrorCodeIsInTheErrorSchema() async throws {
        let (document, _) = try await Self.load()
        let schemas = (document["components"] as? [String: Any])?["schemas"] as? [String: Any]
        let error = (schemas?["Error"] as? [String: Any])?["properties"] as? [String: Any]
        let codes = Set(((error?["error"] as? [String: Any])?["enum"] as? [String]) ?? [])
        #expect(codes == Set(GatewayError.Code.allHTTP.map(\.rawValue)))
    }

    @Test func operationsDescribeSuccessAndAuthenticationErrors() async throws {
        let (document, _) = try await Self.load()
        for (path, item) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for (method, value) in item {
                let operation = value as? [String: Any] ?? [:]
                let responses = operation["responses"] as? [String: Any] ?? [:]
                #expect(responses.keys.contains { $0.hasPrefix("2") }, "\(method) \(path) has no success response")
                let security = operation["security"] as? [Any] ?? []
                if !security.isEmpty {
                    #expect(responses["401"] != nil, "\(method) \(path) needs auth but documents no 401")
                }
            }
        }
    }

    @Test func documentValidatesAsOpenAPI31() async throws {
        let gateway = try await TestGateway.make()
        let data = try await gateway.test { client in Data(try await client.get("/openapi.json", key: nil).body.readableBytesView) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-openapi-\(UUID().uuidString).json")
        try data.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
            file.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "openapi-spec-validator (pip install openapi-spec-validator) said: \(text)")
    }
}
