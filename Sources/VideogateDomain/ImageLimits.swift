/// A provider's documented limits on start images: the pixel size of each side and the aspect
/// ratio (width / height), bounds included. Sources are listed in `docs/images-and-media.md`.
public struct ImageLimits: Sendable, Equatable {
    /// Smallest accepted width and height in pixels.
    public var minSide: Int
    /// Largest accepted width and height in pixels; nil when the provider states none.
    public var maxSide: Int?
    /// Smallest accepted width / height (e.g. 0.4 for 1:2.5).
    public var minAspect: Double
    /// Largest accepted width / height (e.g. 2.5 for 2.5:1).
    public var maxAspect: Double

    /// Limits with the given bounds.
    public init(minSide: Int, maxSide: Int? = nil, minAspect: Double, maxAspect: Double) {
        self.minSide = minSide
        self.maxSide = maxSide
        self.minAspect = minAspect
        self.maxAspect = maxAspect
    }

    /// The limits of a provider's image-to-video input, or nil when its documentation states none
    /// (Veo resizes or crops other sizes; for Sora the adapter fits the image to the video size).
    /// Test keys' jobs get the limits of the model's own provider, which the catalog names.
    public static func of(_ provider: ProviderKind) -> ImageLimits? {
        switch provider {
        // Kling image2video: width and height at least 300 px, aspect ratio 1:2.5 to 2.5:1.
        case .kling: ImageLimits(minSide: 300, minAspect: 0.4, maxAspect: 2.5)
        // DashScope wan2.5-i2v-preview: width and height within [360, 2000] px; no aspect bound stated.
        case .wan: ImageLimits(minSide: 360, maxSide: 2000, minAspect: 360.0 / 2000, maxAspect: 2000.0 / 360)
        // ModelArk Seedance 1.5 pro: sides (300, 6000) px, aspect ratio (0.4, 2.5).
        case .seedance: ImageLimits(minSide: 300, maxSide: 6000, minAspect: 0.4, maxAspect: 2.5)
        // Gemini API Veo: no bound is documented (720p, 16:9 or 9:16 recommended; other sizes are
        // resized or cropped), so none is invented here.
        case .veo, .sora, .sandbox: nil
        }
    }

    /// Checks a decoded image size against the limits.
    /// - Throws: `GatewayError` `invalid_image` (param `image`) naming the size and the bound it breaks.
    public func check(_ size: ImageSize, provider: String) throws(GatewayError) {
        let smaller = min(size.width, size.height)
        let larger = max(size.width, size.height)
        if smaller < minSide {
            throw GatewayError(
                .invalidImage, "The image is \(size) pixels; \(provider) needs at least \(minSide) pixels on each side.", param: "image")
        }
        if let maxSide, larger > maxSide {
            throw GatewayError(
                .invalidImage, "The image is \(size) pixels; \(provider) takes at most \(maxSide) pixels on each side.", param: "image")
        }
        let aspect = Double(size.width) / Double(size.height)
        // A hair of tolerance so that an exact 2.5:1 (e.g. 750x300) is not refused by rounding.
        if aspect < minAspect * (1 - 1e-9) || aspect > maxAspect * (1 + 1e-9) {
            throw GatewayError(
                .invalidImage,
                "The image is \(size) pixels; \(provider) takes width/height ratios from \(Self.ratio(minAspect)) to \(Self.ratio(maxAspect)).",
                param: "image")
        }
    }

    private static func ratio(_ value: Double) -> String {
        value >= 1 ? "\(trimmed(value)):1" : "1:\(trimmed(1 / value))"
    }

    private static func trimmed(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
