// GET /healthz → 200 {"status":"ok"} (application/json) on 127.0.0.1.
// Port: the first argument, else $PORT, else 8080. Logs only errors.
import Foundation
import Hummingbird
import Logging

let port = CommandLine.arguments.dropFirst().first.flatMap { Int($0) }
    ?? ProcessInfo.processInfo.environment["PORT"].flatMap { Int($0) }
    ?? 8080

let body = ByteBuffer(string: #"{"status":"ok"}"#)
let router = Router()
router.get("/healthz") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
}

var logger = Logger(label: "hello-world")
logger.logLevel = .error
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "hello-world"),
    logger: logger
)
try await app.runService()
