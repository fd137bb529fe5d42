import Foundation

/// Where an S3-compatible bucket is and how requests to it are addressed and signed.
public struct S3Configuration: Sendable {
    public var bucket: String
    /// Prepended to every key with a `/` (`results` → `results/videos/req_1.mp4`); empty for none.
    public var prefix: String
    public var region: String
    /// `http` or `https`.
    public var scheme: String
    /// Host name of the service (without the bucket).
    public var host: String
    /// nil: the scheme's default port.
    public var port: Int?
    /// `scheme://host/bucket/key` instead of `scheme://bucket.host/key`. Path style is required
    /// for most self-hosted servers and for bucket names with dots over https.
    public var pathStyle: Bool
    public var credentials: SigV4Signer.Credentials

    /// The configuration is invalid: the message names the setting.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// - Parameters:
    ///   - endpoint: `http(s)://host[:port]` of an S3-compatible server; nil: AWS, `https://s3.<region>.amazonaws.com`.
    /// - Throws: `Invalid` when the bucket is empty or the endpoint is not an http(s) URL with a host.
    public init(
        bucket: String, prefix: String = "", region: String = "us-east-1", endpoint: String? = nil, pathStyle: Bool = false,
        credentials: SigV4Signer.Credentials
    ) throws {
        guard !bucket.isEmpty, !bucket.contains("/") else { throw Invalid("the S3 bucket name is empty or invalid: '\(bucket)'") }
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
        let base = endpoint ?? "https://s3.\(region).amazonaws.com"
        guard let components = URLComponents(string: base), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { throw Invalid("the S3 endpoint must be http(s)://host[:port], not '\(base)'") }
        self.scheme = scheme
        self.host = host
        self.port = components.port.flatMap { $0 == (scheme == "https" ? 443 : 80) ? nil : $0 }
    }

    /// Splits `s3://bucket/optional/prefix` into bucket and prefix.
    /// - Throws: `Invalid` when it is not an `s3://` URL or names no bucket.
    public static func parseStorageURL(_ url: String) throws -> (bucket: String, prefix: String) {
        guard url.hasPrefix("s3://") else { throw Invalid("an S3 storage URL starts with s3://, not '\(url)'") }
        let rest = url.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw Invalid("the S3 storage URL '\(url)' names no bucket (s3://bucket/prefix)") }
        return (String(bucket), rest.dropFirst(bucket.count).split(separator: "/").joined(separator: "/"))
    }

    /// The object key of a store key: the prefix, then the key.
    func objectKey(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix)/\(key)" }

    /// The Host header: the bucket in front of the host unless path style, the port when not default.
    var hostHeader: String {
        let name = pathStyle ? host : "\(bucket).\(host)"
        return port.map { "\(name):\($0)" } ?? name
    }

    /// URI-encoded request path of an object (`objectKey` already prefixed), or of the bucket when nil.
    func path(objectKey: String?) -> String {
        let bucketPath = pathStyle ? "/" + SigV4Signer.uriEncode(bucket, keepSlash: false) : ""
        guard let objectKey else { return bucketPath.isEmpty ? "/" : bucketPath }
        return bucketPath + "/" + SigV4Signer.uriEncode(objectKey, keepSlash: true)
    }

    /// `scheme://host[:port]path[?query]` with the query already encoded.
    func url(path: String, query: String) -> String {
        "\(scheme)://\(hostHeader)\(path)" + (query.isEmpty ? "" : "?\(query)")
    }
}
