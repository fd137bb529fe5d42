import AsyncHTTPClient
import Foundation
import NIOCore

extension S3BlobStore {
    /// CreateMultipartUpload, one streamed UploadPart per `partSize` bytes (a few at a time),
    /// CompleteMultipartUpload; AbortMultipartUpload when anything fails, so no parts linger.
    func multipartUpload(objectKey: String, file: URL, size: Int64, contentType: String) async throws {
        var create = S3Transport.Call(method: .POST, objectKey: objectKey, query: [("uploads", "")], headers: [("content-type", contentType)])
        create.payloadHash = SigV4Signer.emptyPayloadHash
        let created = try await transport.expectSuccess(create)
        let createdBody = Data(try await created.body.collect(upTo: 1024 * 1024).readableBytesView)
        guard let uploadID = S3XML.uploadID(createdBody) else {
            throw S3Error(operation: "CreateMultipartUpload \(objectKey)", status: 0, code: nil, message: "the answer has no UploadId")
        }
        do {
            let etags = try await uploadParts(objectKey: objectKey, uploadID: uploadID, file: file, size: size)
            try await completeUpload(objectKey: objectKey, uploadID: uploadID, etags: etags)
        } catch {
            var abort = S3Transport.Call(method: .DELETE, objectKey: objectKey, query: [("uploadId", uploadID)])
            abort.attempts = 2
            if let response = try? await transport.send(abort) { try? await Self.drain(response) }
            throw error
        }
    }

    /// Uploads every part, at most `parallelParts` at once; returns their ETags in part order.
    private func uploadParts(objectKey: String, uploadID: String, file: URL, size: Int64) async throws -> [String] {
        let count = Int((size + partSize - 1) / partSize)
        let parallelParts = 4
        return try await withThrowingTaskGroup(of: (Int, String).self) { group in
            var etags = [String](repeating: "", count: count)
            var next = 0
            func start() {
                let index = next
                next += 1
                let offset = Int64(index) * partSize
                let length = min(partSize, size - offset)
                group.addTask {
                    (index, try await uploadPart(objectKey: objectKey, uploadID: uploadID, number: index + 1, file: file, offset: offset, length: length))
                }
            }
            while next < min(parallelParts, count) { start() }
            while let (index, etag) = try await group.next() {
                etags[index] = etag
                if next < count { start() }
            }
            return etags
        }
    }

    private func uploadPart(objectKey: String, uploadID: String, number: Int, file: URL, offset: Int64, length: Int64) async throws -> String {
        let path = file.path
        var call = S3Transport.Call(method: .PUT, objectKey: objectKey, query: [("partNumber", String(number)), ("uploadId", uploadID)])
        // Streamed, so unsigned: see `put(key:from:contentType:)`.
        call.payloadHash = SigV4Signer.unsignedPayload
        call.body = { .stream(FileChunks(path: path, offset: offset, length: length), length: .known(length)) }
        call.timeout = Self.uploadTimeout(length)
        let response = try await transport.expectSuccess(call)
        try await Self.drain(response)
        guard let etag = response.headers.first(name: "etag") else {
            throw S3Error(operation: "UploadPart \(number) of \(objectKey)", status: 0, code: nil, message: "the answer has no ETag")
        }
        return etag
    }

    /// CompleteMultipartUpload; S3 may answer 200 with an `Error` document, which is a failure too.
    private func completeUpload(objectKey: String, uploadID: String, etags: [String]) async throws {
        let body = S3XML.completeMultipartUpload(etags)
        var call = S3Transport.Call(method: .POST, objectKey: objectKey, query: [("uploadId", uploadID)], headers: [("content-type", "application/xml")])
        call.payloadHash = SigV4Signer.sha256Hex(body)
        call.body = { .bytes(body) }
        call.timeout = .minutes(10)
        let response = try await transport.expectSuccess(call)
        let answer = Data(try await response.body.collect(upTo: 1024 * 1024).readableBytesView)
        if let error = S3XML.error(answer) {
            throw S3Error(operation: "CompleteMultipartUpload \(objectKey)", status: Int(response.status.code), code: error.code, message: error.message)
        }
    }
}

extension S3BlobStore {
    /// Creates the bucket (tests and first-time setup); an existing bucket of ours is fine.
    package func createBucket() async throws {
        var call = S3Transport.Call(method: .PUT, objectKey: nil)
        if configuration.region != "us-east-1" {
            let body = Data(
                (#"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>"#
                    + S3XML.escape(configuration.region) + "</LocationConstraint></CreateBucketConfiguration>").utf8)
            call.payloadHash = SigV4Signer.sha256Hex(body)
            call.body = { .bytes(body) }
        }
        let response = try await transport.send(call)
        if response.status.code / 100 == 2 { return try await Self.drain(response) }
        let failure = await S3Transport.failure("PUT bucket \(configuration.bucket)", response)
        if failure.code == "BucketAlreadyOwnedByYou" { return }
        throw failure
    }

    /// Object keys (with the prefix) under `prefix` of the bucket, first page of ListObjectsV2 only.
    package func listObjectKeys(prefix: String = "") async throws -> [String] {
        var call = S3Transport.Call(method: .GET, objectKey: nil, query: [("list-type", "2")])
        if !prefix.isEmpty { call.query.append(("prefix", prefix)) }
        let response = try await transport.expectSuccess(call)
        return S3XML.listedKeys(Data(try await response.body.collect(upTo: 16 * 1024 * 1024).readableBytesView))
    }
}
