import Crypto
import Foundation

/// A `multipart/form-data` body (RFC 7578), read whole (the caller bounds its size): the parts in
/// order, each with its field name, the file name and content type when sent, and its bytes.
struct MultipartForm: Sendable {
    struct Part: Sendable {
        let name: String
        let filename: String?
        let contentType: String?
        let body: Data

        /// The part as text, nil when it is not UTF-8.
        var text: String? { String(data: body, encoding: .utf8) }
    }

    /// Why a body is not a well-formed form.
    struct Malformed: Error, Sendable {
        let reason: String
    }

    /// More parts than any form of ours has: the rest of such a body is not read.
    static let maxParts = 64
    /// Longest header block of one part.
    static let maxHeaderBytes = 8 * 1024

    let parts: [Part]

    /// The first part named `name`.
    func first(_ name: String) -> Part? { parts.first { $0.name == name } }

    /// SHA-256 (hex) of what the form says, for `Idempotency-Key`: every part in order, its name,
    /// file name, content type and bytes, each length-prefixed, and nothing of the boundary or the
    /// framing, which clients choose at random per request. Distinct from any JSON body's hash.
    var sha256: String {
        var hasher = SHA256()
        hasher.update(data: Data("multipart/form-data\n".utf8))
        func field(_ bytes: Data?) {
            guard let bytes else {
                hasher.update(data: Data([0xFF]))
                return
            }
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        for part in parts {
            field(Data(part.name.utf8))
            field(part.filename.map { Data($0.utf8) })
            field(part.contentType.map { Data($0.utf8) })
            field(part.body)
        }
        return SecretHash.hex(hasher.finalize())
    }

    /// The `boundary` parameter of a `multipart/form-data` Content-Type (RFC 2046: 1 to 70 characters).
    static func boundary(contentType: String) -> String? {
        let (_, parameters) = HeaderValue.parse(contentType)
        guard let boundary = parameters["boundary"], (1...70).contains(boundary.utf8.count) else { return nil }
        return boundary
    }

    /// Parses a whole body: an optional preamble, parts between `--boundary` lines, the closing
    /// `--boundary--` (anything after it is ignored).
    init(parsing body: Data, boundary: String) throws(Malformed) {
        let delimiter = Array(("\r\n--" + boundary).utf8)
        let parsed = body.withUnsafeBytes { bytes in Self.parts(bytes, delimiter: delimiter) }
        parts = try parsed.get()
    }

    private static func parts(_ bytes: UnsafeRawBufferPointer, delimiter: [UInt8]) -> Result<[Part], Malformed> {
        var parts: [Part] = []
        // The first delimiter may open the body without the CRLF before it.
        var position: Int
        if matches(bytes, at: 0, delimiter.dropFirst(2)) {
            position = delimiter.count - 2
        } else if let found = find(delimiter, in: bytes, from: 0) {
            position = found + delimiter.count
        } else {
            return .failure(Malformed(reason: "the boundary given in Content-Type does not occur in the body"))
        }
        while !matches(bytes, at: position, [0x2D, 0x2D]) {  // "--": the closing delimiter
            while position < bytes.count, bytes[position] == 0x20 || bytes[position] == 0x09 { position += 1 }
            guard matches(bytes, at: position, [0x0D, 0x0A]) else { return .failure(Malformed(reason: "a boundary line is not followed by CRLF")) }
            position += 2
            guard parts.count < maxParts else { return .failure(Malformed(reason: "more than \(maxParts) parts")) }
            let headerEnd: Int
            let bodyStart: Int
            if matches(bytes, at: position, [0x0D, 0x0A]) {
                (headerEnd, bodyStart) = (position, position + 2)
            } else {
                let window = min(bytes.count, position + maxHeaderBytes + 4)
                guard let end = find([0x0D, 0x0A, 0x0D, 0x0A], in: bytes, from: position, to: window) else {
                    return .failure(Malformed(reason: "a part's headers do not end with an empty line within \(maxHeaderBytes) bytes"))
                }
                (headerEnd, bodyStart) = (end, end + 4)
            }
            guard let bodyEnd = find(delimiter, in: bytes, from: bodyStart) else {
                return .failure(Malformed(reason: "the body ends before the closing boundary"))
            }
            let headers = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<headerEnd]), as: UTF8.self)
            do {
                parts.append(try part(headers: headers, body: Data(UnsafeRawBufferPointer(rebasing: bytes[bodyStart..<bodyEnd]))))
            } catch {
                return .failure(error)
            }
            position = bodyEnd + delimiter.count
        }
        return .success(parts)
    }

    private static func part(headers text: String, body: Data) throws(Malformed) -> Part {
        var disposition: (String, [String: String])?
        var contentType: String?
        for line in text.components(separatedBy: "\r\n") where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Malformed(reason: "a part's header line has no colon") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            if name == "content-disposition" { disposition = HeaderValue.parse(value) }
            if name == "content-type" { contentType = value }
        }
        guard let (kind, parameters) = disposition, kind == "form-data", let name = parameters["name"] else {
            throw Malformed(reason: "a part has no Content-Disposition: form-data with a name")
        }
        return Part(name: name, filename: parameters["filename"], contentType: contentType, body: body)
    }

    private static func matches(_ bytes: UnsafeRawBufferPointer, at position: Int, _ pattern: some Collection<UInt8>) -> Bool {
        position + pattern.count <= bytes.count && bytes[position..<position + pattern.count].elementsEqual(pattern)
    }

    /// The first index of `pattern` in `bytes[from..<to]`: memchr for its first byte, then a compare.
    private static func find(_ pattern: [UInt8], in bytes: UnsafeRawBufferPointer, from: Int, to end: Int? = nil) -> Int? {
        let end = end ?? bytes.count
        guard let first = pattern.first, let base = bytes.baseAddress, end - from >= pattern.count else { return nil }
        return pattern.withUnsafeBytes { needle -> Int? in
            guard let needleBase = needle.baseAddress else { return nil }
            var start = from
            let last = end - pattern.count
            while start <= last {
                guard let hit = memchr(base + start, Int32(first), last - start + 1) else { return nil }
                let index = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + index, needleBase, pattern.count) == 0 { return index }
                start = index + 1
            }
            return nil
        }
    }
}

/// A header value with parameters, as Content-Type and Content-Disposition carry them:
/// `form-data; name="input_reference"; filename="a.png"`. Names are lowercased; quoted values
/// are unquoted (with backslash escapes).
enum HeaderValue {
    static func parse(_ value: String) -> (String, [String: String]) {
        var items: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in value {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted && character == "\\" {
                current.append(character)
                escaped = true
            } else if character == "\"" {
                current.append(character)
                quoted.toggle()
            } else if character == ";" && !quoted {
                items.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        items.append(current)
        let kind = items[0].trimmingCharacters(in: .whitespaces).lowercased()
        var parameters: [String: String] = [:]
        for item in items.dropFirst() {
            guard let equals = item.firstIndex(of: "=") else { continue }
            let name = item[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var raw = item[item.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                raw = String(raw.dropFirst().dropLast())
                var unescaped = ""
                var escape = false
                for character in raw {
                    if escape || character != "\\" {
                        unescaped.append(character)
                        escape = false
                    } else {
                        escape = true
                    }
                }
                raw = unescaped
            }
            if parameters[name] == nil { parameters[name] = raw }
        }
        return (kind, parameters)
    }
}
