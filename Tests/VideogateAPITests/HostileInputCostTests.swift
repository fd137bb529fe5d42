import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
@testable import VideogateAPI

/// Hostile or unlucky inputs cost little: a refused submission stores nothing, unknown ids leave no
/// poll-throttle state, and a multipart submission's idempotency does not hang on its random boundary.
@Suite("Hostile inputs cost little")
struct HostileInputCostTests {
    static let imageModel = "kling-v2.5-turbo-pro-i2v"
    static let imageBody = #"{"prompt":"p","model":"\#(imageModel)","image":"\#(startPNGBase64)"}"#

    /// The uploaded start images in the gateway's result storage.
    static func storedInputs(_ gateway: TestGateway) -> [String] {
        let inputs = gateway.directory.appendingPathComponent("videos/inputs")
        return (try? FileManager.default.contentsOfDirectory(atPath: inputs.path)) ?? []
    }

    @Test func aRefusedSubmissionStoresNoImage() async throws {
        let gateway = try await TestGateway.make()
        let (_, broke, _) = try await gateway.account(credits: 0)
        let (_, limited, _) = try await gateway.account(plan: .enterprise, dailyLimit: 1)
        let (_, funded, _) = try await gateway.account()
        try await gateway.test { client in
            // Result storage cannot take an image now (a file where the inputs folder goes): a
            // submission that tried to store its image before the decisions would fail with 500.
            let blocker = gateway.directory.appendingPathComponent("videos/inputs")
            try FileManager.default.createDirectory(at: blocker.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("in the way".utf8).write(to: blocker)
            // Credits (402) and the daily limit (429) are decided before the image would be stored.
            try await client.submit(key: broke, json: Self.imageBody).expectError(402, "insufficient_credits")
            #expect(try await client.submit(key: limited, json: #"{"prompt":"p","model":"kling-v2.5-turbo-pro"}"#).status == .ok)
            try await client.submit(key: limited, json: Self.imageBody).expectError(429, "rate_limit_exceeded")
            // A check after the image (duration) still answers first, as api.md orders them.
            let badDuration = #"{"prompt":"p","model":"\#(Self.imageModel)","image":"\#(startPNGBase64)","duration":7}"#
            try await client.submit(key: funded, json: badDuration).expectError(400, "invalid_duration")
            try FileManager.default.removeItem(at: blocker)

            // An accepted one stores its image once, and a replay of it stores nothing more.
            var headers = HTTPFields()
            headers[.init("Idempotency-Key")!] = "with-image"
            let accepted = try await client.submit(key: funded, json: Self.imageBody, headers: headers)
            let id = try #require(try accepted.json()["request_id"] as? String, "\(accepted.text)")
            #expect(Self.storedInputs(gateway) == ["\(id).png"])
            #expect(try await client.submit(key: funded, json: Self.imageBody, headers: headers).headers[.init("Idempotent-Replayed")!] == "true")
            #expect(Self.storedInputs(gateway) == ["\(id).png"])
        }
    }

    @Test func aReplayRestoresAnAcceptedJobsMissingImage() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            var headers = HTTPFields()
            headers[.init("Idempotency-Key")!] = "retry-me"
            let id = try #require(try await client.submit(key: key, json: Self.imageBody, headers: headers).json()["request_id"] as? String)
            // As if the process had died after the job was stored and before its image was.
            let imageKey = "inputs/\(id).png"
            try await gateway.gateway.services.blobs.delete(key: imageKey)
            #expect(try await gateway.gateway.services.blobs.head(key: imageKey) == nil)
            #expect(try await client.submit(key: key, json: Self.imageBody, headers: headers).status == .ok)
            #expect(try await gateway.gateway.services.blobs.head(key: imageKey)?.size == Int64(startPNG.count))
        }
    }

    @Test func thePollThrottleKeepsStateOnlyForTheCallersOwnJobs() async throws {
        let gateway = try await TestGateway.make(pollInterval: 5)
        let (_, alice, _) = try await gateway.account()
        let (_, bob, _) = try await gateway.account()
        let throttle = gateway.gateway.services.throttle
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: alice, json: #"{"prompt":"p","model":"kling-v2.5-turbo-pro"}"#).json()["request_id"] as? String)
            for index in 0..<200 {
                for uri in ["/v1/video/garbage-\(index)", "/v1/videos/\(Identifier.make("req"))", "/v1/video/\(Identifier.make("req"))"] {
                    try await client.get(uri, key: bob).expectStatus(404)
                }
            }
            // Another account's real job: 404 every time, never 429, and no bucket.
            for _ in 0..<10 {
                try await client.get("/v1/video/\(id)", key: bob).expectStatus(404)
                try await client.get("/v1/videos/\(id)", key: bob).expectStatus(404)
            }
            #expect(throttle.count == 0)
            #expect(try await client.get("/v1/video/\(id)", key: alice).status == .ok)
            #expect(throttle.count == 1)
        }
    }

    @Test func aMultipartSubmissionsIdempotencyIgnoresTheBoundary() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let parts: [FormPart] = [
                .text("prompt", "a red fox"), .text("model", Self.imageModel),
                .file("input_reference", startPNG, filename: "fox.png", contentType: "image/png"),
            ]
            func send(_ parts: [FormPart], boundary: String) async throws -> TestResponse {
                let (contentType, body) = multipartBody(parts, boundary: boundary)
                var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: contentType]
                headers[.init("Idempotency-Key")!] = "form-once"
                return try await client.execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            }
            let first = try await send(parts, boundary: "boundary-one-\(Identifier.randomBase62(12))")
            let id = try #require(try first.json()["id"] as? String, "\(first.text)")
            let again = try await send(parts, boundary: "boundary-two-\(Identifier.randomBase62(12))")
            #expect(again.status == .ok)
            #expect(again.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(try again.json()["id"] as? String == id)

            // A different field, or different file bytes, under the same key: 409.
            var otherPrompt = parts
            otherPrompt[0] = .text("prompt", "a blue fox")
            try await send(otherPrompt, boundary: "b3").expectOpenAIError(409, "idempotency_conflict")
            var otherFile = parts
            var bytes = startPNG
            bytes.append(0)
            otherFile[2] = .file("input_reference", bytes, filename: "fox.png", contentType: "image/png")
            try await send(otherFile, boundary: "b4").expectOpenAIError(409, "idempotency_conflict")
            #expect(try await gateway.store.jobs(accountID: account.id, status: nil, limit: 10, before: nil).count == 1)
        }
    }
}

extension TestResponse {
    func expectStatus(_ code: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(status.code == code, "\(text)", sourceLocation: sourceLocation)
    }
}
