import Foundation
import Testing
@testable import VideogateDomain

/// Image headers of a given pixel size: what `ImageSize.read` looks at, and nothing more.
enum ImageHeaders {
    static func png(_ width: Int, _ height: Int) -> Data {
        Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8) + bigEndian(width, 4) + bigEndian(height, 4)
            + [8, 2, 0, 0, 0, 0, 0, 0, 0])
    }

    /// SOI, a JFIF APP0 segment, then a baseline frame header (SOF0).
    static func jpeg(_ width: Int, _ height: Int) -> Data {
        Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
            + [0xFF, 0xC0, 0, 17, 8] + bigEndian(height, 2) + bigEndian(width, 2) + [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    }

    /// An extended WebP (VP8X), whose header carries the canvas size.
    static func webp(_ width: Int, _ height: Int) -> Data {
        Data(Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8X".utf8) + [10, 0, 0, 0] + [0, 0, 0, 0]
            + littleEndian(width - 1, 3) + littleEndian(height - 1, 3))
    }

    static func bigEndian(_ value: Int, _ count: Int) -> [UInt8] { (0..<count).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    static func littleEndian(_ value: Int, _ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

@Suite("Image sizes and provider limits")
struct ImageLimitsTests {
    let validator = SubmissionValidator(catalog: .standard, outbound: OutboundPolicy())

    func submit(_ model: String, _ image: Data) -> GatewayError? {
        let body: [String: JSONValue] = ["prompt": .string("p"), "model": .string(model), "image": .string(image.base64EncodedString())]
        do {
            _ = try validator.validate(body)
            return nil
        } catch {
            return error
        }
    }

    // Real 16x8 files written by ffmpeg 5.1: PNG, baseline JPEG, lossy WebP (VP8), lossless WebP (VP8L).
    @Test(arguments: [
        "iVBORw0KGgoAAAANSUhEUgAAABAAAAAICAIAAAB/FOjAAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAFElEQVR4nGP4y8BAEiJN9agGIhEAX7d+gfptJZ4AAAAASUVORK5CYII=",
        "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgEBAQEBAUFBQUFBQYGBgYGBgYGBgYGBgYHBwcICAgHBwcGBgcHCAgICAkJCQgICAgJCQoKCgwMCwsODg4RERT/xABMAAEBAAAAAAAAAAAAAAAAAAAABgEBAQAAAAAAAAAAAAAAAAAABgcQAQAAAAAAAAAAAAAAAAAAAAARAQAAAAAAAAAAAAAAAAAAAAD/wAARCAAIABADASIAAhEAAxEA/9oADAMBAAIRAxEAPwCLAFF/f//Z",
        "UklGRjwAAABXRUJQVlA4IDAAAADQAQCdASoQAAgAAgA0JaACdLoB+AADsAD+8Oj3/yC5YXXI1/8gP+QH/ID/+PIAAAA=",
        "UklGRhwAAABXRUJQVlA4TA8AAAAvD8ABAAcQ9Y/+ByKi/wEA",
    ])
    func sizeIsReadFromRealHeaders(base64: String) throws {
        #expect(ImageSize.read(try #require(Data(base64Encoded: base64))) == ImageSize(width: 16, height: 8))
    }

    @Test func syntheticHeadersOfEachFormatAreRead() {
        #expect(ImageSize.read(ImageHeaders.png(1234, 567)) == ImageSize(width: 1234, height: 567))
        #expect(ImageSize.read(ImageHeaders.jpeg(1234, 567)) == ImageSize(width: 1234, height: 567))
        #expect(ImageSize.read(ImageHeaders.webp(1234, 567)) == ImageSize(width: 1234, height: 567))
    }

    @Test(arguments: [
        Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        ImageHeaders.png(0, 400),
        Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 16]),
        Data([0xFF, 0xD8, 0xFF, 0xDA, 0, 2]),
        Data(Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8)),
    ])
    func truncatedOrSizelessHeadersAreRefusedAtSubmit(image: Data) {
        #expect(ImageSize.read(image) == nil)
        let error = submit("wan-2.5-i2v", image)
        #expect(error?.code == .invalidImage && error?.param == "image")
    }

    /// Each image-to-video model's provider limits, at and just beyond every bound (sources in docs/images-and-media.md).
    @Test(arguments: [
        // Veo documents no bound (it resizes or crops): every size is taken.
        ("veo3.1-i2v", 1, 1, true), ("veo3.1-i2v", 360, 359, true), ("veo3.1-i2v", 4000, 100, true), ("veo3-fast-i2v", 3840, 2160, true),
        ("kling-v2.5-turbo-pro-i2v", 1, 1, false), ("kling-v2.5-turbo-pro-i2v", 299, 400, false), ("kling-v2.5-turbo-pro-i2v", 300, 300, true),
        ("kling-v2.5-turbo-pro-i2v", 750, 300, true), ("kling-v2.5-turbo-pro-i2v", 751, 300, false), ("kling-v2.5-turbo-pro-i2v", 300, 751, false),
        ("kling-v2.5-turbo-pro-i2v", 8000, 8000, true),
        ("wan-2.5-i2v", 1, 1, false), ("wan-2.5-i2v", 359, 400, false), ("wan-2.5-i2v", 360, 360, true), ("wan-2.5-i2v", 2000, 360, true),
        ("wan-2.5-i2v", 2001, 1000, false), ("wan-2.5-i2v", 1000, 2001, false),
        ("seedance-v1.5-pro-i2v", 1, 1, false), ("seedance-v1.5-pro-i2v", 299, 500, false), ("seedance-v1.5-pro-i2v", 300, 300, true),
        ("seedance-v1.5-pro-i2v", 750, 300, true), ("seedance-v1.5-pro-i2v", 751, 300, false), ("seedance-v1.5-pro-i2v", 6000, 6000, true),
        ("seedance-v1.5-pro-i2v", 6001, 6000, false),
    ])
    func providerLimitsApplyAtSubmit(model: String, width: Int, height: Int, accepted: Bool) {
        for image in [ImageHeaders.png(width, height), ImageHeaders.jpeg(width, height), ImageHeaders.webp(width, height)] {
            let error = submit(model, image)
            if accepted {
                #expect(error == nil, "\(model) \(width)x\(height): \(String(describing: error))")
            } else {
                #expect(error?.code == .invalidImage && error?.param == "image", "\(model) \(width)x\(height)")
                #expect(error?.message.contains("\(width)x\(height)") == true)
            }
        }
    }

    @Test func imageStageComesBeforeTheAspectRatioAndDurationStages() {
        let body: [String: JSONValue] = [
            "prompt": .string("p"), "model": .string("kling-v2.5-turbo-pro-i2v"), "image": .string(ImageHeaders.png(1, 1).base64EncodedString()),
            "aspect_ratio": .string("2:1"), "duration": .number(7),
        ]
        #expect(throws: GatewayError.self) { try validator.validate(body) }
        do {
            _ = try validator.validate(body)
        } catch {
            #expect(error.code == .invalidImage)
        }
    }

    @Test func limitsComeFromTheModelsProviderAndVeoAndSoraTakeAnySize() {
        #expect(ImageLimits.of(.kling) == ImageLimits(minSide: 300, minAspect: 0.4, maxAspect: 2.5))
        #expect(ImageLimits.of(.veo) == nil)
        #expect(ImageLimits.of(.sora) == nil)
        #expect(ImageLimits.of(.sandbox) == nil)
        for model in Catalog.standard.models where model.mode == .imageToVideo && model.provider != .veo {
            #expect(ImageLimits.of(model.provider) != nil, "\(model.id) has no image limits")
        }
    }
}
