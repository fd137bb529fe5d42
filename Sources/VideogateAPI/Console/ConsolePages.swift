import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VideogateDomain

/// The console's Mustache templates (`Console/Templates/*.mustache`, embedded in the binary so
/// that it stays one file to deploy) and its stylesheet. Every value is written with `{{name}}`,
/// which HTML-escapes it: a prompt or an account name containing `<script>` is shown as text.
struct ConsolePages: Sendable {
    let library: MustacheLibrary

    static let templates: [(String, [UInt8])] = [
        ("layout", PackageResources.layout_mustache),
        ("sign-in", PackageResources.sign_in_mustache),
        ("accounts", PackageResources.accounts_mustache),
        ("account", PackageResources.account_mustache),
        ("jobs", PackageResources.jobs_mustache),
        ("job", PackageResources.job_mustache),
        ("providers", PackageResources.providers_mustache),
        ("message", PackageResources.message_mustache),
        ("playground", PackageResources.playground_mustache),
        ("usage", PackageResources.usage_mustache),
    ]
    static let stylesheet = ByteBuffer(bytes: PackageResources.console_css)
    static let playgroundScript = ByteBuffer(bytes: PackageResources.playground_js)

    init() {
        var library = MustacheLibrary()
        for (name, bytes) in Self.templates {
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                // The templates are part of the binary: the console tests render every one.
                preconditionFailure("console template \(name) does not parse: \(error)")
            }
        }
        self.library = library
    }

    /// An HTML page: never cached, framed by nobody, scripts and styles only from us.
    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        let html = library.render(context, withTemplate: template) ?? ""
        var headers = extra
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'self'; img-src 'self' data: http: https:; media-src 'self' http: https:; "
            + "style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        return Response(status: .seeOther, headers: headers)
    }
}

/// Turns one of the API's `Encodable` views into what a template reads: a dictionary whose
/// JSON nulls are left out (so `{{#field}}` sections skip them).
func templateValue(_ view: some Encodable) -> [String: Any] {
    let encoder = JSONEncoder()
    guard let data = try? encoder.encode(view), let object = try? JSONSerialization.jsonObject(with: data) else { return [:] }
    return (withoutNulls(object) as? [String: Any]) ?? [:]
}

private func withoutNulls(_ value: Any) -> Any? {
    switch value {
    case is NSNull: return nil
    case let dictionary as [String: Any]: return dictionary.compactMapValues(withoutNulls)
    case let array as [Any]: return array.compactMap(withoutNulls)
    default: return value
    }
}
