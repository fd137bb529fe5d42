import Foundation

/// A submission that passed every check of api.md except credits and the caller's limits.
public struct Submission: Sendable, Equatable {
    public var model: VideoModel
    public var mode: GenerationMode
    public var prompt: String
    public var image: ImageInput?
    public var aspectRatio: AspectRatio
    public var duration: Int
    public var webhookURL: String?
    public var metadata: [String: String]

    public init(
        model: VideoModel, mode: GenerationMode, prompt: String, image: ImageInput?, aspectRatio: AspectRatio, duration: Int,
        webhookURL: String?, metadata: [String: String]
    ) {
        self.model = model
        self.mode = mode
        self.prompt = prompt
        self.image = image
        self.aspectRatio = aspectRatio
        self.duration = duration
        self.webhookURL = webhookURL
        self.metadata = metadata
    }
}

/// The body checks of `POST /v1/video`, in the order api.md fixes:
/// types of known fields (`invalid_json` with `param`) → prompt → model → mode → image →
/// aspect ratio → duration → webhook_url → metadata. The first failure answers.
public struct SubmissionValidator: Sendable {
    public static let maxPromptCharacters = 4000
    public static let maxMetadataEntries = 16
    public static let maxMetadataKeyCharacters = 64
    public static let maxMetadataValueCharacters = 512

    public var catalog: Catalog
    public var outbound: OutboundPolicy

    public init(catalog: Catalog, outbound: OutboundPolicy) {
        self.catalog = catalog
        self.outbound = outbound
    }

    /// Validates a decoded JSON object. Unknown fields are ignored; `null` counts as absent.
    public func validate(_ body: [String: JSONValue]) throws(GatewayError) -> Submission {
        // Types first: a field of the wrong JSON type is a malformed body.
        let prompt = try string(body, "prompt")
        let modelID = try string(body, "model")
        let modeText = try string(body, "mode")
        let imageText = try string(body, "image")
        let ratioText = try string(body, "aspect_ratio")
        let duration = try integer(body, "duration")
        let webhook = try string(body, "webhook_url")
        let metadataValue = try object(body, "metadata")

        let trimmed = (prompt ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw GatewayError(.missingPrompt, "The prompt is required and must not be empty.", param: "prompt") }
        guard trimmed.unicodeScalars.count <= Self.maxPromptCharacters else {
            throw GatewayError(
                .promptTooLong, "The prompt is longer than \(Self.maxPromptCharacters) characters.", param: "prompt")
        }

        guard let modelID, let model = catalog.model(modelID) else {
            let given = modelID.map { "'\($0)' is not a supported model." } ?? "The model is required."
            throw GatewayError(.invalidModel, "\(given) See GET /v1/models for the model ids.", param: "model")
        }

        let mode: GenerationMode
        if let modeText {
            guard let parsed = GenerationMode(rawValue: modeText) else {
                throw GatewayError(.invalidMode, "The mode must be \"text-to-video\" or \"image-to-video\".", param: "mode")
            }
            mode = parsed
        } else {
            mode = model.mode
        }
        guard mode == model.mode else {
            let serving = catalog.modelIDs(for: mode).joined(separator: ", ")
            throw GatewayError(
                .invalidMode, "The model '\(model.id)' does not serve \(mode.rawValue); models that do: \(serving).", param: "mode")
        }

        var image: ImageInput?
        if mode == .imageToVideo {
            guard let imageText, !imageText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw GatewayError(.missingImage, "An image is required for image-to-video.", param: "image")
            }
            image = try ImageInput.parse(imageText, policy: outbound)
            // Bytes are checked here against the model's provider (test keys too, so test and live agree);
            // a URL's size is known only once the worker fetches it.
            if case .bytes(let data, _) = image {
                guard let size = ImageSize.read(data) else {
                    throw GatewayError(.invalidImage, "The image's header does not state a readable pixel size.", param: "image")
                }
                // An alias's job may run on any member: the image must suit each member's provider.
                let providers = model.isAlias ? catalog.members(of: model.id).map(\.provider) : [model.provider]
                for provider in providers { try ImageLimits.of(provider)?.check(size, provider: provider.displayName) }
            }
        }

