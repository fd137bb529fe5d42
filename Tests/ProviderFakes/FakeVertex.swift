import Crypto
import Foundation
import Hummingbird
import Synchronization
import _CryptoExtras

/// Veo on Vertex AI as documented (`docs/providers/vertex.md`), with Google's OAuth2 token endpoint
/// and the Cloud Storage JSON API download of a result:
/// - `POST /token`: a form `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT`,
///   the JWT checked like Google does (RS256 signature against the service account's public key,
///   `kid`, `iss`, `scope`, `aud` = this URL, `iat`, `exp` at most an hour later and not past);
///   answers `{"access_token", "expires_in", "token_type": "Bearer"}` or 400 `invalid_grant`.
/// - `POST /v1/projects/{p}/locations/{l}/publishers/google/models/{model}:predictLongRunning` and
///   `:fetchPredictOperation` (`{"operationName"}`), both with `Authorization: Bearer` of an issued token.
/// - `GET /storage/v1/b/{bucket}/o/{object}?alt=media` (object percent-encoded as one segment), same token.
///
/// The service account's RSA key is made when the fake is (never committed); `serviceAccountJSON`
/// writes its key file.
public final class FakeVertex: Sendable {
    /// How a finished operation hands over its video.
    public enum Delivery: Sendable {
        /// `videos[0].gcsUri` naming an object served at `/storage/v1/...`.
        case gcsURI
        /// `videos[0].bytesBase64Encoded`.
        case bytes
    }

    public let project: String
    public let location: String
    public let clientEmail = "videogate-test@fake-project.iam.gserviceaccount.com"
    public let privateKeyID = "fake-key-0123456789abcdef"
    public let bucket = "fake-veo-bucket"
    let privateKey: _RSA.Signing.PrivateKey

    struct State {
        var delivery = Delivery.bytes
        var issued: Set<String> = []
        var grants = 0
        var tokenLifetime = 3599
        var refuseGrants = false
        var grantFaults: [Int] = []
    }
    let state = Mutex(State())

    public init(project: String = "fake-project", location: String = "us-central1") throws {
        self.project = project
        self.location = location
        self.privateKey = try _RSA.Signing.PrivateKey(keySize: .bits2048)
    }

    // MARK: scripting and inspection

    /// How finished operations deliver their video from now on.
    public func deliver(_ delivery: Delivery) { state.withLock { $0.delivery = delivery } }
    /// `expires_in` of the tokens issued from now on.
    public func tokenLifetime(_ seconds: Int) { state.withLock { $0.tokenLifetime = seconds } }
    /// Refuses every grant with 400 `invalid_grant` (a deleted or disabled key).
    public func refuseGrants(_ refuse: Bool = true) { state.withLock { $0.refuseGrants = refuse } }
    /// Answers the next grants with these statuses (Google's error body), once each.
    public func failGrants(_ statuses: [Int]) { state.withLock { $0.grantFaults += statuses } }
    /// Forgets every issued token: the API answers 401 to them (a token that expired).
    public func revokeTokens() { state.withLock { $0.issued = [] } }
    /// Tokens issued so far.
    public var grants: Int { state.withLock { $0.grants } }

