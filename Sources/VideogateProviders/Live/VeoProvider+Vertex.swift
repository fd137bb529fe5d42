import Foundation
import NIOHTTP1
import VideogateDomain

/// Google Veo through Vertex AI (`docs/providers/vertex.md`), for credentials on the route `vertex`.
///
/// - Auth: `Authorization: Bearer` with an OAuth2 access token of the credential's service account
///   (`VertexAccess`).
/// - Create: `POST {base}/projects/{project}/locations/{location}/publishers/google/models/{model}:predictLongRunning`
///   with `{"instances": [{"prompt", "image"?: {"bytesBase64Encoded", "mimeType"}}], "parameters":
///   {"aspectRatio", "durationSeconds", "sampleCount": 1, "generateAudio": true}}`. No `storageUri` is
///   sent, so Vertex answers with the video's bytes.
/// - The answer names an operation `projects/P/locations/L/publishers/google/models/M/operations/ID`,
///   polled with `POST {base}/{name before /operations/}:fetchPredictOperation` `{"operationName"}`
///   until `"done": true`: then `error` `{code, message}`, or `response.videos[0]` with `gcsUri` or
///   `bytesBase64Encoded` (and `mimeType`), or no videos with `raiMediaFilteredCount` /
///   `raiMediaFilteredReasons` (a safety refusal).
/// - Results: bytes are decoded from the operation (whose answer is read up to `vertexBodyLimit`);
///   a `gs://bucket/object` is downloaded through the Cloud Storage JSON API with the same token.
extension VeoProvider {
    /// Largest operation answer read: an inline video of up to about 190 MiB, base64-encoded.
    static let vertexBodyLimit = 256 << 20

    /// Vertex AI's id of a catalog model: the GA ids of the Gemini API's Veo 3.1 previews.
    public static func vertexModel(_ upstreamModel: String) -> String {
        switch upstreamModel {
        case "veo-3.1-generate-preview": "veo-3.1-generate-001"
        case "veo-3.1-fast-generate-preview": "veo-3.1-fast-generate-001"
        default: upstreamModel
        }
    }

    /// The Cloud Storage JSON API for a credential: Google's, when the base URL is on googleapis.com;
    /// otherwise the base URL's own origin with `/storage/v1` (a proxy or fake that serves both).
    public static func storageBaseURL(for credential: ProviderCredential) -> String {
        guard let components = URLComponents(string: credential.baseURL), let host = components.host?.lowercased(),
            host != "googleapis.com", !host.hasSuffix(".googleapis.com")
        else { return "https://storage.googleapis.com/storage/v1" }
        var origin = URLComponents()
        origin.scheme = components.scheme
        origin.host = components.host
        origin.port = components.port
        return (origin.string ?? "") + "/storage/v1"
    }

    struct VertexCreateBody: Encodable {
        struct Parameters: Encodable {
            let aspectRatio: String
            let durationSeconds: Int
            let sampleCount: Int
            let generateAudio: Bool
        }
        let instances: [CreateBody.Instance]
        let parameters: Parameters
    }

    struct VertexOperation: Decodable {
        struct Response: Decodable {
            struct Video: Decodable {
                let gcsUri: String?
                let bytesBase64Encoded: String?
                let mimeType: String?
            }
            let videos: [Video]?
            let raiMediaFilteredCount: Int?
            let raiMediaFilteredReasons: [String]?
        }
        let name: String?
        let done: Bool?
        let error: Operation.Failure?
        let response: Response?
    }

    func vertexAccess(_ credential: ProviderCredential) throws(ProviderFailure) -> VertexAccess {
        guard case .vertex(let access) = credential.auth else {
            throw .credentialRefused("the credential '\(credential.name)' is on the route vertex without a service account")
        }
        return access
    }

    func vertexHeaders(_ access: VertexAccess) async throws(ProviderFailure) -> HTTPHeaders {
        ["Authorization": "Bearer " + (try await access.accessToken(http: http)), "Content-Type": "application/json"]
    }

