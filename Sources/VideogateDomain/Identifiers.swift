import Foundation

/// Opaque, time-sortable identifiers: a prefix and a ULID (48-bit millisecond time, 80 random bits,
/// Crockford base32). Never sequential, sortable by creation time to the millisecond.
public enum Identifier {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    /// A new identifier such as `req_01JD3X...`.
    public static func make(_ prefix: String, at date: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(prefix, at: date, using: &generator)
    }

    public static func make(_ prefix: String, at date: Date, using generator: inout some RandomNumberGenerator) -> String {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var bytes = [UInt8](repeating: 0, count: 26)
        var time = millis
        for index in stride(from: 9, through: 0, by: -1) {
            bytes[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        // 80 random bits from two draws (each draw of the system generator is a syscall).
        var high = generator.next()
        var low = generator.next()
        for index in 10..<22 {
            bytes[index] = alphabet[Int(high & 31)]
            high >>= 5
        }
        for index in 22..<26 {
            bytes[index] = alphabet[Int(low & 31)]
            low >>= 5
        }
        return prefix + "_" + String(decoding: bytes, as: UTF8.self)
    }

    /// The smallest identifier with `prefix` that `make` can produce at or after the millisecond
    /// `millis` since 1970: identifiers made in `[a, b)` are exactly those in `[lowerBound(a), lowerBound(b))`,
    /// so a time range is an index range over ids (negative times count as 0).
    public static func lowerBound(_ prefix: String, atMillis millis: Int64) -> String {
        var bytes = [UInt8](repeating: alphabet[0], count: 26)
        var time = UInt64(min(max(0, millis), 0xFFFF_FFFF_FFFF))
        for index in stride(from: 9, through: 0, by: -1) {
            bytes[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        return prefix + "_" + String(decoding: bytes, as: UTF8.self)
    }

    /// `count` random base62 characters, for secrets (API keys, tokens).
    public static func randomBase62(_ count: Int) -> String {
        let chars = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            let byte = UInt8.random(in: 0...255, using: &generator)
            if byte < 248 { out.append(chars[Int(byte % 62)]) }  // 248 = 4 * 62: no modulo bias
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `value` looks like an identifier with this prefix (cheap shape check before a lookup).
    public static func isWellFormed(_ value: String, prefix: String) -> Bool {
        guard value.hasPrefix(prefix + "_") else { return false }
        let body = value.utf8.dropFirst(prefix.utf8.count + 1)
        return body.count == 26 && body.allSatisfy { alphabet.contains($0) }
    }
}
