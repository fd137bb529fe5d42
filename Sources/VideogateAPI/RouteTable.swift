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

    /// Methods served on a concrete path (HEAD wherever GET is). As in the router, a literal segment
    /// wins over a parameter: `/v1/video/quote` is served by the templates that name `quote`, not by
    /// `/v1/video/:id`.
    public func methods(forPath path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        let matching = entries.filter { Self.matches(template: $0.path, segments: segments) }
        guard let best = matching.map({ Self.literals($0.path) }).max(by: { $0.lexicographicallyPrecedes($1) { !$0 && $1 } }) else { return [] }
        var result = Set<HTTPRequest.Method>()
        for entry in matching where Self.literals(entry.path) == best {
            result.insert(entry.method)
            if entry.method == .get { result.insert(.head) }
        }
        return result
    }

    /// Which segments of a template are literal (not `:parameter`).
    private static func literals(_ template: String) -> [Bool] {
        template.split(separator: "/", omittingEmptySubsequences: true).map { !$0.hasPrefix(":") }
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
