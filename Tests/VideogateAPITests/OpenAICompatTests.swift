import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import VideogateApp
import VideogateDomain
import VideogateStorage

@Suite("/v1/videos, the OpenAI-compatible surface")
struct OpenAICompatTests {
    @Test func multipartCreateWithoutAFileIsAQueuedVideoAndAJobOfV1Video() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let response = try await client.createVideo(
                key: key, [.text("prompt", "a red fox in snow"), .text("model", "sora-2"), .text("seconds", "8"), .text("size", "1280x720")])
            #expect(response.status == .ok, "\(response.text)")
            let video = try response.json()
            let id = try #require(video["id"] as? String)
            #expect(Identifier.isWellFormed(id, prefix: "req"))
            #expect(video["object"] as? String == "video")
            #expect(video["status"] as? String == "queued")
            #expect(video["model"] as? String == "sora-2")
            #expect(video["progress"] as? Int == 0)
            #expect(video["seconds"] as? String == "8")
            #expect(video["size"] as? String == "1280x720")
            #expect(video["prompt"] as? String == "a red fox in snow")
            let created = try #require(video["created_at"] as? Int)
            #expect(abs(Double(created) - Date().timeIntervalSince1970) < 60)
            for field in ["completed_at", "expires_at", "error", "remixed_from_video_id"] {
                #expect(video[field] is NSNull, "\(field) is present and null")
            }
            #expect(response.headers[.init("X-RateLimit-Remaining")!] == "999")

