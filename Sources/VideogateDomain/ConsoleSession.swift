import Foundation

/// A signed-in operator console session (operations.md, "Operator console and command-line
/// client"). The browser holds a random secret in an HttpOnly, SameSite=Strict cookie; only its
/// SHA-256 (`idHash`) is stored, so a copy of the database signs nobody in. Every form carries
/// `csrfToken`, compared in constant time with the session's. Sign-out deletes the row, so the
/// cookie stops working on every API process at once.
public struct ConsoleSession: Sendable, Equatable {
    public var idHash: String
    public var csrfToken: String
    public var createdAt: Date
    public var expiresAt: Date

    public init(idHash: String, csrfToken: String, createdAt: Date, expiresAt: Date) {
        self.idHash = idHash
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// How long a session lasts from sign-in.
    public static let lifetime: TimeInterval = 12 * 3600
}
