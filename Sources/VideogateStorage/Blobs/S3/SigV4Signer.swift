import Crypto
import Foundation

/// AWS Signature Version 4: the `Authorization` header of a request, or the query of a presigned
/// URL. Pure and deterministic: the signing time is a parameter, so AWS's published examples can
/// be checked exactly. Paths given to it must already be URI-encoded the way they are sent
/// (`uriEncode(_:keepSlash: true)` for S3 keys); query names and values are given raw and encoded here.
public struct SigV4Signer: Sendable {
    /// An access key, its secret, and the session token of temporary credentials.
    public struct Credentials: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
        /// Sent as `x-amz-security-token` (header) or `X-Amz-Security-Token` (presigned query).
        public var sessionToken: String?
        public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// Every intermediate of one signature, for tests and diagnostics.
    public struct Signature: Sendable, Equatable {
        public var canonicalRequest: String
        public var stringToSign: String
        public var signedHeaders: String
        /// Lowercase hex HMAC.
        public var signature: String
        /// The `Authorization` header value (header signing only; empty for presigned URLs).
        public var authorization: String
    }

    public static let algorithm = "AWS4-HMAC-SHA256"
    /// `x-amz-content-sha256` of a body whose hash is not part of the signature.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty body.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// The longest validity S3 accepts for a presigned URL (7 days).
    public static let maximumPresignedExpiry = 604_800

    public var credentials: Credentials
    public var region: String
    public var service: String

    public init(credentials: Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs a request for the `Authorization` header. `headers` are every header to sign and must
    /// include `host` and `x-amz-date` (= `amzDate(date)`); repeated names are joined with commas
    /// in order, values are trimmed and runs of spaces collapsed.
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: Date
    ) -> Signature {
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(headers)
        let canonicalRequest = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash].joined(separator: "\n")
        let stringToSign = stringToSign(canonicalRequest: canonicalRequest, date: date)
        let signature = signature(of: stringToSign, date: date)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date)), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders, signature: signature,
            authorization: authorization)
    }

    /// The query string of a presigned URL (query signing, payload `UNSIGNED-PAYLOAD`, only `host`
    /// signed), valid `expires` seconds from `date`, ending in `X-Amz-Signature`. `host` is the
    /// Host header the client will send (`name:port` for a non-default port).
    public func presign(
        method: String, path: String, host: String, query: [(String, String)] = [], expires: Int, date: Date
    ) -> (query: String, signature: Signature) {
        var parameters = query
        parameters.append(("X-Amz-Algorithm", Self.algorithm))
        parameters.append(("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(date))"))
        parameters.append(("X-Amz-Date", Self.amzDate(date)))
        parameters.append(("X-Amz-Expires", String(min(max(expires, 1), Self.maximumPresignedExpiry))))
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        parameters.append(("X-Amz-SignedHeaders", "host"))
        let canonicalQuery = Self.canonicalQuery(parameters)
        let canonicalRequest = [method, path, canonicalQuery, "host:\(host)\n", "host", Self.unsignedPayload].joined(separator: "\n")
        let stringToSign = stringToSign(canonicalRequest: canonicalRequest, date: date)
        let signature = signature(of: stringToSign, date: date)
        return (
            "\(canonicalQuery)&X-Amz-Signature=\(signature)",
            Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: "host", signature: signature, authorization: "")
        )
    }

    func stringToSign(canonicalRequest: String, date: Date) -> String {
        [Self.algorithm, Self.amzDate(date), scope(date), Self.sha256Hex(Data(canonicalRequest.utf8))].joined(separator: "\n")
    }

    func signature(of stringToSign: String, date: Date) -> String {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [Self.dateStamp(date), region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
    }

    func scope(_ date: Date) -> String { "\(Self.dateStamp(date))/\(region)/\(service)/aws4_request" }

    // MARK: Canonical forms

    /// `name:value\n` lines sorted by lowercase name, and the `;`-joined names.
    static func canonicalHeaders(_ headers: [(String, String)]) -> (lines: String, names: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers { values[name.lowercased(), default: []].append(trimAll(value)) }
        let names = values.keys.sorted()
        let lines = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    /// Parameters URI-encoded, sorted by name then value, joined with `&`.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (uriEncode($0.0, keepSlash: false), uriEncode($0.1, keepSlash: false)) }
        // Encoded text is ASCII, so String order is byte order, as SigV4 asks.
        let sorted = encoded.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// SigV4 URI encoding: unreserved characters (`A-Z a-z 0-9 - . _ ~`) as they are, every other
    /// UTF-8 byte as `%XX` (uppercase); `/` kept when `keepSlash` (object key paths).
    public static func uriEncode(_ string: String, keepSlash: Bool) -> String {
        var encoded = ""
        encoded.reserveCapacity(string.utf8.count)
        for byte in string.utf8 {
            if isUnreserved(byte) || (keepSlash && byte == 0x2F) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return encoded
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        let upper = (0x41...0x5A).contains(byte)
        let lower = (0x61...0x7A).contains(byte)
        let digit = (0x30...0x39).contains(byte)
        return upper || lower || digit || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
    }

    /// Leading and trailing whitespace removed, inner runs of spaces and tabs made one space.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    // MARK: Dates and hashes

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        let c = utc(date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
    }

    /// `yyyyMMdd` in UTC.
    static func dateStamp(_ date: Date) -> String {
        let c = utc(date)
        return String(format: "%04d%02d%02d", c.year!, c.month!, c.day!)
    }

    private static func utc(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    }

    public static func sha256Hex(_ data: Data) -> String { hex(SHA256.hash(data: data)) }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
