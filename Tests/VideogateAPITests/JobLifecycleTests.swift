import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateProviders

@Suite("Jobs through the sandbox, end to end")
struct JobLifecycleTests {
    @Test func textToVideoCompletesWithARealPortraitMP4AndIsChargedOnce() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 300)
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let body = #"{"prompt":"a red fox in snow","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16"}"#
            let id = try #require(try await client.submit(key: key, json: body).json()["request_id"] as? String)
            var sawProcessing = false
            var final: [String: Any] = [:]
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                final = try await client.get("/v1/video/\(id)", key: key).json()
                if final["status"] as? String == "processing" { sawProcessing = true }
                if final["status"] as? String == "completed" || final["status"] as? String == "error" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(sawProcessing)
            #expect(final["status"] as? String == "completed")
            #expect(final["credits_used"] as? Int == 1500)
            #expect(final["progress"] == nil || final["progress"] as? Int == 100)
            let videoURL = try #require(final["video_url"] as? String)
            #expect(videoURL.hasPrefix("http://files.test/files/\(id).mp4?expires="))
            #expect((final["thumbnail_url"] as? String)?.contains("\(id).jpg") == true)

            // The MP4 itself, through the API and through the signed URL.
            let content = try await client.get("/v1/video/\(id)/content", key: key)
            #expect(content.status == .ok)
            #expect(content.headers[.contentType] == "video/mp4")
            let file = gateway.directory.appendingPathComponent("check.mp4")
            try Data(content.body.readableBytesView).write(to: file)
            let info = try await MediaProbe().inspect(file)
            #expect(info.codec == "h264")
            #expect(info.height > info.width)
            #expect(abs(info.durationSeconds - 5) < 0.2)
            let signedPath = String(videoURL.dropFirst("http://files.test".count))
            let signed = try await client.get(signedPath, key: nil)
            #expect(signed.status == .ok && signed.body.readableBytes == content.body.readableBytes)

            let balance = try await gateway.store.balances(accountID: account.id)[.test]
            #expect(balance == Balance(total: 8_500, held: 0))
            let ledger = try await gateway.store.ledger(accountID: account.id, limit: 10, before: nil)
            #expect(ledger.filter { $0.jobID == id }.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [.capture, .hold])
        }
    }

    @Test(arguments: [("[sandbox:error] boom", "provider_error"), ("please [sandbox:policy]", "content_policy_violation")])
    func failingRendersReleaseTheHold(prompt: String, code: String) async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 50)
        let (account, key, _) = try await gateway.account(credits: 3000)
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"\#(prompt)","model":"kling-v2.5-turbo-pro"}"#).json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key)
            #expect(final["status"] as? String == "error")
            #expect((final["error"] as? [String: Any])?["code"] as? String == code)
            #expect(final["credits_used"] as? Int == 0)
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 3000, held: 0))
            let kinds = try await gateway.store.ledger(accountID: account.id, limit: 10, before: nil).filter { $0.jobID == id }.map(\.kind)
            #expect(kinds == [.release, .hold])
            try await client.get("/v1/video/\(id)/content", key: key).expectError(404, "not_found")
        }
    }

    @Test func jobPastItsDeadlineEndsInTimeoutAndReleases() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 60_000, jobTimeout: 1)
        let (account, key, _) = try await gateway.account(credits: 5000)
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"slow","model":"sora-2"}"#).json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key, timeout: .seconds(30))
            #expect((final["error"] as? [String: Any])?["code"] as? String == "timeout")
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 5000, held: 0))
        }
    }

    @Test func rangeHeadETagAndSignedURLRules() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 0)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"r","model":"sora-2"}"#).json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key)
            let full = try await client.get("/v1/video/\(id)/content", key: key)
            let size = full.body.readableBytes
            let etag = try #require(full.headers[.eTag])
            #expect(full.headers[.acceptRanges] == "bytes")

            let partial = try await client.get("/v1/video/\(id)/content", key: key, headers: [.range: "bytes=0-99"])
            #expect(partial.status == .partialContent)
            #expect(partial.headers[.contentRange] == "bytes 0-99/\(size)")
            #expect(partial.body.readableBytes == 100)
            #expect(Data(partial.body.readableBytesView) == Data(full.body.readableBytesView.prefix(100)))
            let suffix = try await client.get("/v1/video/\(id)/content", key: key, headers: [.range: "bytes=-10"])
            #expect(suffix.body.readableBytes == 10)
            try await client.get("/v1/video/\(id)/content", key: key, headers: [.range: "bytes=\(size + 10)-"]).expectError(416, "range_not_satisfiable")
            let notModified = try await client.get("/v1/video/\(id)/content", key: key, headers: [.ifNoneMatch: etag])
            #expect(notModified.status == .notModified)

            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(key)"
            let head = try await client.execute(uri: "/v1/video/\(id)/content", method: .head, headers: headers)
            #expect(head.status == .ok && head.body.readableBytes == 0 && head.headers[.contentLength] == String(size))

            let url = try #require(final["video_url"] as? String)
            let path = String(url.dropFirst("http://files.test".count))
            #expect(try await client.get(path, key: nil).status == .ok)
            try await client.get(path.replacingOccurrences(of: "signature=", with: "signature=A"), key: nil).expectError(403, "invalid_signature")
            try await client.get(path.replacingOccurrences(of: "expires=", with: "expires=1"), key: nil).expectError(403, "invalid_signature")
            let signer = gateway.gateway.services.signer
            let past = signer.url(base: "", fileID: "\(id).mp4", expires: Date(timeIntervalSinceNow: -10))
            try await client.get(past, key: nil).expectError(410, "expired")
        }
    }

    @Test func expiredResultsAreSweptAndAnswer410() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 0, videoTTL: 2) { config in config.sweepInterval = 0.2 }
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"e","model":"sora-2"}"#).json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key)
            #expect(final["status"] as? String == "completed")
            let path = String((final["video_url"] as? String ?? "").dropFirst("http://files.test".count))
            try await Task.sleep(for: .seconds(3))
            try await client.get("/v1/video/\(id)/content", key: key).expectError(410, "expired")
            try await client.get(path, key: nil).expectError(410, "expired")
            let video = gateway.directory.appendingPathComponent("videos/\(id).mp4")
            #expect(!FileManager.default.fileExists(atPath: video.path))
        }
    }
}
