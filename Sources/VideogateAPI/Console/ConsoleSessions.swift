import Foundation
import HTTPTypes
import Hummingbird
import VideogateDomain

/// Signing in and out of `/console`, and the checks every console request passes.
///
/// - The cookie `vg_console` holds 43 random base62 characters (about 256 bits); the store keeps
///   only their SHA-256, with the session's CSRF token and expiry (`ConsoleSession`). It is
///   `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it),
///   `Path=/console`, and `Secure` when `VIDEOGATE_PUBLIC_URL` is `https://`.
/// - Every form carries the session's CSRF token in a hidden field; a POST without the right one
///   is 403 and changes nothing. A POST whose `Origin` names another origin than the request's
///   `Host` is refused too, before anything else (sign-in included, against login CSRF).
/// - Sign-out deletes the stored session: the cookie stops working on every API process at once.
struct ConsoleSessions: Sendable {
    static let cookie = "vg_console"
    let services: GatewayServices

    var secure: Bool { services.configuration.publicURL.string.hasPrefix("https://") }

    /// The signed-in session of this request, or nil.
    func session(_ request: Request) async throws -> ConsoleSession? {
        guard let secret = request.cookies[Self.cookie]?.value, !secret.isEmpty, secret.count <= 128 else { return nil }
        return try await services.store.consoleSession(idHash: SecretHash.hex(secret), at: services.clock.now())
    }

    /// Whether `token` is the admin token (compared in constant time, as the admin API does).
    func isAdminToken(_ token: String) -> Bool {
        SecretHash.constantTimeEquals(SecretHash.hex(token), SecretHash.hex(services.configuration.adminToken))
    }

    /// A new session: stored, and the `Set-Cookie` value that hands its secret to the browser.
    func start() async throws -> (session: ConsoleSession, setCookie: String) {
        let secret = Identifier.randomBase62(43)
        let now = services.clock.now()
        let session = ConsoleSession(
            idHash: SecretHash.hex(secret), csrfToken: Identifier.randomBase62(32), createdAt: now,
            expiresAt: now.addingTimeInterval(ConsoleSession.lifetime))
        try await services.store.createConsoleSession(session)
        return (session, cookie(value: secret, maxAge: Int(ConsoleSession.lifetime)))
    }

    /// Ends the session (if any) and returns the `Set-Cookie` value that clears the cookie.
    func end(_ session: ConsoleSession?) async throws -> String {
        if let session { try await services.store.deleteConsoleSession(idHash: session.idHash, at: services.clock.now()) }
        return cookie(value: "", maxAge: 0)
    }

    private func cookie(value: String, maxAge: Int) -> String {
        "\(Self.cookie)=\(value); Path=/console; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// False when the request says it comes from a page of another origin (`Origin`, or
    /// `Sec-Fetch-Site: cross-site` from browsers that send it).
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" { return false }
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        guard let url = URL(string: origin), let originHost = url.host else { return false }
        let port = url.port.map { ":\($0)" } ?? ""
        return "\(originHost)\(port)".lowercased() == host.lowercased()
    }

    /// The session's CSRF token compared in constant time with the form's.
    static func csrfMatches(_ session: ConsoleSession, _ form: ConsoleForm) -> Bool {
        guard let sent = form["csrf"], !sent.isEmpty else { return false }
        return SecretHash.constantTimeEquals(SecretHash.hex(sent), SecretHash.hex(session.csrfToken))
    }
}

/// A submitted `application/x-www-form-urlencoded` form (at most 64 KiB).
struct ConsoleForm: Sendable {
    private var values: [String: String] = [:]

    static func read(_ request: Request) async throws -> ConsoleForm {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        var form = ConsoleForm()
        for pair in String(buffer: body).split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            let name = decode(parts[0])
            if form.values[name] == nil { form.values[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return form
    }

    subscript(_ name: String) -> String? { values[name] }

    /// The trimmed value, nil when absent or empty.
    func text(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }
}
