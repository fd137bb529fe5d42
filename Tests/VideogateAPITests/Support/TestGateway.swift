import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ProviderFakes
import Testing
import VideogateAPI
import VideogateApp
import VideogateDomain
import VideogateStorage

/// A gateway on a fresh temporary data directory, with helpers to make accounts and keys.
struct TestGateway {
    let gateway: Gateway
    let directory: URL
    /// The PostgreSQL database of this gateway and what drops it (nil on SQLite).
    var database: (url: String, drop: @Sendable () async -> Void)?
    var dropDatabase: (@Sendable () async -> Void)? { database?.drop }
    let adminToken = "admin-test-token"

    var store: any GatewayStore { gateway.services.store }
    var actions: AdminActions { AdminActions(store: store) }

    /// - Parameters:
    ///   - role: `.api` for routes only (no workers), `.all` to run jobs.
    static func make(
        role: ServerRole = .api, sandboxDelayMs: Int = 0, pollInterval: TimeInterval = 0, jobTimeout: TimeInterval = 600,
        videoTTL: TimeInterval = 86_400, maxBodyBytes: Int = 16 * 1024 * 1024, clock: any WallClock = SystemWallClock(),
        restarting previous: TestGateway? = nil, configure: (inout AppConfiguration) -> Void = { _ in }
    ) async throws -> TestGateway {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("videogate-test-\(Identifier.randomBase62(10))")
        var config = AppConfiguration()
        config.dataDirectory = directory
        config.port = 0
        config.role = role
        config.sandboxDelay = Double(sandboxDelayMs) / 1000
        config.pollInterval = pollInterval
        config.jobTimeout = jobTimeout
        config.videoTTL = videoTTL
        config.maxBodyBytes = maxBodyBytes
        config.adminToken = "admin-test-token"
        config.signingSecret = "signing-test-secret"
        config.publicURL = "http://files.test"
        config.sandboxShortSide = 144
        config.leaseDuration = 5
        // `VIDEOGATE_TEST_STORE=postgres` (scripts/test's second pass): a fresh PostgreSQL database.
        // `restarting`: the same database, as a restarted process on the same data directory would find it.
        var database: (url: String, drop: @Sendable () async -> Void)?
        if TestPostgres.serverTestsUsePostgres {
            if let reused = previous?.database { database = reused } else { database = try await TestPostgres.createDatabase() }
            config.databaseURL = database?.url
            config.databasePoolSize = 4
        }
        if let previous { config.dataDirectory = previous.directory }
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let gateway: Gateway
        do {
            gateway = try await buildGateway(config, logger: logger, clock: clock)
        } catch {
            await database?.drop()
            throw error
        }
        return TestGateway(gateway: gateway, directory: previous?.directory ?? directory, database: database)
    }

    /// Runs `body` against the router (no sockets); workers run when the role has them.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        defer { try? FileManager.default.removeItem(at: directory) }
        let result: Result<Value, any Error>
        do {
            result = .success(try await gateway.application.test(.router) { client in try await body(client) })
        } catch {
            result = .failure(error)
        }
        try? await store.close()
        await dropDatabase?()
        return try result.get()
    }

    /// A new account with a key of `environment` and `credits` in that environment.
    func account(
        plan: Plan = .pro, credits: Int = 100_000, environment: KeyEnvironment = .test, dailyLimit: Int? = nil
    ) async throws -> (account: Account, key: String, keyID: String) {
        let account = try await actions.createAccount(name: "acct-\(Identifier.randomBase62(4))", plan: plan, dailyLimit: dailyLimit)
        if credits > 0 { _ = try await actions.addCredits(accountID: account.id, environment: environment, amount: credits, reason: "test") }
        let (key, secret) = try await actions.createKey(accountID: account.id, environment: environment, name: nil)
        return (account, secret, key.id)
    }
}

/// Request helpers.
extension TestClientProtocol {
    func submit(key: String?, json: String, headers extra: HTTPFields = [:], contentType: String? = "application/json") async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let contentType { headers[.contentType] = contentType }
        return try await execute(uri: "/v1/video", method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func get(_ uri: String, key: String?, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    func admin(_ method: HTTPRequest.Method, _ uri: String, token: String = "admin-test-token", json: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Polls until the job is final or `timeout` passes.
    func waitForFinal(_ id: String, key: String, timeout: Duration = .seconds(60)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let object = try await get("/v1/video/\(id)", key: key).json()
            if let status = object["status"] as? String, status == "completed" || status == "error" { return object }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("job \(id) did not finish within \(timeout)")
        return [:]
    }
}

extension TestResponse {
    /// The body as a JSON object (an empty one when it is not).
    func json() throws -> [String: Any] {
        let data = Data(body.readableBytesView)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    var text: String { String(buffer: body) }

    /// Asserts our JSON error body with this status and code.
    func expectError(_ status: Int, _ code: String, param: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(self.status.code == status, "status of \(code)", sourceLocation: sourceLocation)
        let object = try json()
        #expect(object["success"] as? Bool == false, sourceLocation: sourceLocation)
        #expect(object["error"] as? String == code, "body: \(text)", sourceLocation: sourceLocation)
        #expect((object["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        if let param { #expect(object["param"] as? String == param, sourceLocation: sourceLocation) }
        #expect(headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    }
}

/// A 360x360 PNG, base64: the smallest square start image every image-to-video provider takes.
let startPNGBase64 = "iVBORw0KGgoAAAANSUhEUgAAAWgAAAFoCAIAAAD1h/aCAAADXklEQVR42u3UMQ0AAAzDsEIapEEa5GHob8kIciSzB1CJBIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBGAeAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxAMahAmAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHYBwqAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAxiEBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHADGARgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQAYB2AcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcagAdB4Hl6lYcEDpZQAAAABJRU5ErkJggg=="

/// A tiny valid PNG (1x1), base64: below every image-to-video provider's minimum.
let tinyPNGBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
