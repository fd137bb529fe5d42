import Crypto
import Foundation

/// What checking a signed URL found.
public enum URLSignatureCheck: Sendable, Equatable {
    case valid
    /// Missing, malformed or tampered.
    case invalid
    /// Genuine but past its expiry.
    case expired
}

/// Signs result URLs: HMAC-SHA256 over `"<file id>.<expires>"`, so a link needs no header and
/// cannot be altered (file or expiry) without the server's secret.
public struct URLSigner: Sendable {
    private let key: SymmetricKey

    public init(secret: String) {
        self.key = SymmetricKey(data: Data(secret.utf8))
    }

    /// base64url (no padding) of the HMAC of `fileID.expires`.
    public func signature(fileID: String, expires: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(fileID).\(expires)".utf8), using: key)
        return Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// `<base>/files/<file id>?expires=<unix seconds>&signature=<sig>`.
    public func url(base: String, fileID: String, expires: Date) -> String {
        let seconds = Int64(expires.timeIntervalSince1970.rounded(.down))
        let path = fileID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? fileID
        return "\(base)/files/\(path)?expires=\(seconds)&signature=\(signature(fileID: fileID, expires: seconds))"
    }

    /// Checks the signature first (constant time), then the expiry, so a tampered expired link is `.invalid`.
    public func verify(fileID: String, expires: String?, signature: String?, now: Date) -> URLSignatureCheck {
        guard let expires, let seconds = Int64(expires), let signature else { return .invalid }
        let expected = Array(self.signature(fileID: fileID, expires: seconds).utf8)
        let given = Array(signature.utf8)
        guard expected.count == given.count else { return .invalid }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        guard difference == 0 else { return .invalid }
        return Double(seconds) < now.timeIntervalSince1970 ? .expired : .valid
    }
}