            // The same job on /v1/video, held once.
            let job = try await client.get("/v1/video/\(id)", key: key).json()
            #expect(job["status"] as? String == "pending")
            #expect(job["aspect_ratio"] as? String == "16:9")
            #expect(job["duration"] as? Int == 8)
            #expect(job["mode"] as? String == "text-to-video")
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 10_000, held: 3500))
            let listed = try await client.get("/v1/video", key: key).json()["data"] as? [[String: Any]]
            #expect(listed?.compactMap { $0["request_id"] as? String } == [id])
        }
    }

    /// The SDK sends raw bytes as a file part with no usable name or type: the image is recognised by its bytes.
    @Test(arguments: [(nil, nil), ("upload", "application/octet-stream"), ("start.png", "image/png")] as [(String?, String?)])
    func multipartCreateWithAnImageIsImageToVideo(filename: String?, contentType: String?) async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let response = try await client.createVideo(
                key: key,
                [
                    .text("prompt", "the fox runs"), .text("model", "kling-v2.5-turbo-pro-i2v"), .text("seconds", "10"),
                    .file("input_reference", startPNG, filename: filename, contentType: contentType),
                ])
            #expect(response.status == .ok, "\(response.text)")
            let id = try #require(try response.json()["id"] as? String)
            let job = try #require(try await gateway.store.job(id: id, accountID: account.id, environment: .test))
            #expect(job.mode == .imageToVideo && job.duration == 10)
            let imageKey = try #require(job.imageKey)
            #expect(try await gateway.gateway.services.blobs.head(key: imageKey)?.contentType == "image/png")
        }
    }

    @Test func anImageForATextToVideoModelIsIgnoredAsOnV1Video() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let response = try await client.createVideo(
                key: key, [.text("prompt", "p"), .text("model", "sora-2"), .file("input_reference", startPNG)])
            let id = try #require(try response.json()["id"] as? String)
            let job = try #require(try await gateway.store.job(id: id, accountID: account.id, environment: .test))
            #expect(job.mode == .textToVideo && job.imageKey == nil)
        }
    }

    @Test func jsonCreateTakesSecondsAsStringOrIntegerAndAnImageReference() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let text = try await client.createVideo(key: key, json: #"{"prompt":"p","model":"sora-2","seconds":"12","size":"720x1280"}"#).json()
            #expect(text["seconds"] as? String == "12" && text["size"] as? String == "720x1280")
            let number = try await client.createVideo(key: key, json: #"{"prompt":"p","model":"sora-2","seconds":8}"#).json()
            #expect(number["seconds"] as? String == "8")
            let image = try await client.createVideo(
                key: key, json: #"{"prompt":"p","model":"veo3.1-i2v","input_reference":{"image_url":"data:image/png;base64,\#(startPNGBase64)"}}"#)
            #expect(image.status == .ok, "\(image.text)")
            let id = try #require(try image.json()["id"] as? String)
            #expect(try await gateway.store.job(id: id, accountID: account.id, environment: .test)?.mode == .imageToVideo)
        }
    }

    @Test func withoutModelSizeOrSecondsOpenAIsDefaultsApply() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let video = try await client.createVideo(key: key, [.text("prompt", "p")]).json()
            #expect(video["model"] as? String == "sora-2")
            #expect(video["seconds"] as? String == "4")
            #expect(video["size"] as? String == "720x1280")
        }
    }

    /// `size` → aspect ratio; a ratio the model lacks falls back to its default, and `size` shows what is rendered.
    @Test(arguments: [
        ("1280x720", "sora-2", "16:9", "1280x720"), ("1792x1024", "veo3.1", "16:9", "1280x720"), ("720x1280", "veo3.1", "9:16", "720x1280"),
        ("1024x1792", "sora-2-pro", "9:16", "720x1280"), ("1024x1024", "kling-v2.5-turbo-pro", "1:1", "720x720"),
        ("720x720", "wan-2.5", "1:1", "720x720"), ("1920x1080", "seedance-v1.5-pro-t2v", "16:9", "1280x720"),
        ("720x720", "sora-2", "16:9", "1280x720"), ("9:16", "kling-v2.6-pro", "9:16", "720x1280"),
    ])
    func sizeMapsOntoAspectRatios(size: String, model: String, ratio: String, shown: String) async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let video = try await client.createVideo(key: key, [.text("prompt", "p"), .text("model", model), .text("size", size)]).json()
            #expect(video["size"] as? String == shown)
            let id = try #require(video["id"] as? String)
            #expect(try await client.get("/v1/video/\(id)", key: key).json()["aspect_ratio"] as? String == ratio)
        }
    }

    /// An SDK that waits `openai-poll-after-ms` after every answer is never refused by the poll throttle.
    @Test func pollingAtThePollAfterPaceIsNeverThrottled() async throws {
        let clock = ManualClock()
        let gateway = try await TestGateway.make(pollInterval: 5, clock: clock)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: key)
            for _ in 0..<20 {
                let response = try await client.get("/v1/videos/\(id)", key: key)
                #expect(response.status == .ok, "\(response.text)")
                let wait = try #require(response.headers[.init("openai-poll-after-ms")!].flatMap(Int.init))
                #expect(wait == 5000)
                clock.advance(by: Double(wait) / 1000)
            }
            // Faster than that, the burst runs out: 429 in this surface's format, with Retry-After.
            var last = try await client.get("/v1/videos/\(id)", key: key)
            for _ in 0..<3 where last.status == .ok { last = try await client.get("/v1/videos/\(id)", key: key) }
            try last.expectOpenAIError(429, "polling_too_frequent", type: "rate_limit_error")
            #expect(last.headers[.retryAfter] != nil)
        }
    }

    @Test func listPagesWithAfterLimitAndOrder() async throws {
        let gateway = try await TestGateway.make()
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            var created: [String] = []
            for _ in 0..<5 {
                created.append(try await client.createdVideoID(key: key))
                try await Task.sleep(for: .milliseconds(3))
            }
            for (order, expected) in [("desc", Array(created.reversed())), ("asc", created)] {
                var seen: [String] = []
                var after: String?
                var pages = 0
                while pages < 10 {
                    let query = "/v1/videos?limit=2&order=\(order)" + (after.map { "&after=\($0)" } ?? "")
                    let page = try await client.get(query, key: key).json()
                    #expect(page["object"] as? String == "list")
                    let ids = (page["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                    #expect(page["first_id"] as? String == ids.first && page["last_id"] as? String == ids.last)
                    seen += ids
                    pages += 1
                    guard page["has_more"] as? Bool == true else { break }
                    after = page["last_id"] as? String
                }
                #expect(seen == expected, "order \(order)")
                #expect(pages == 3)
            }
            let all = try await client.get("/v1/videos", key: key).json()
            #expect((all["data"] as? [Any])?.count == 5 && all["has_more"] as? Bool == false)
            let empty = try await client.get("/v1/videos?order=asc&after=\(created[4])", key: key).json()
            #expect((empty["data"] as? [Any])?.isEmpty == true && empty["first_id"] is NSNull && empty["last_id"] is NSNull)
        }
    }

    @Test func completedVideoServesVideoAndThumbnailAndIsChargedOnce() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 50)
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: key)
            let video = try await client.waitForVideo(id, key: key)
            #expect(video["status"] as? String == "completed")
            #expect(video["progress"] as? Int == 100)
            let completed = try #require(video["completed_at"] as? Int)
            #expect(video["expires_at"] as? Int == completed + 86_400)
            #expect(video["error"] is NSNull)

            let mp4 = try await client.get("/v1/videos/\(id)/content", key: key, headers: [.accept: "application/binary"])
            #expect(mp4.status == .ok && mp4.headers[.contentType] == "video/mp4")
            #expect(Data(mp4.body.readableBytesView).dropFirst(4).prefix(4) == Data("ftyp".utf8))
            let same = try await client.get("/v1/video/\(id)/content", key: key)
            #expect(same.body == mp4.body)
            let thumbnail = try await client.get("/v1/videos/\(id)/content?variant=thumbnail", key: key)
            #expect(thumbnail.status == .ok && thumbnail.headers[.contentType] == "image/jpeg")
            #expect(Array(thumbnail.body.readableBytesView.prefix(2)) == [0xFF, 0xD8])

            let etag = try #require(mp4.headers[.eTag])
            let partial = try await client.get("/v1/videos/\(id)/content?variant=video", key: key, headers: [.range: "bytes=0-9"])
            #expect(partial.status == .partialContent && partial.body.readableBytes == 10)
            #expect(try await client.get("/v1/videos/\(id)/content", key: key, headers: [.ifNoneMatch: etag]).status == .notModified)
            var head: HTTPFields = [.authorization: "Bearer \(key)"]
            head[.range] = "bytes=0-0"
            let headResponse = try await client.execute(uri: "/v1/videos/\(id)/content", method: .head, headers: head)
            #expect(headResponse.status == .partialContent && headResponse.body.readableBytes == 0)
            let beyond = try await client.get("/v1/videos/\(id)/content", key: key, headers: [.range: "bytes=99999999-"])
            try beyond.expectOpenAIError(416, "range_not_satisfiable")
            #expect(beyond.headers[.contentRange]?.hasPrefix("bytes */") == true)
            try await client.get("/v1/videos/\(id)/content?variant=spritesheet", key: key).expectOpenAIError(404, "not_found", param: "variant")
            try await client.get("/v1/videos/\(id)/content?variant=poster", key: key).expectOpenAIError(400, "invalid_parameter", param: "variant")

            // One hold, one capture; visible as completed on /v1/video; one request counted.
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 8_500, held: 0))
            let kinds = try await gateway.store.ledger(accountID: account.id, limit: 10, before: nil).filter { $0.jobID == id }.map(\.kind)
            #expect(kinds == [.capture, .hold])
            #expect(try await client.get("/v1/video/\(id)", key: key).json()["status"] as? String == "completed")
            let used = (try await client.get("/v1/account", key: key).json()["account"] as? [String: Any])?["used"] as? Int
            #expect(used == 1)
        }
    }

    @Test func aFailedVideoCarriesItsErrorAndReleasesTheHold() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 20)
        let (account, key, _) = try await gateway.account(credits: 3000)
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: key, prompt: "[sandbox:policy] no")
            let video = try await client.waitForVideo(id, key: key)
            #expect(video["status"] as? String == "failed" && video["progress"] as? Int == 100)
            #expect((video["error"] as? [String: Any])?["code"] as? String == "content_policy_violation")
            #expect(video["completed_at"] is Int && video["expires_at"] is NSNull)
            try await client.get("/v1/videos/\(id)/content", key: key).expectOpenAIError(404, "not_found")
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 3000, held: 0))
        }
    }

    @Test func deleteRefusesAnUnfinishedVideo() async throws {
        let gateway = try await TestGateway.make()  // no workers: the job stays queued
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try await client.createdVideoID(key: key)
            let refused = try await client.deleteVideo(id, key: key)
            try refused.expectOpenAIError(409, "video_not_finished")
            #expect(refused.headers[.init("x-should-retry")!] == "false")
            #expect(try await client.get("/v1/videos/\(id)", key: key).status == .ok)
            #expect(try await gateway.store.balances(accountID: account.id)[.test]?.held == 1500)
        }
    }

    @Test func deleteRemovesTheFilesAndHidesTheVideoFromThisSurfaceOnly() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 20)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let kept = try await client.createdVideoID(key: key)
            let id = try await client.createdVideoID(key: key)
            let failed = try await client.createdVideoID(key: key, prompt: "[sandbox:error]")
            for video in [kept, id, failed] { _ = try await client.waitForVideo(video, key: key) }
            let videos = gateway.directory.appendingPathComponent("videos")
            #expect(FileManager.default.fileExists(atPath: videos.appendingPathComponent("\(id).mp4").path))

            let deleted = try await client.deleteVideo(id, key: key)
            #expect(deleted.status == .ok, "\(deleted.text)")
            let body = try deleted.json()
            #expect(body["id"] as? String == id && body["object"] as? String == "video.deleted" && body["deleted"] as? Bool == true)
            #expect(!FileManager.default.fileExists(atPath: videos.appendingPathComponent("\(id).mp4").path))
            #expect(!FileManager.default.fileExists(atPath: videos.appendingPathComponent("\(id).jpg").path))
            #expect(try await client.deleteVideo(failed, key: key).status == .ok)

            try await client.get("/v1/videos/\(id)", key: key).expectOpenAIError(404, "not_found")
            try await client.get("/v1/videos/\(id)/content", key: key).expectOpenAIError(404, "not_found")
            try await client.deleteVideo(id, key: key).expectOpenAIError(404, "not_found")
            let listed = (try await client.get("/v1/videos", key: key).json()["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(listed == [kept])
            // Still a job on /v1/video, whose files are gone.
            #expect(try await client.get("/v1/video/\(id)", key: key).json()["status"] as? String == "completed")
            try await client.get("/v1/video/\(id)/content", key: key).expectError(410, "expired")
            #expect(try await client.get("/v1/videos/\(kept)/content", key: key).status == .ok)
        }
    }

    @Test func anIdempotentReplayCreatesNothing() async throws {
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let (contentType, body) = multipartBody([.text("prompt", "p"), .text("model", "sora-2")])
            var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: contentType]
            headers[.init("Idempotency-Key")!] = "once"
            let first = try await client.execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            let again = try await client.execute(uri: "/v1/videos", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(again.headers[.init("Idempotent-Replayed")!] == "true")
            #expect(try first.json()["id"] as? String == (try again.json()["id"] as? String))
            #expect(try await gateway.store.balances(accountID: account.id)[.test]?.held == 3500)
        }
    }
}
