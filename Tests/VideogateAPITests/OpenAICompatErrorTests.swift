import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain

/// Every error under `/v1/videos` has OpenAI's body, with the status the SDK maps to its exception classes.
@Suite("/v1/videos errors")
struct OpenAICompatErrorTests {
    @Test func badKeysAre401OnEveryRoute() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: key)
            for bad in [nil, "vg_test_" + String(repeating: "x", count: 40)] as [String?] {
                try await client.createVideo(key: bad, [.text("prompt", "p")]).expectOpenAIError(401, "invalid_api_key", type: "authentication_error")
                try await client.get("/v1/videos", key: bad).expectOpenAIError(401, "invalid_api_key", type: "authentication_error")
                try await client.get("/v1/videos/\(id)", key: bad).expectOpenAIError(401, "invalid_api_key", type: "authentication_error")
                try await client.get("/v1/videos/\(id)/content", key: bad).expectOpenAIError(401, "invalid_api_key", type: "authentication_error")
                try await client.deleteVideo(id, key: bad).expectOpenAIError(401, "invalid_api_key", type: "authentication_error")
            }
        }
    }

    @Test func unknownVideosRoutesAndMethodsAre404And405() async throws {
        let gateway = try await TestGateway.make()
        let (_, alice, _) = try await gateway.account()
        let (_, bob, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: alice)
            try await client.get("/v1/videos/\(id)", key: bob).expectOpenAIError(404, "not_found")
            try await client.get("/v1/videos/req_01JD0000000000000000000000", key: alice).expectOpenAIError(404, "not_found")
            try await client.get("/v1/videos/garbage/content", key: alice).expectOpenAIError(404, "not_found")
            try await client.deleteVideo(id, key: bob).expectOpenAIError(404, "not_found")
            try await client.get("/v1/videos/\(id)/content/more", key: alice).expectOpenAIError(404, "not_found")
            let put = try await client.execute(uri: "/v1/videos", method: .put, headers: [.authorization: "Bearer \(alice)"])
            try put.expectOpenAIError(405, "method_not_allowed")
            #expect(put.headers[.allow] == "GET, HEAD, POST")
            let patch = try await client.execute(uri: "/v1/videos/\(id)", method: .patch)
            try patch.expectOpenAIError(405, "method_not_allowed")
            #expect(patch.headers[.allow] == "DELETE, GET, HEAD")
            // Elsewhere our own body stays.
            try await client.get("/v1/videosx", key: alice).expectError(404, "not_found")
            try await client.get("/v1/video/\(id)", key: bob).expectError(404, "not_found")
        }
    }

    @Test func bodyChecksAre415Then413Then400() async throws {
        let gateway = try await TestGateway.make(maxBodyBytes: 4096)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "text/plain"]
            let plain = try await client.execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(string: "prompt=p"))
            try plain.expectOpenAIError(415, "unsupported_media_type")
            try await client.createVideo(key: key, [.text("prompt", "p"), .file("input_reference", Data(count: 5000))])
                .expectOpenAIError(413, "payload_too_large")
            headers[.contentType] = "multipart/form-data; boundary=abc"
            let truncated = try await client.execute(
                uri: "/v1/videos", method: .post, headers: headers,
                body: ByteBuffer(string: "--abc\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\np"))
            try truncated.expectOpenAIError(400, "invalid_json")
            headers[.contentType] = "multipart/form-data"
            let noBoundary = try await client.execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(string: "x"))
            try noBoundary.expectOpenAIError(400, "invalid_json")
            try await client.createVideo(key: key, json: "{not json").expectOpenAIError(400, "invalid_json")
            try await client.createVideo(key: key, json: #"{"prompt":"p","seconds":true}"#).expectOpenAIError(400, "invalid_json", param: "seconds")
        }
    }

    /// Field checks in api.md's order, with this surface's field names in `param`.
    @Test(arguments: [
        ([FormPart.text("model", "nope"), .text("size", "3x1")], "missing_prompt", "prompt"),
        ([.text("prompt", "p"), .text("model", "nope"), .text("size", "3x1")], "invalid_model", "model"),
        ([.text("prompt", "p"), .text("model", "veo3.1-i2v"), .text("size", "3x1")], "missing_image", "input_reference"),
        ([.text("prompt", "p"), .text("model", "veo3.1-i2v"), .file("input_reference", Data("not an image".utf8), filename: "a.png")],
         "invalid_image", "input_reference"),
        ([.text("prompt", "p"), .text("model", "sora-2"), .text("size", "640x480"), .text("seconds", "5")], "invalid_aspect_ratio", "size"),
        ([.text("prompt", "p"), .text("model", "sora-2"), .text("seconds", "5")], "invalid_duration", "seconds"),
        ([.text("prompt", "p"), .text("model", "sora-2"), .text("seconds", "four")], "invalid_duration", "seconds"),
        ([.text("prompt", "p"), .text("model", "veo3.1-i2v"), .text("input_reference[file_id]", "file_123")], "invalid_parameter", "input_reference"),
    ])
    func fieldChecksNameTheOpenAIField(parts: [FormPart], code: String, param: String) async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account(credits: 0)
        try await gateway.test { client in
            try await client.createVideo(key: key, parts).expectOpenAIError(400, code, param: param)
        }
    }

    @Test func creditsAndTheDailyLimitAre402And429AndCountLikeV1Video() async throws {
        let gateway = try await TestGateway.make()
        let (_, poor, _) = try await gateway.account(credits: 100)
        let (_, limited, _) = try await gateway.account(plan: .enterprise, dailyLimit: 2)
        try await gateway.test { client in
            try await client.createVideo(key: poor, [.text("prompt", "p")]).expectOpenAIError(402, "insufficient_credits", type: "insufficient_quota")
            // One through /v1/video and one refused here count: the third is over the limit, on both surfaces.
            #expect(try await client.submit(key: limited, json: #"{"prompt":"p","model":"sora-2"}"#).status == .ok)
            try await client.createVideo(key: limited, [.text("prompt", "p"), .text("model", "nope")]).expectOpenAIError(400, "invalid_model")
            let refused = try await client.createVideo(key: limited, [.text("prompt", "p")])
            try refused.expectOpenAIError(429, "rate_limit_exceeded", type: "rate_limit_error")
            #expect(refused.headers[.retryAfter] != nil && refused.headers[.init("X-RateLimit-Remaining")!] == "0")
            try await client.submit(key: limited, json: #"{"prompt":"p","model":"sora-2"}"#).expectError(429, "rate_limit_exceeded")
        }
    }

    @Test func badListParametersAre400() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            try await client.get("/v1/videos?order=newest", key: key).expectOpenAIError(400, "invalid_parameter", param: "order")
            try await client.get("/v1/videos?limit=0", key: key).expectOpenAIError(400, "invalid_parameter", param: "limit")
            try await client.get("/v1/videos?after=video_123", key: key).expectOpenAIError(400, "invalid_parameter", param: "after")
        }
    }
}