        var ratio = model.defaultAspectRatio
        if let ratioText {
            guard let parsed = AspectRatio(rawValue: ratioText) else {
                throw GatewayError(.invalidAspectRatio, "The aspect_ratio must be one of 16:9, 9:16, 1:1.", param: "aspect_ratio")
            }
            // A ratio the model does not render falls back to its default (the response shows it).
            ratio = model.aspectRatios.contains(parsed) ? parsed : model.defaultAspectRatio
        }

        let seconds = duration ?? model.defaultDuration
        guard model.durations.contains(seconds) else {
            let accepted = model.durations.map(String.init).joined(separator: ", ")
            throw GatewayError(
                .invalidDuration, "The model '\(model.id)' accepts durations of \(accepted) seconds.", param: "duration")
        }

        if let webhook {
            guard webhook.utf8.count <= ImageInput.maxURLLength else {
                throw GatewayError(.invalidWebhookURL, "The webhook_url is too long.", param: "webhook_url")
            }
            do {
                try outbound.checkURL(webhook)
            } catch {
                throw GatewayError(.invalidWebhookURL, "The webhook_url is not allowed: \(error.reason).", param: "webhook_url")
            }
        }

        let metadata = try validateMetadata(metadataValue)
        return Submission(
            model: model, mode: mode, prompt: trimmed, image: image, aspectRatio: ratio, duration: seconds, webhookURL: webhook,
            metadata: metadata)
    }

    private func validateMetadata(_ value: [String: JSONValue]?) throws(GatewayError) -> [String: String] {
        guard let value else { return [:] }
        guard value.count <= Self.maxMetadataEntries else {
            throw GatewayError(.invalidMetadata, "The metadata may hold at most \(Self.maxMetadataEntries) keys.", param: "metadata")
        }
        var result: [String: String] = [:]
        for (key, entry) in value {
            guard !key.isEmpty, key.unicodeScalars.count <= Self.maxMetadataKeyCharacters else {
                throw GatewayError(
                    .invalidMetadata, "Metadata keys must be 1 to \(Self.maxMetadataKeyCharacters) characters.", param: "metadata")
            }
            guard case .string(let text) = entry else {
                throw GatewayError(.invalidMetadata, "The metadata value of '\(key)' must be a string.", param: "metadata")
            }
            guard text.unicodeScalars.count <= Self.maxMetadataValueCharacters else {
                throw GatewayError(
                    .invalidMetadata, "The metadata value of '\(key)' is longer than \(Self.maxMetadataValueCharacters) characters.",
                    param: "metadata")
            }
            result[key] = text
        }
        return result
    }

    private func string(_ body: [String: JSONValue], _ field: String) throws(GatewayError) -> String? {
        switch body[field] {
        case nil, .null: return nil
        case .string(let value): return value
        case let other?: throw typeError(field, "a string", other)
        }
    }

    private func integer(_ body: [String: JSONValue], _ field: String) throws(GatewayError) -> Int? {
        switch body[field] {
        case nil, .null: return nil
        case .number(let value):
            guard value.rounded() == value, abs(value) < 1e9 else { throw typeError(field, "an integer", .number(value)) }
            return Int(value)
        case let other?: throw typeError(field, "an integer", other)
        }
    }

    private func object(_ body: [String: JSONValue], _ field: String) throws(GatewayError) -> [String: JSONValue]? {
        switch body[field] {
        case nil, .null: return nil
        case .object(let value): return value
        case let other?: throw typeError(field, "an object", other)
        }
    }

    private func typeError(_ field: String, _ expected: String, _ got: JSONValue) -> GatewayError {
        GatewayError(.invalidJSON, "The field '\(field)' must be \(expected), not \(got.typeName).", param: field)
    }
}
