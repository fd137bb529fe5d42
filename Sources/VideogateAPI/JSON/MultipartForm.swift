import Crypto
import Foundation
import Hummingbird
import MultipartKit

/// A `multipart/form-data` body (RFC 7578): the parts in order, each with its field name, the file
/// name and content type when sent, and its bytes. The bytes are parsed by vapor/multipart-kit's
/// `MultipartParser` as they arrive (`Reader`); the caller bounds the body's size.
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

    /// More parts than any form of ours has: such a body is refused as soon as the part after the
    /// last one allowed begins, and nothing more of it is kept.
    static let maxParts = 64
    /// Most bytes of one part's header lines together.
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
        let reader = Reader(boundary: boundary)
        try reader.feed(ByteBuffer(bytes: body))
        self = try reader.finish()
    }

    private init(parts: [Part]) { self.parts = parts }

    /// Reads a form chunk by chunk as the request body arrives. Not thread-safe: one request's task
    /// feeds it.
    final class Reader {
        private let parser: MultipartParser
        private let state = State()

        init(boundary: String) {
            parser = MultipartParser(boundary: boundary)
            let state = self.state
            parser.onHeader = { name, value in state.header(name, value) }
            parser.onBody = { bytes in state.body(&bytes) }
            parser.onPartComplete = { state.partComplete() }
        }

        /// Parses the next bytes of the body.
        func feed(_ buffer: ByteBuffer) throws(Malformed) {
            if let failure = state.failure { throw failure }
            do {
                try parser.execute(buffer)
            } catch {
                state.fail("the body is not multipart/form-data (a boundary, header line or part is malformed)")
            }
            if let failure = state.failure { throw failure }
        }

        /// The form, once the whole body was fed. multipart-kit's parser has no end-of-input call,
        /// so two carriage returns are fed after the end: ignored after the closing boundary (the
        /// epilogue), they are a syntax error in a header block and body bytes in a part, which
        /// both mean the body stopped before its closing boundary.
        func finish() throws(Malformed) -> MultipartForm {
            if let failure = state.failure { throw failure }
            state.ended = true
            do {
                try parser.execute([0x0D, 0x0D])
            } catch {
                throw Malformed(reason: "the body ends before the closing boundary")
            }
            if state.eventAfterEnd { throw Malformed(reason: "the body ends before the closing boundary") }
            if !state.sawBoundary { throw Malformed(reason: "the boundary given in Content-Type does not occur in the body") }
            return MultipartForm(parts: state.parts)
        }
    }

    /// What the parser's callbacks collect: the parts so far and the current part's headers and bytes.
    private final class State {
        var parts: [Part] = []
        var headers: [(name: String, value: String)] = []
        var headerBytes = 0
        var body = ByteBuffer()
        var failure: Malformed?
        var sawBoundary = false
        var ended = false
        var eventAfterEnd = false

        func fail(_ reason: String) {
            if failure == nil { failure = Malformed(reason: reason) }
        }

        func header(_ name: String, _ value: String) {
            guard !ended else { return eventAfterEnd = true }
            guard failure == nil else { return }
            sawBoundary = true
            if headers.isEmpty, parts.count >= MultipartForm.maxParts { return fail("more than \(MultipartForm.maxParts) parts") }
            headerBytes += name.utf8.count + value.utf8.count + 4  // "name: value\r\n"
            if headerBytes > MultipartForm.maxHeaderBytes {
                return fail("a part's headers are longer than \(MultipartForm.maxHeaderBytes) bytes")
            }
            headers.append((name, value))
        }

        func body(_ bytes: inout ByteBuffer) {
            guard !ended else { return eventAfterEnd = true }
            guard failure == nil else { return }
            sawBoundary = true
            if headers.isEmpty, parts.count >= MultipartForm.maxParts { return fail("more than \(MultipartForm.maxParts) parts") }
            body.writeBuffer(&bytes)
        }

        func partComplete() {
            guard !ended else { return eventAfterEnd = true }
            guard failure == nil else { return }
            sawBoundary = true
            if parts.count >= MultipartForm.maxParts { return fail("more than \(MultipartForm.maxParts) parts") }
            var disposition: (String, [String: String])?
            var contentType: String?
            for (name, value) in headers {
                switch name.lowercased() {
                case "content-disposition": disposition = HeaderValue.parse(value)
                case "content-type": contentType = value
                default: break
                }
            }
            guard let (kind, parameters) = disposition, kind == "form-data", let name = parameters["name"] else {
                return fail("a part has no Content-Disposition: form-data with a name")
            }
            parts.append(Part(name: name, filename: parameters["filename"], contentType: contentType, body: Data(buffer: body)))
            headers = []
            headerBytes = 0
            body = ByteBuffer()
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
