import Foundation
import Testing
@testable import VideogateDomain

@Suite("Submission checks")
struct SubmissionValidatorTests {
    let validator = SubmissionValidator(catalog: .standard, outbound: OutboundPolicy())

    func body(_ json: String) throws -> [String: JSONValue] {
        try JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
    }

    func failure(_ json: String) throws -> GatewayError? {
        let parsed = try body(json)
        do {
            _ = try validator.validate(parsed)
            return nil
        } catch {
            return error
        }
    }

    /// A 360x360 PNG: the smallest square every image-to-video provider takes.
    static let png = "iVBORw0KGgoAAAANSUhEUgAAAWgAAAFoCAIAAAD1h/aCAAADXklEQVR42u3UMQ0AAAzDsEIapEEa5GHob8kIciSzB1CJBIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBGAeAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxAMahAmAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAdgHADGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcQAYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHYBwqAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgEYB4BxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAxiEBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHADGARgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQAYB2AcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYBwAxgEYB2AcgHEAxgFgHIBxAMYBGAdgHIBxABgHYByAcQDGARgHgHEAxgEYB2AcgHEAGAdgHIBxAMYBGAeAcQDGARgHYByAcQDGAWAcgHEAxgEYB2AcAMYBGAdgHIBxAMYBYByAcQDGARgHYByAcagAdB4Hl6lYcEDpZQAAAABJRU5ErkJggg=="