    /// A service-account key file for this fake's account, whose `token_uri` is `tokenURI`.
    public func serviceAccountJSON(tokenURI: String) -> Data {
        let object: [String: Any] = [
            "type": "service_account", "project_id": project, "private_key_id": privateKeyID, "private_key": privateKey.pemRepresentation,
            "client_email": clientEmail, "client_id": "100000000000000000001", "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": tokenURI,
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    // MARK: routes

    /// Registers the token, Vertex AI and Cloud Storage routes.
    public func routes(_ router: Router<BasicRequestContext>, _ fake: FakeUpstream) {
        router.post("/token") { request, context in
            let body = try await FakeUpstream.body(request, context: context)
            _ = fake.record(request, body: body, call: .create)
            return self.grant(request: request, body: body, fake: fake)
        }
        router.post("/v1/projects/{project}/locations/{location}/publishers/google/models/{model}") { request, context in
            let body = try await FakeUpstream.body(request, context: context)
            let action = (context.parameters.get("model") ?? "").split(separator: ":", maxSplits: 1).map(String.init)
            let call: FakeUpstream.Call = action.last == "fetchPredictOperation" ? .status : .create
            if let fault = fake.record(request, body: body, call: call) { return FakeUpstream.play(fault, error: FakeVeo.errorBody) }
            if let refusal = self.authRefusal(request, fake) { return refusal }
            guard context.parameters.get("project") == self.project, context.parameters.get("location") == self.location else {
                fake.violation("vertex: project or location differs from the credential's")
                return FakeVeo.error(404, "NOT_FOUND", "Project or location not found.")
            }
            guard action.count == 2, Self.models.contains(action[0]) else {
                fake.violation("vertex: model path \(action.first ?? "") is not a Vertex Veo 3.1 model")
                return FakeVeo.error(404, "NOT_FOUND", "Publisher Model was not found.")
            }
            let resource = "projects/\(self.project)/locations/\(self.location)/publishers/google/models/\(action[0])"
            switch action[1] {
            case "predictLongRunning": return self.create(resource: resource, request: request, body: body, fake: fake)
            case "fetchPredictOperation": return self.operation(resource: resource, body: body, fake: fake)
            default:
                fake.violation("vertex: unknown method \(action[1])")
                return FakeVeo.error(404, "NOT_FOUND", "The requested URL was not found on this server.")
            }
        }
        router.get("/storage/v1/b/{bucket}/o/**") { request, context in
            _ = fake.record(request, body: Data(), call: .content)
            if let refusal = self.authRefusal(request, fake) { return refusal }
            let raw = request.uri.string
            guard let range = raw.range(of: "/o/"), request.uri.queryParameters.get("alt") == "media" else {
                fake.violation("gcs: not /b/{bucket}/o/{object}?alt=media")
                return FakeVeo.error(400, "INVALID_ARGUMENT", "Download requires alt=media.")
            }
            let encoded = raw[range.upperBound...].prefix { $0 != "?" }
            guard !encoded.contains("/"), let object = String(encoded).removingPercentEncoding else {
                fake.violation("gcs: the object name is not one percent-encoded segment")
                return FakeVeo.error(404, "NOT_FOUND", "No such object.")
            }
            guard context.parameters.get("bucket") == self.bucket, fake.tasks.contains(where: { Self.objectName($0.id) == object }) else {
                return FakeVeo.error(404, "NOT_FOUND", "No such object: \(context.parameters.get("bucket") ?? "")/\(object)")
            }
            return Response(status: .ok, headers: [.contentType: "video/mp4"], body: .init(byteBuffer: ByteBuffer(bytes: fake.video)))
        }
    }

    /// Vertex AI's Veo 3.1 model ids.
    static let models: Set<String> = [
        "veo-3.1-generate-001", "veo-3.1-fast-generate-001", "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview",
    ]

    static func objectName(_ operation: String) -> String { "videos/\(operation.split(separator: "/").last ?? "")/sample_0.mp4" }

    func create(resource: String, request: Request, body: Data, fake: FakeUpstream) -> Response {
        if let problem = Self.checkCreate(request: request, body: body) {
            fake.violation("vertex create: \(problem)")
            return FakeVeo.error(400, "INVALID_ARGUMENT", problem)
        }
        if fake.createRefusedForPolicy {
            return FakeVeo.error(
                400, "INVALID_ARGUMENT", "The prompt could not be submitted: it violates Vertex AI's usage guidelines (safety filters).")
        }
        let instance = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["instances"] as? [[String: Any]]
        let task = fake.createTask(prefix: "\(resource)/operations/0c1d2e3f-", mode: instance?.first?["image"] == nil ? "t2v" : "i2v")
        return FakeUpstream.json(.ok, ["name": task.id])
    }

    func operation(resource: String, body: Data, fake: FakeUpstream) -> Response {
        let json = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        guard let json, json.count == 1, let name = json["operationName"] as? String, name.hasPrefix(resource + "/operations/") else {
            fake.violation("vertex fetchPredictOperation: body is not {\"operationName\"} of this model's operation")
            return FakeVeo.error(400, "INVALID_ARGUMENT", "operationName is required.")
        }
        var operation: [String: Any] = ["name": name, "done": true]
        let type = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
        switch fake.advance(name) {
        case .running?: operation["done"] = false
        case .succeeded?:
            let video: [String: Any] =
                switch state.withLock({ $0.delivery }) {
                case .gcsURI: ["gcsUri": "gs://\(bucket)/\(Self.objectName(name))", "mimeType": "video/mp4"]
                case .bytes: ["bytesBase64Encoded": fake.video.base64EncodedString(), "mimeType": "video/mp4"]
                }
            operation["response"] = ["@type": type, "raiMediaFilteredCount": 0, "videos": [video]]
        case .failed?: operation["error"] = ["code": 13, "message": "Internal error encountered."]
        case .refused?:
            let reasons = [
                "Unable to generate videos because the prompt may violate Vertex AI's usage guidelines (safety filters). Support codes: 58061214"
            ]
            operation["response"] = ["@type": type, "raiMediaFilteredCount": 1, "raiMediaFilteredReasons": reasons]
        case nil: return FakeVeo.error(404, "NOT_FOUND", "Operation \(name) not found.")
        }
        return FakeUpstream.json(.ok, operation)
    }

    /// Google's 401 for a missing, unknown or expired Bearer token.
    func authRefusal(_ request: Request, _ fake: FakeUpstream) -> Response? {
        guard let header = FakeUpstream.header(request, "authorization"), header.hasPrefix("Bearer ") else {
            fake.violation("vertex auth: no Bearer token")
            return FakeVeo.error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
        }
        let token = String(header.dropFirst("Bearer ".count))
        guard state.withLock({ $0.issued.contains(token) }) else {
            return FakeVeo.error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        }
        return nil
    }
}
