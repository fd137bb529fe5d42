import AsyncHTTPClient
import Foundation
import Testing
@testable import VideogateApp
import VideogateDomain
@testable import VideogateStorage

enum S3Endpoint {
    static var url: String? {
        guard let value = ProcessInfo.processInfo.environment["VIDEOGATE_TEST_S3_ENDPOINT"], !value.isEmpty else { return nil }
        return value
    }
}

/// The gateway with its results in an S3-compatible bucket (`VIDEOGATE_TEST_S3_ENDPOINT`, the moto
/// server of `scripts/with-services`).
@Suite("Results in S3 storage", .enabled(if: S3Endpoint.url != nil))
struct S3StorageTests {

    @Test func completedJobLinksAPresignedS3URLAndTheSweeperDeletesTheResults() async throws {
        let endpoint = try #require(S3Endpoint.url)
        let bucket = "vg-api-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try await S3BlobStore(
            configuration: S3Configuration(
                bucket: bucket, endpoint: endpoint, pathStyle: true, credentials: .init(accessKeyID: "test", secretAccessKey: "test"))
        ).createBucket()
        let gateway = try await TestGateway.make(role: .all, videoTTL: 15) { config in
            config.storageURL = "s3://\(bucket)/results"
            config.s3 = .init(endpoint: endpoint, pathStyle: true, accessKeyID: "test", secretAccessKey: "test")
            config.sweepInterval = 0.5
        }
        let blobs = gateway.gateway.services.blobs
        #expect(blobs is S3BlobStore)
        let (_, key, _) = try await gateway.account()
        try await gateway.test { client in
            let id = try #require(try await client.submit(key: key, json: #"{"prompt":"to the bucket","model":"sora-2"}"#).json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key)
            #expect(final["status"] as? String == "completed")

            // video_url is presigned for the bucket and needs no credentials of ours.
            let videoURL = try #require(final["video_url"] as? String)
            #expect(videoURL.hasPrefix("\(endpoint)/\(bucket)/results/\(id).mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&"))
            #expect(videoURL.contains("X-Amz-Signature="))
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: videoURL), timeout: .seconds(30))
            #expect(response.status.code == 200)
            let video = Data(try await response.body.collect(upTo: 64 * 1024 * 1024).readableBytesView)
            #expect(video.count > 1000 && video[4..<8] == Data("ftyp".utf8), "an MP4 file")
            // The API's own content route reads the same bytes back from the bucket.
            let content = try await client.get("/v1/video/\(id)/content", key: key)
            #expect(content.status == .ok && Data(content.body.readableBytesView) == video)
            #expect(try await blobs.head(key: ResultKeys.video(jobID: id))?.size == Int64(video.count))

            // Past the TTL (15 s: long enough for the checks above on a loaded machine) the sweeper deletes the objects.
            let deadline = ContinuousClock.now + .seconds(60)
            while try await blobs.head(key: ResultKeys.video(jobID: id)) != nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await blobs.head(key: ResultKeys.video(jobID: id)) == nil, "the sweeper deleted the video")
            #expect(try await blobs.head(key: ResultKeys.thumbnail(jobID: id)) == nil, "and the thumbnail")
        }
    }
}

/// `VIDEOGATE_STORAGE_URL=s3://...` needs credentials and a bucket.
@Test func s3StorageWithoutCredentialsOrBucketIsAConfigurationError() throws {
    var config = AppConfiguration()
    config.storageURL = "s3://bucket/results"
    config.s3 = .init(endpoint: "http://127.0.0.1:9", pathStyle: true)
    let error = #expect(throws: ConfigurationError.self) { try openBlobStore(config) }
    #expect(error?.description.contains("AWS_ACCESS_KEY_ID") == true && error?.description.contains("AWS_SECRET_ACCESS_KEY") == true)
    config.s3.accessKeyID = "a"
    config.s3.secretAccessKey = "b"
    #expect(try openBlobStore(config) is S3BlobStore)
    config.storageURL = "s3:///results"
    #expect(throws: ConfigurationError.self) { try openBlobStore(config) }
    config.storageURL = "s3://bucket"
    config.s3.endpoint = "ftp://host"
    #expect(throws: ConfigurationError.self) { try openBlobStore(config) }
}
