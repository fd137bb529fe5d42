/// A non-2xx answer of the S3 service, with S3's error `Code` and `Message` when it sent an XML
/// error body (HEAD answers have none), or a malformed success answer.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    /// What was attempted, e.g. `GET results/videos/req_1.mp4`.
    public let operation: String
    /// HTTP status; 0 when the answer was successful but unusable.
    public let status: Int
    /// S3's error code, e.g. `NoSuchKey`, `NoSuchBucket`, `SlowDown`, `SignatureDoesNotMatch`.
    public let code: String?
    public let message: String?

    public init(operation: String, status: Int, code: String?, message: String?) {
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
    }

    /// The object or bucket does not exist.
    public var isNotFound: Bool { status == 404 }

    public var description: String {
        var text = "S3 \(operation) failed"
        if status != 0 { text += " with HTTP \(status)" }
        if let code { text += " \(code)" }
        if let message, !message.isEmpty { text += ": \(message)" }
        return text
    }
}