    @Test(arguments: [
        (#"{"model":"sora-2"}"#, "missing_prompt", "prompt"),
        (#"{"prompt":null,"model":"sora-2"}"#, "missing_prompt", "prompt"),
        (#"{"prompt":"","model":"sora-2"}"#, "missing_prompt", "prompt"),
        (#"{"prompt":" \n\t ","model":"sora-2"}"#, "missing_prompt", "prompt"),
        (#"{"prompt":"p"}"#, "invalid_model", "model"),
        (#"{"prompt":"p","model":"sora-3"}"#, "invalid_model", "model"),
        (#"{"prompt":"p","model":"sora-2","mode":"video"}"#, "invalid_mode", "mode"),
        (#"{"prompt":"p","model":"sora-2","mode":"image-to-video"}"#, "invalid_mode", "mode"),
        (#"{"prompt":"p","model":"wan-2.5-i2v"}"#, "missing_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":""}"#, "missing_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"http://example.com/a.png"}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"https://10.0.0.5/a.png"}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"https://169.254.169.254/latest"}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"https://[::1]/a.png"}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"!!notbase64!!"}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"R0lGODlhAQABAAAAACw="}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"wan-2.5-i2v","image":"data:text/plain;base64,aGVsbG8="}"#, "invalid_image", "image"),
        (#"{"prompt":"p","model":"sora-2","aspect_ratio":"4:3"}"#, "invalid_aspect_ratio", "aspect_ratio"),
        (#"{"prompt":"p","model":"sora-2","duration":5}"#, "invalid_duration", "duration"),
        (#"{"prompt":"p","model":"kling-v2.6-pro","duration":16}"#, "invalid_duration", "duration"),
        (#"{"prompt":"p","model":"seedance-v1.5-pro-t2v","duration":13}"#, "invalid_duration", "duration"),
        (#"{"prompt":"p","model":"sora-2","webhook_url":"ftp://x.example/h"}"#, "invalid_webhook_url", "webhook_url"),
        (#"{"prompt":"p","model":"sora-2","metadata":{"k":"\#(String(repeating: "v", count: 513))"}}"#, "invalid_metadata", "metadata"),
        (#"{"prompt":"p","model":"sora-2","metadata":{"k":true}}"#, "invalid_metadata", "metadata"),
        (#"{"prompt":5,"model":"sora-2"}"#, "invalid_json", "prompt"),
        (#"{"prompt":"p","model":["sora-2"]}"#, "invalid_json", "model"),
        (#"{"prompt":"p","model":"sora-2","duration":"4"}"#, "invalid_json", "duration"),
        (#"{"prompt":"p","model":"sora-2","duration":4.5}"#, "invalid_json", "duration"),
        (#"{"prompt":"p","model":"sora-2","metadata":[]}"#, "invalid_json", "metadata"),
    ])
    func refusals(json: String, code: String, param: String) throws {
        let error = try #require(try failure(json))
        #expect(error.code.rawValue == code)
        #expect(error.param == param)
        #expect(error.status == 400)
        #expect(!error.message.isEmpty)
    }

    @Test func modeMismatchNamesTheModelsThatServeIt() throws {
        let error = try #require(try failure(#"{"prompt":"p","model":"sora-2","mode":"image-to-video"}"#))
        for id in ["veo3.1-i2v", "veo3-fast-i2v", "kling-v2.5-turbo-pro-i2v", "wan-2.5-i2v", "seedance-v1.5-pro-i2v"] {
            #expect(error.message.contains(id))
        }
        let reverse = try #require(try failure(#"{"prompt":"p","model":"veo3.1-i2v","mode":"text-to-video"}"#))
        #expect(reverse.message.contains("sora-2") && reverse.message.contains("kling-v2.5-turbo-pro"))
    }

    @Test func durationRefusalListsAcceptedValues() throws {
        let error = try #require(try failure(#"{"prompt":"p","model":"kling-v2.6-pro","duration":16}"#))
        #expect(error.message.contains("5, 10"))
    }

    @Test func defaultsAndFallbacks() throws {
        let veo = try validator.validate(try body(#"{"prompt":"  p  ","model":"veo3.1","aspect_ratio":"1:1"}"#))
        #expect(veo.aspectRatio == .landscape)  // 1:1 is not a Veo ratio: the model's default
        #expect(veo.duration == 8)
        #expect(veo.prompt == "p")
        #expect(veo.mode == .textToVideo)
        let seedance = try validator.validate(try body(#"{"prompt":"p","model":"seedance-v1.5-pro-t2v"}"#))
        #expect(seedance.duration == 5 && seedance.aspectRatio == .landscape)
        let portrait = try validator.validate(try body(#"{"prompt":"p","model":"kling-v2.5-turbo-pro","aspect_ratio":"9:16","duration":10.0}"#))
        #expect(portrait.aspectRatio == .portrait && portrait.duration == 10)
        let i2v = try validator.validate(try body(#"{"prompt":"p","model":"wan-2.5-i2v","image":"https://example.com/a.png"}"#))
        #expect(i2v.mode == .imageToVideo)
        #expect(i2v.image == .url("https://example.com/a.png"))
        let ignored = try validator.validate(try body(#"{"prompt":"p","model":"sora-2","image":"garbage","unknown":{"x":1}}"#))
        #expect(ignored.image == nil)
    }

    @Test func promptLimitIsInUnicodeCharacters() throws {
        let multibyte = String(repeating: "ü", count: 4000)
        #expect(try failure(#"{"prompt":"\#(multibyte)","model":"sora-2"}"#) == nil)
        let over = String(repeating: "a", count: 4001)
        #expect(try failure(#"{"prompt":"\#(over)","model":"sora-2"}"#)?.code == .promptTooLong)
    }

    @Test(arguments: ["", "data:image/png;base64,"])
    func imagesAreCheckedByContent(prefix: String) throws {
        let png = try validator.validate(try body(#"{"prompt":"p","model":"wan-2.5-i2v","image":"\#(prefix)\#(Self.png)"}"#))
        guard case .bytes(let data, let mediaType) = png.image else { Issue.record("not bytes"); return }
        #expect(mediaType == "image/png" && data.count == 919)
        let jpeg = ImageHeaders.jpeg(400, 400).base64EncodedString()
        #expect(try validator.validate(try body(#"{"prompt":"p","model":"wan-2.5-i2v","image":"\#(prefix)\#(jpeg)"}"#)).image == .bytes(Data(base64Encoded: jpeg)!, mediaType: "image/jpeg"))
        let webp = ImageHeaders.webp(400, 400).base64EncodedString()
        guard case .bytes(_, let webpType)? = try validator.validate(try body(#"{"prompt":"p","model":"wan-2.5-i2v","image":"\#(webp)"}"#)).image else {
            Issue.record("webp not accepted")
            return
        }
        #expect(webpType == "image/webp")
    }

    @Test func oversizeImagesAreRefused() throws {
        var bytes = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        bytes.append(Data(count: ImageInput.maxBytes))
        let error = try #require(try failure(#"{"prompt":"p","model":"wan-2.5-i2v","image":"\#(bytes.base64EncodedString())"}"#))
        #expect(error.code == .invalidImage)
    }

    @Test func metadataLimits() throws {
        let sixteen = (0..<16).map { #""k\#($0)":"v""# }.joined(separator: ",")
        #expect(try validator.validate(try body(#"{"prompt":"p","model":"sora-2","metadata":{\#(sixteen)}}"#)).metadata.count == 16)
        let seventeen = (0..<17).map { #""k\#($0)":"v""# }.joined(separator: ",")
        #expect(try failure(#"{"prompt":"p","model":"sora-2","metadata":{\#(seventeen)}}"#)?.code == .invalidMetadata)
    }

    @Test func allowListedHostsPassTheOutboundRules() throws {
        let local = SubmissionValidator(catalog: .standard, outbound: OutboundPolicy(allowedHosts: ["127.0.0.1"]))
        let submission = try local.validate(try body(#"{"prompt":"p","model":"wan-2.5-i2v","image":"http://127.0.0.1:9000/a.png"}"#))
        #expect(submission.image == .url("http://127.0.0.1:9000/a.png"))
    }
}