    func vertexSubmit(_ request: ProviderRequest, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderSubmission {
        let access = try vertexAccess(credential)
        var image: CreateBody.Instance.Image?
        if request.mode == .imageToVideo, let source = request.image {
            let (data, mediaType) = try await http.imageBytes(source, limits: ImageLimits.of(.veo), provider: .veo)
            image = .init(bytesBase64Encoded: data.base64EncodedString(), mimeType: mediaType)
        }
        let body = VertexCreateBody(
            instances: [.init(prompt: request.prompt, image: image)],
            parameters: .init(
                aspectRatio: request.aspectRatio == .portrait ? "9:16" : "16:9", durationSeconds: request.duration, sampleCount: 1,
                generateAudio: true))
        let model =
            "projects/\(escape(access.project))/locations/\(escape(access.location))/publishers/google/models/"
            + escape(Self.vertexModel(request.upstreamModel))
        let url = credential.baseURL + "/" + model + ":predictLongRunning"
        let response = try await http.send(.POST, url, headers: try await vertexHeaders(access), body: try encode(body))
        guard response.isSuccess else { throw vertexFailure(response, access: access) }
        guard let operation = try? JSONDecoder().decode(VertexOperation.self, from: response.body), let name = operation.name,
            name.contains("/operations/")
        else {
            throw .final(JobFailure(.providerError, "Vertex AI accepted the request without a readable operation name."))
        }
        return ProviderSubmission(providerJobID: name, providerRequestID: response.headers.first(name: "x-goog-request-id"))
    }

    func vertexPoll(_ handle: ProviderHandle, on credential: ProviderCredential) async throws(ProviderFailure) -> ProviderPoll {
        let access = try vertexAccess(credential)
        let name = handle.providerJobID
        guard let range = name.range(of: "/operations/") else {
            throw .final(JobFailure(.providerError, "The Vertex AI operation name '\(name)' names no model."))
        }
        let resource = name[..<range.lowerBound].split(separator: "/").map { escape(String($0)) }.joined(separator: "/")
        let body = try encode(["operationName": name])
        let response = try await http.send(
            .POST, credential.baseURL + "/" + resource + ":fetchPredictOperation", headers: try await vertexHeaders(access), body: body,
            maxBodyBytes: Self.vertexBodyLimit)
        guard response.isSuccess else { throw vertexFailure(response, access: access) }
        let operation = try response.decode(VertexOperation.self, provider: "Vertex AI")
        guard operation.done == true else { return .running(progress: nil) }
        if let error = operation.error {
            let message = error.message ?? "no message"
            if PolicyWords.mentionsPolicy(message) {
                return .failed(JobFailure(.contentPolicyViolation, "Veo refused the content: \(message)"))
            }
            return .failed(
                JobFailure(.providerError, "Veo failed the operation (\(error.status ?? error.code.map(String.init) ?? "error")): \(message)"))
        }
        let result = operation.response
        if let video = result?.videos?.first {
            if let uri = video.gcsUri, uri.hasPrefix("gs://") { return .succeeded(ProviderResult(videoURL: uri)) }
            if let bytes = video.bytesBase64Encoded, !bytes.isEmpty {
                return .succeeded(ProviderResult(videoURL: "data:\(video.mimeType ?? "video/mp4");base64,\(bytes)"))
            }
        }
        if (result?.raiMediaFilteredCount ?? 0) > 0 || !(result?.raiMediaFilteredReasons ?? []).isEmpty {
            let reasons = (result?.raiMediaFilteredReasons ?? []).joined(separator: " ")
            return .failed(
                JobFailure(.contentPolicyViolation, "Veo's safety filters removed the video: \(reasons.isEmpty ? "no reason given" : reasons)"))
        }
        return .failed(JobFailure(.providerError, "Veo finished the operation without a video."))
    }

    /// Writes the video of a finished operation: inline bytes decoded, or a `gs://` object downloaded
    /// through the Cloud Storage JSON API (`GET {storage}/b/{bucket}/o/{object}?alt=media`) with the
    /// credential's token, under the outbound rules.
    func vertexFetchResult(_ result: ProviderResult, to destination: URL, on credential: ProviderCredential) async throws(ProviderFailure) {
        guard let url = result.videoURL else { throw .retryable("no Vertex AI video to fetch", retryAfter: nil) }
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","), let data = Data(base64Encoded: String(url[url.index(after: comma)...])) else {
                throw .final(JobFailure(.providerError, "Vertex AI returned video bytes that are not base64."))
            }
            guard Int64(data.count) <= http.maxResultBytes else {
                throw .final(JobFailure(.providerError, "Vertex AI returned a result file larger than \(http.maxResultBytes) bytes."))
            }
            do {
                try data.write(to: destination)
            } catch {
                throw .retryable("writing the Vertex AI video failed: \(error)", retryAfter: nil)
            }
            return
        }
        let path = url.dropFirst("gs://".count)
        guard url.hasPrefix("gs://"), let slash = path.firstIndex(of: "/"), slash != path.startIndex, path.index(after: slash) != path.endIndex else {
            throw .final(JobFailure(.providerError, "Vertex AI returned a video URI that is not gs://bucket/object."))
        }
        let object = String(path[path.index(after: slash)...])
        // The object name is one path segment of the JSON API: its slashes are percent-encoded.
        let encoded = object.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? object
        let download = Self.storageBaseURL(for: credential) + "/b/" + escape(String(path[..<slash])) + "/o/" + encoded + "?alt=media"
        let token = try await vertexAccess(credential).accessToken(http: http)
        try await http.fetchResultFile(download, headers: [("Authorization", "Bearer " + token)], to: destination, provider: "Vertex AI")
    }

    /// Vertex AI's errors as Google formats them (`{"error": {code, message, status}}`). A 401 drops the
    /// cached token, so the next attempt makes a new grant.
    func vertexFailure(_ response: ProviderHTTP.Response, access: VertexAccess) -> ProviderFailure {
        let detail = (try? JSONDecoder().decode(ErrorBody.self, from: response.body))?.error
        if response.status == 400, PolicyWords.mentionsPolicy(detail?.message) {
            return .final(JobFailure(.contentPolicyViolation, "Veo refused the content: \(detail?.message ?? "")"))
        }
        if response.status == 401 { access.forgetToken() }
        return response.failure(provider: "Vertex AI", code: detail?.status, message: detail?.message)
    }
}
