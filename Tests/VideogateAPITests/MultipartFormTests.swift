import Foundation
import Hummingbird
import Testing
@testable import VideogateAPI

@Suite("multipart/form-data parsing")
struct MultipartFormTests {
    @Test func partsKeepTheirNamesFileNamesTypesAndExactBytes() throws {
        // Bytes that look like line ends and a boundary prefix inside a file must survive.
        let binary = Data([0x89, 0x50, 0x0D, 0x0A, 0x2D, 0x2D, 0x62, 0x0D, 0x0A, 0x00, 0xFF])
        let (contentType, body) = multipartBody([
            .text("prompt", "line one\r\nline two"), .file("input_reference", binary, filename: "a \"b\".png", contentType: "image/png"),
            .file("blob", Data()),
        ])
        let boundary = try #require(MultipartForm.boundary(contentType: contentType))
        let form = try MultipartForm(parsing: body, boundary: boundary)
        #expect(form.parts.map(\.name) == ["prompt", "input_reference", "blob"])
        #expect(form.first("prompt")?.text == "line one\r\nline two")
        let file = try #require(form.first("input_reference"))
        #expect(file.body == binary && file.filename == "a \"b\".png" && file.contentType == "image/png")
        #expect(form.first("blob")?.body.isEmpty == true && form.first("blob")?.filename == nil)
    }

    @Test func preambleQuotedBoundaryAndEpilogueAreAccepted() throws {
        let contentType = #"multipart/form-data; charset=utf-8; BOUNDARY="a b;c""#
        let boundary = try #require(MultipartForm.boundary(contentType: contentType))
        #expect(boundary == "a b;c")
        let body = "preamble\r\n--a b;c\r\ncontent-disposition: form-data; name=seconds\r\n\r\n8\r\n--a b;c--\r\nepilogue"
        let form = try MultipartForm(parsing: Data(body.utf8), boundary: boundary)
        #expect(form.parts.count == 1 && form.first("seconds")?.text == "8")
    }

    @Test(arguments: [
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno closing boundary",
        "no boundary at all",
        "--b\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--b--",
        "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nnot form-data\r\n--b--",
        "--b\r\nContent-Disposition form-data\r\n\r\nno colon\r\n--b--",
        "--bX\r\n",
    ])
    func malformedBodiesAreRefused(body: String) {
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm(parsing: Data(body.utf8), boundary: "b") }
    }

    @Test func boundaryMustBeOneToSeventyCharacters() {
        #expect(MultipartForm.boundary(contentType: "multipart/form-data") == nil)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=") == nil)
        #expect(MultipartForm.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "a", count: 71)) == nil)
    }

    @Test func tooManyPartsAreRefused() {
        let (_, body) = multipartBody((0...MultipartForm.maxParts).map { FormPart.text("f\($0)", "v") }, boundary: "b")
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm(parsing: body, boundary: "b") }
    }

    @Test func aBodyFedInChunksOfAnySizeParsesAsAWholeOne() throws {
        let binary = Data((0..<600).map { UInt8($0 % 251) } + [0x0D, 0x0A, 0x2D, 0x2D])
        let (contentType, body) = multipartBody([.text("prompt", "chunked"), .file("input_reference", binary, filename: "x.png", contentType: "image/png")])
        let boundary = try #require(MultipartForm.boundary(contentType: contentType))
        let whole = try MultipartForm(parsing: body, boundary: boundary)
        for size in [1, 2, 3, 7, 64, 1000] {
            let reader = MultipartForm.Reader(boundary: boundary)
            var offset = 0
            while offset < body.count {
                try reader.feed(ByteBuffer(bytes: body[offset..<min(body.count, offset + size)]))
                offset += size
            }
            let form = try reader.finish()
            #expect(form.parts.map(\.name) == whole.parts.map(\.name), "chunks of \(size)")
            #expect(form.parts.map(\.body) == whole.parts.map(\.body), "chunks of \(size)")
            #expect(form.sha256 == whole.sha256, "chunks of \(size)")
        }
    }

    /// multipart-kit has no end-of-input call: a body that stops anywhere before its closing
    /// boundary, even right after a whole part, must still be refused.
    @Test(arguments: [
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b",
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b\r\n",
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b\r\nContent-Disposition: form-da",
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b\r\nContent-Disposition: form-data; name=\"y\"\r\n",
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b\r\nContent-Disposition: form-data; name=\"y\"\r\n\r\npart",
        "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n-",
    ])
    func aBodyCutShortAfterAWholePartIsRefused(body: String) {
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm(parsing: Data(body.utf8), boundary: "b") }
    }

    @Test func headersLongerThanTheLimitAreRefused() throws {
        let long = String(repeating: "a", count: MultipartForm.maxHeaderBytes)
        let body = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Long: \(long)\r\n\r\nv\r\n--b--\r\n"
        #expect(throws: MultipartForm.Malformed.self) { try MultipartForm(parsing: Data(body.utf8), boundary: "b") }
        let fits = "--b\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Long: \(long.prefix(7000))\r\n\r\nv\r\n--b--\r\n"
        #expect(try MultipartForm(parsing: Data(fits.utf8), boundary: "b").first("x")?.text == "v")
    }
}
