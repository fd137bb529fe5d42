import Hummingbird

/// Every route the server answers, as (method, path template). The router is built from it, the
/// 405 answers come from it, and a test checks it against `/openapi.json` both ways.
public struct RouteTable: Sendable {
    public struct Entry: Sendable, Hashable {
        public let method: HTTPRequest.Method
        /// Hummingbird template: `/v1/video/:id`.
        public let path: String
    }

    public private(set) var entries: [Entry] = []

    mutating func add(_ method: HTTPRequest.Method, _ path: String) {
        entries.append(Entry(method: method, path: path))
    }

    /// Methods served on a concrete path (HEAD wherever GET is).
    public func methods(forPath path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var result = Set<HTTPRequest.Method>()
        for entry in entries where Self.matches(template: entry.path, segments: segments) {
            result.insert(entry.method)
            if entry.method == .get { result.insert(.head) }
        }
        return result
    }

    private static func matches(template: String, segments: [Substring]) -> Bool {
        let parts = template.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count == segments.count else { return false }
        return zip(parts, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
    }

    /// The template in OpenAPI form: `/v1/video/{id}`.
    public static func openAPIPath(_ template: String) -> String {
        template.split(separator: "/", omittingEmptySubsequences: true)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            .reduce("") { $0 + "/" + $1 }
    }
}
