import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// The result files: `GET /v1/video/{id}/content` (Bearer key) and `GET /files/{file_id}` (signed URL),
/// both with `Range`, `HEAD` (generated from GET) and `ETag` / `If-None-Match`.
struct ContentRoutes: Sendable {
    let services: GatewayServices
    /// Chunks a download writes before it waits for its connection's event loop to catch up.
    static let pacedChunks = 8

    func content(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.withRateLimitHeaders(request, jobID: context.parameters.get("id")) { principal, now in
            let job = try services.ownedJob(principal)
            guard job.status == .completed, let result = job.result else {
                throw GatewayError(.notFound, "The job has no video yet (status \(job.status.rawValue)).")
            }
            if job.resultDeleted || (job.expiresAt ?? now) <= now {
                throw GatewayError(.expired, "The video of this job has expired and was deleted.")
            }
            return try await serve(key: result.videoKey, request: request, context: context, expired: false)
        }
    }

    func signedFile(_ request: Request, context: AppRequestContext) async throws -> Response {
        let fileID = context.parameters.get("file_id") ?? ""
        let query = request.uri.queryParameters
        let now = services.clock.now()
        switch services.signer.verify(
            fileID: fileID, expires: query["expires"].map(String.init), signature: query["signature"].map(String.init), now: now)
        {
        case .invalid:
            throw GatewayError(.invalidSignature, "The link is not valid: its signature does not match.")
        case .expired:
            throw GatewayError(.expired, "The link has expired.")
        case .valid:
            break
        }
        guard ResultKeys.jobID(ofFileID: fileID) != nil else {
            throw GatewayError(.notFound, "No such file.")
        }
        return try await serve(key: fileID, request: request, context: context, expired: true)
    }

    /// Streams a stored object. A missing object behind a valid link has expired (410); a missing
    /// object of a completed job behind the API has been lost (404). Also serves `/v1/videos/{id}/content`.
    func serve(key: String, request: Request, context: AppRequestContext, expired: Bool) async throws -> Response {
        guard let info = try await services.blobs.head(key: key) else {
            if expired { throw GatewayError(.expired, "The file has expired and was deleted.") }
            throw GatewayError(.notFound, "No such file.")
        }
        var headers = HTTPFields()
        headers[.contentType] = info.contentType
        headers[.eTag] = info.etag
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = "private, max-age=3600"
        headers[.lastModified] = HTTPDate.format(info.modifiedAt)
        if let match = request.headers[.ifNoneMatch],
            match == "*" || match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == info.etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        var status = HTTPResponse.Status.ok
        var range: ClosedRange<Int64>? = nil
        switch ByteRangeRequest.parse(request.headers[.range], size: info.size) {
        case .full:
            break
        case .partial(let requested):
            // A Range with an If-Range that no longer matches gets the whole file.
            if let ifRange = request.headers[.ifRange], ifRange != info.etag { break }
            status = .partialContent
            range = requested
            headers[.contentRange] = "bytes \(requested.lowerBound)-\(requested.upperBound)/\(info.size)"
        case .unsatisfiable:
            headers[.contentRange] = "bytes */\(info.size)"
            return GatewayError(.rangeNotSatisfiable, "The requested range is outside the file of \(info.size) bytes.")
                .response(headers: headers, format: ErrorFormat(path: request.uri.path))
        }
        let length = range.map { $0.upperBound - $0.lowerBound + 1 } ?? info.size
        headers[.contentLength] = String(length)
        let blobs = services.blobs
        let readRange = range
        let eventLoop = context.eventLoop
        // Backpressure end to end: the writer waits while the client's connection is full, and
        // only then is the next chunk read, so a stalled client holds a few chunks, not the file.
        // The writer hands each chunk to the connection's event loop as a task and learns that the
        // connection is full only once the loop has run those tasks: while the loop is busy (100
        // fast clients on 2 cores) chunks piled up in its queue, 1 GB of them in 10 s. A round trip
        // through the loop every `pacedChunks` chunks keeps at most that many queued per download.
        // Where the store can, the object is opened before the answer starts: one deleted between
        // the HEAD above and this open is answered as missing, and one deleted after it is still
        // sent whole (a DELETE racing a download cut the body short after a 200 had gone out).
        let opened: BlobChunks?
        do {
            opened = try await blobs.open(key: key, range: readRange)
        } catch {
            guard try await blobs.head(key: key) == nil else { throw error }
            if expired { throw GatewayError(.expired, "The file has expired and was deleted.") }
            throw GatewayError(.notFound, "No such file.")
        }
        let body = ResponseBody(contentLength: Int(length)) { writer in
            func send(_ chunks: BlobChunks) async throws {
                var queued = 0
                for try await chunk in chunks {
                    try await writer.write(chunk)
                    queued += 1
                    if queued == Self.pacedChunks {
                        try await eventLoop.submit {}.get()
                        queued = 0
                    }
                }
            }
            if let opened {
                try await send(opened)
            } else {
                try await blobs.read(key: key, range: readRange) { chunks in try await send(chunks) }
            }
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }
}

/// IMF-fixdate for `Last-Modified`.
enum HTTPDate {
    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}
