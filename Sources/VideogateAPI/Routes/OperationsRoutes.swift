import Foundation
import Hummingbird
import VideogateDomain

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`: no authentication.
struct OperationsRoutes: Sendable {
    let services: GatewayServices
    let operations: OperationsHooks
    let readiness: ReadinessProbe
    let openAPI: ByteBuffer

    struct Status: Encodable {
        let success = true
        let status: String
    }

    /// The body of every `/healthz` answer, `Status(status: "ok")` encoded once (the tests compare the two).
    static let healthBody = ByteBuffer(string: #"{"status":"ok","success":true}"#)
    static let healthHeaders: HTTPFields = [.contentType: "application/json; charset=utf-8"]

    func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(status: .ok, headers: Self.healthHeaders, body: .init(byteBuffer: Self.healthBody))
    }

    /// 200 while the database and result storage answer, 503 `not_ready` otherwise, within the
    /// probe's deadline whatever they do (both are checked at once; a hanging check counts as down).
    func ready(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (database, storage) = await readiness.check()
        var down: [String] = []
        for (name, outcome) in [("database", database), ("result storage", storage)] where outcome != .up {
            let reason = if case .down(let error) = outcome { error } else { "no answer within \(readiness.deadline)" }
            context.logger.warning("\(name) not reachable", metadata: ["error": .string(reason)])
            down.append(name)
        }
        guard down.isEmpty else {
            throw GatewayError(.notReady, "The \(down.joined(separator: " and the ")) \(down.count == 1 ? "is" : "are") not reachable.")
        }
        return JSONResponse.make(Status(status: "ready"))
    }

    func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        let text = await operations.metricsText()
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func openAPIDocument(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: openAPI))
    }
}

/// What the application hands the HTTP layer for `/metrics`.
public struct OperationsHooks: Sendable {
    /// The Prometheus text exposition of every metric of the process (refreshed gauges included).
    public var metricsText: @Sendable () async -> String

    public init(metricsText: @escaping @Sendable () async -> String) {
        self.metricsText = metricsText
    }
}
