extension Catalog {
    /// An alias of the providers file (operations.md, "Provider routing"): a catalog id of its own
    /// with its own price, served by its member models in order.
    public struct Alias: Sendable, Equatable {
        public var id: String
        /// Model ids, in the order a job is offered to them.
        public var members: [String]
        public var credits: Int

        public init(id: String, members: [String], credits: Int) {
            self.id = id
            self.members = members
            self.credits = credits
        }
    }

    /// The catalog with `aliases` added after its models. An alias accepts the durations and aspect
    /// ratios that every member accepts (in the first member's order); its default duration and
    /// aspect ratio are the first member's when every member accepts them, else the smallest
    /// common duration and the first common ratio. Its provider and upstream model are the first
    /// member's: where a job of it starts.
    ///
    /// - Throws: `CatalogError` naming the field (`aliases.video-fast.members[1]: ...`) when an id
    ///   is taken or malformed, a member is unknown, disabled, an alias or of another mode, the
    ///   price is negative, or no duration or aspect ratio is common to all members.
    public func adding(_ aliases: [Alias]) throws(CatalogError) -> Catalog {
        var models = self.models
        let aliasIDs = Set(aliases.map(\.id))
        var added = Set<String>()
        for alias in aliases {
            let field = "aliases.\(alias.id)"
            guard Self.isValidID(alias.id) else {
                throw CatalogError("\(field): '\(alias.id)' must be 1 to 64 letters, digits, '-', '_' or '.'")
            }
            guard !self.models.contains(where: { $0.id == alias.id }) else {
                throw CatalogError("\(field): '\(alias.id)' is already a model id; an alias needs an id of its own")
            }
            guard added.insert(alias.id).inserted else { throw CatalogError("\(field): '\(alias.id)' is defined twice") }
            guard alias.credits >= 0 else { throw CatalogError("\(field).credits: must not be negative") }
            guard !alias.members.isEmpty else { throw CatalogError("\(field).members: must list at least one model id") }
            var members: [VideoModel] = []
            for (index, id) in alias.members.enumerated() {
                let memberField = "\(field).members[\(index)]"
                guard !aliasIDs.contains(id) else { throw CatalogError("\(memberField): '\(id)' is an alias; members must be models") }
                guard let known = self.models.first(where: { $0.id == id }) else {
                    throw CatalogError("\(memberField): '\(id)' is not a model id (see GET /v1/models)")
                }
                guard known.enabled else { throw CatalogError("\(memberField): '\(id)' is disabled in the catalog") }
                guard !members.contains(where: { $0.id == id }) else { throw CatalogError("\(memberField): '\(id)' is listed twice") }
                if let lead = members.first, known.mode != lead.mode {
                    throw CatalogError(
                        "\(memberField): '\(id)' is \(known.mode.rawValue) but the first member '\(lead.id)' is \(lead.mode.rawValue); "
                            + "members must share a mode")
                }
                members.append(known)
            }
            let lead = members[0]
            let durations = lead.durations.filter { duration in members.allSatisfy { $0.durations.contains(duration) } }
            guard let smallest = durations.min() else {
                throw CatalogError("\(field).members: no duration is accepted by every member")
            }
            let ratios = lead.aspectRatios.filter { ratio in members.allSatisfy { $0.aspectRatios.contains(ratio) } }
            guard !ratios.isEmpty else { throw CatalogError("\(field).members: no aspect ratio is accepted by every member") }
            // In the lead's order, so that its default ratio (the first) stays the default when common.
            models.append(
                VideoModel(
                    id: alias.id, provider: lead.provider, mode: lead.mode, credits: alias.credits, durations: durations,
                    defaultDuration: durations.contains(lead.defaultDuration) ? lead.defaultDuration : smallest, aspectRatios: ratios,
                    upstreamModel: lead.upstreamModel, members: members.map(\.id)))
        }
        return Catalog(models: models)
    }

    /// The models a job of `id` may run on, in order: an alias's members, `[model]` for a plain
    /// model, none for an id that is not an enabled catalog entry.
    public func members(of id: String) -> [VideoModel] {
        guard let model = model(id) else { return [] }
        guard model.isAlias else { return [model] }
        return model.members.compactMap { self.model($0) }
    }

    /// The model ids a job of `id` is offered to, in order: an alias's members, `[id]` for a plain
    /// model, none for an id that is not an enabled catalog entry (say, an alias removed from the
    /// providers file since the job was created: route it by its own provider and upstream model).
    /// The ids of `members(of:)`, whose models carry each member's provider and upstream model.
    public func memberIDs(of id: String) -> [String] { members(of: id).map(\.id) }

    /// Whether `id` is an alias of this catalog.
    public func isAlias(_ id: String) -> Bool { model(id)?.isAlias ?? false }

    static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.count <= 64 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }
}
