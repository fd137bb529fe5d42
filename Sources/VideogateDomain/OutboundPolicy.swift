import Foundation

/// The rules for requests the server makes on a client's behalf (image URLs, webhooks):
/// https only, and never to loopback, private, link-local, multicast or reserved addresses,
/// unless the host is on the operator's allow list. Pure: the HTTP client applies
/// `checkAddress` to the address it actually connected to.
public struct OutboundPolicy: Sendable, Equatable {
    /// Hosts (`host` or `host:port`, lowercased) exempt from every rule.
    public var allowedHosts: Set<String>

    public init(allowedHosts: Set<String> = []) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    /// Why a URL or address is refused.
    public struct Refusal: Error, Sendable, Equatable {
        public let reason: String
        public init(_ reason: String) { self.reason = reason }
    }

    /// Whether the host (and port) is on the allow list.
    public func isAllowListed(host: String, port: Int?) -> Bool {
        let host = host.lowercased()
        if allowedHosts.contains(host) { return true }
        if let port, allowedHosts.contains("\(host):\(port)") { return true }
        return false
    }

    /// Checks what can be checked before connecting: scheme, host, and a literal IP address.
    public func checkURL(_ string: String) throws(Refusal) {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased(),
            var host = components.host, !host.isEmpty
        else { throw Refusal("it is not a valid absolute URL") }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        // The port the connection will use, so that `host:443` also matches a URL that leaves it out.
        let port = components.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : nil)
        if isAllowListed(host: host, port: port) { return }
        guard scheme == "https" else { throw Refusal("only https:// URLs are allowed") }
        guard components.user == nil, components.password == nil else { throw Refusal("URLs with credentials are not allowed") }
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered.hasSuffix(".localhost") { throw Refusal("the host is loopback") }
        if let reason = Self.forbiddenReason(forAddress: host) { throw Refusal(reason) }
    }

    /// Checks a resolved or connected address (textual IPv4 or IPv6).
    public func checkAddress(_ address: String, host: String, port: Int?) throws(Refusal) {
        if isAllowListed(host: host, port: port) { return }
        if let reason = Self.forbiddenReason(forAddress: address) { throw Refusal(reason) }
    }

    /// Why a literal address is forbidden, or nil when it is a public unicast address or not a literal.
    public static func forbiddenReason(forAddress text: String) -> String? {
        if let v4 = parseIPv4(text) { return forbiddenReason(ipv4: v4) }
        if let v6 = parseIPv6(text) { return forbiddenReason(ipv6: v6) }
        return nil
    }

    static func forbiddenReason(ipv4 a: [UInt8]) -> String? {
        switch (a[0], a[1]) {
        case (0, _): return "the address is reserved (0.0.0.0/8)"
        case (10, _): return "the address is private (10.0.0.0/8)"
        case (100, 64...127): return "the address is shared (100.64.0.0/10)"
        case (127, _): return "the address is loopback"
        case (169, 254): return "the address is link-local"
        case (172, 16...31): return "the address is private (172.16.0.0/12)"
        case (192, 0) where a[2] == 0 || a[2] == 2: return "the address is reserved"
        case (192, 168): return "the address is private (192.168.0.0/16)"
        case (198, 18...19): return "the address is reserved (198.18.0.0/15)"
        case (198, 51) where a[2] == 100: return "the address is reserved (documentation)"
        case (203, 0) where a[2] == 113: return "the address is reserved (documentation)"
        case (224...239, _): return "the address is multicast"
        case (240...255, _): return "the address is reserved"
        default: return nil
        }
    }

    static func forbiddenReason(ipv6 a: [UInt8]) -> String? {
        if a.allSatisfy({ $0 == 0 }) { return "the address is unspecified" }
        if a[0..<15].allSatisfy({ $0 == 0 }) && a[15] == 1 { return "the address is loopback" }
        // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms carry an IPv4 address.
        if a[0..<10].allSatisfy({ $0 == 0 }) && a[10] == 0xFF && a[11] == 0xFF { return forbiddenReason(ipv4: Array(a[12..<16])) }
        if a[0..<12].allSatisfy({ $0 == 0 }) { return "the address is reserved (IPv4-compatible)" }
        if a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xFF && a[3] == 0x9B { return forbiddenReason(ipv4: Array(a[12..<16])) }  // NAT64
        if a[0] == 0xFE && (a[1] & 0xC0) == 0x80 { return "the address is link-local" }
        if a[0] == 0xFE && (a[1] & 0xC0) == 0xC0 { return "the address is site-local" }
        if (a[0] & 0xFE) == 0xFC { return "the address is private (unique local)" }
        if a[0] == 0xFF { return "the address is multicast" }
        if a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8 { return "the address is reserved (documentation)" }
        if a[0] == 0x20 && a[1] == 0x02 { return forbiddenReason(ipv4: Array(a[2..<6])) }  // 6to4 embeds an IPv4 address
        return nil
    }

    /// Parses dotted-quad IPv4 text.
    public static func parseIPv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out = [UInt8]()
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let value = UInt8(part) else { return nil }
            out.append(value)
        }
        return out
    }

    /// Parses IPv6 text (with `::` and an optional trailing dotted IPv4) into 16 bytes.
    public static func parseIPv6(_ text: String) -> [UInt8]? {
        var text = Substring(text)
        if let percent = text.firstIndex(of: "%") { text = text[..<percent] }
        guard text.contains(":") else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result = [UInt16]()
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), let v4 = parseIPv4(String(piece)) {
                    result.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    result.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                } else {
                    guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}
