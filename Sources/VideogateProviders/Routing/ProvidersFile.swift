import Foundation
import VideogateDomain

/// One entry of `credentials` in the providers file (operations.md, "Provider routing"), as
/// written: secrets are `env:NAME` references, never values. Stored with every job bound to the
/// credential, so it holds no secret.
public struct CredentialDefinition: Sendable, Codable, Equatable {
    public var name: String
    public var provider: String
    public var route: String?
    public var baseURL: String?
    public var apiKey: String?
    public var accessKey: String?
    public var secretKey: String?
    /// Sora only: `bearer` (default) or `api-key` (Azure OpenAI).
    public var auth: String?
    public var serviceAccountFile: String?
    public var project: String?
    public var location: String?
    public var weight: Int?
    public var maxConcurrency: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, provider, route, auth, project, location, weight
        case baseURL = "base_url"
        case apiKey = "api_key"
        case accessKey = "access_key"
        case secretKey = "secret_key"
        case serviceAccountFile = "service_account_file"
        case maxConcurrency = "max_concurrency"
    }

    public init(
        name: String, provider: String, route: String? = nil, baseURL: String? = nil, apiKey: String? = nil, accessKey: String? = nil,
        secretKey: String? = nil, auth: String? = nil, serviceAccountFile: String? = nil, project: String? = nil, location: String? = nil,
        weight: Int? = nil, maxConcurrency: Int? = nil
    ) {
        self.name = name
        self.provider = provider
        self.route = route
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.auth = auth
        self.serviceAccountFile = serviceAccountFile
        self.project = project
        self.location = location
        self.weight = weight
        self.maxConcurrency = maxConcurrency
    }

    /// The credential, with its secrets read from `environment`. `field` prefixes the names in
    /// error messages (`credentials[2]`).
    public func resolve(environment: [String: String], field: String = "credential") throws(ProvidersFileError) -> ProviderCredential {
        guard let kind = ProviderKind(rawValue: provider), kind != .sandbox else {
            throw ProvidersFileError("\(field).provider: '\(provider)' is not one of veo, sora, kling, wan, seedance")
        }
        let routeValue: CredentialRoute
        if let route {
            guard let value = CredentialRoute(rawValue: route) else {
                throw ProvidersFileError("\(field).route: '\(route)' is not one of api, gemini, vertex")
            }
            routeValue = value
        } else {
            routeValue = .standard(for: kind)
        }
        switch (kind, routeValue) {
        case (.veo, .gemini), (.veo, .vertex): break
        case (.veo, .api): throw ProvidersFileError("\(field).route: a veo credential's route is gemini or vertex")
        case (_, .api): break
        default: throw ProvidersFileError("\(field).route: only veo credentials take the route '\(routeValue.rawValue)'")
        }
        func secret(_ value: String?, _ key: String) throws(ProvidersFileError) -> String {
            guard let value else { throw ProvidersFileError("\(field).\(key): required for a \(kind.rawValue) credential") }
            return try Self.secret(value, field: "\(field).\(key)", environment: environment)
        }
        func refuse(_ value: Any?, _ key: String) throws(ProvidersFileError) {
            if value != nil { throw ProvidersFileError("\(field).\(key): not used by a \(kind.rawValue) credential on the route \(routeValue.rawValue)") }
        }
        let auth: CredentialAuth
        switch (kind, routeValue) {
        case (.kling, _):
            try refuse(apiKey, "api_key")
            auth = .kling(KlingTokens(accessKey: try secret(accessKey, "access_key"), secretKey: try secret(secretKey, "secret_key")))
        case (.veo, .vertex):
            try refuse(apiKey, "api_key")
            guard let file = serviceAccountFile, !file.isEmpty else {
                throw ProvidersFileError("\(field).service_account_file: required on the route vertex")
            }
            guard let project, !project.isEmpty else { throw ProvidersFileError("\(field).project: required on the route vertex") }
            guard let location, !location.isEmpty else { throw ProvidersFileError("\(field).location: required on the route vertex") }
            auth = .vertex(try VertexAccess.load(serviceAccountFile: file, project: project, location: location, field: field))
        case (.sora, _):
            let style: SoraProvider.AuthStyle
            if let text = self.auth {
                guard let value = SoraProvider.AuthStyle(rawValue: text) else { throw ProvidersFileError("\(field).auth: '\(text)' is not bearer or api-key") }
                style = value
            } else {
                style = .bearer
            }
            auth = .openAI(try secret(apiKey, "api_key"), style)
        default:
            auth = .key(try secret(apiKey, "api_key"))
        }
        if kind != .kling {
            try refuse(accessKey, "access_key")
            try refuse(secretKey, "secret_key")
        }
        if routeValue != .vertex {
            try refuse(serviceAccountFile, "service_account_file")
            try refuse(project, "project")
            try refuse(location, "location")
        }
        if kind != .sora { try refuse(self.auth, "auth") }
        let base = baseURL ?? ProviderCredential.defaultBaseURL(kind, route: routeValue, location: location)
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http", url.host?.isEmpty == false,
            url.query == nil, url.fragment == nil
        else {
            throw ProvidersFileError("\(field).base_url: '\(base)' is not an http(s) URL without a query")
        }
        if let weight, weight < 1 || weight > 1_000 { throw ProvidersFileError("\(field).weight: must be from 1 to 1000, not \(weight)") }
        if let maxConcurrency, maxConcurrency < 1 || maxConcurrency > 100_000 {
            throw ProvidersFileError("\(field).max_concurrency: must be from 1 to 100000, not \(maxConcurrency)")
        }
        return ProviderCredential(
            name: name, provider: kind, route: routeValue, baseURL: base, weight: weight ?? 1, maxConcurrency: maxConcurrency, auth: auth,
            definition: self)
    }

    /// The value of an `env:NAME` reference; anything else is refused, so that no secret is written in the file.
    static func secret(_ reference: String, field: String, environment: [String: String]) throws(ProvidersFileError) -> String {
        guard reference.hasPrefix("env:") else {
            throw ProvidersFileError("\(field): secrets are given as \"env:NAME\" (an environment variable), never written in the file")
        }
        let name = String(reference.dropFirst(4))
        guard !name.isEmpty else { throw ProvidersFileError("\(field): \"env:\" names no variable") }
        guard let value = environment[name], !value.isEmpty else {
            throw ProvidersFileError("\(field): the environment variable \(name) is not set")
        }
        return value
    }
}

/// An alias of the providers file: a catalog id of its own that runs on the first of its member
/// models whose provider has a healthy credential.
public struct AliasDefinition: Sendable, Equatable {
    public var id: String
    public var members: [String]
    public var credits: Int
    public init(id: String, members: [String], credits: Int) {
        self.id = id
        self.members = members
        self.credits = credits
    }
}

/// A providers file that cannot be used; the message names the field.
public struct ProvidersFileError: Error, Sendable, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The providers file (`VIDEOGATE_PROVIDERS_FILE`): credentials and model aliases.
public struct ProvidersFile: Sendable {
    public var credentials: [CredentialDefinition]
    public var aliases: [AliasDefinition]

    public init(credentials: [CredentialDefinition] = [], aliases: [AliasDefinition] = []) {
        self.credentials = credentials
        self.aliases = aliases
    }

    /// Reads the file's JSON, checking every field: unknown fields, wrong types, duplicate names
    /// and empty lists are refused with a message naming the field.
    public static func parse(_ data: Data) throws(ProvidersFileError) -> ProvidersFile {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ProvidersFileError("the providers file is not valid JSON")
        }
        guard case .object(let top) = root else { throw ProvidersFileError("the providers file must be a JSON object") }
        for key in top.keys where key != "credentials" && key != "aliases" {
            throw ProvidersFileError("\(key): unknown field (the file has credentials and aliases)")
        }
        var file = ProvidersFile()
        if let credentials = top["credentials"] {
            guard case .array(let entries) = credentials else { throw ProvidersFileError("credentials: must be an array") }
            var names = Set<String>()
            for (index, entry) in entries.enumerated() {
                let field = "credentials[\(index)]"
                let definition = try credential(entry, field: field)
                guard names.insert(definition.name).inserted else {
                    throw ProvidersFileError("\(field).name: '\(definition.name)' is used by another credential")
                }
                file.credentials.append(definition)
            }
        }
        if let aliases = top["aliases"] {
            guard case .object(let entries) = aliases else { throw ProvidersFileError("aliases: must be an object of alias ids") }
            for id in entries.keys.sorted() {
                let field = "aliases.\(id)"
                guard case .object(let alias)? = entries[id] else { throw ProvidersFileError("\(field): must be an object") }
                for key in alias.keys where key != "members" && key != "credits" {
                    throw ProvidersFileError("\(field).\(key): unknown field (an alias has members and credits)")
                }
                guard case .array(let list)? = alias["members"], !list.isEmpty else {
                    throw ProvidersFileError("\(field).members: must be a non-empty array of model ids")
                }
                var members: [String] = []
                for (index, member) in list.enumerated() {
                    guard case .string(let text) = member, !text.isEmpty else {
                        throw ProvidersFileError("\(field).members[\(index)]: must be a model id")
                    }
                    guard !members.contains(text) else { throw ProvidersFileError("\(field).members[\(index)]: '\(text)' is listed twice") }
                    members.append(text)
                }
                guard case .number(let credits)? = alias["credits"], credits == credits.rounded(), credits >= 1, credits <= 10_000_000 else {
                    throw ProvidersFileError("\(field).credits: must be a whole number from 1 to 10000000")
                }
                file.aliases.append(AliasDefinition(id: id, members: members, credits: Int(credits)))
            }
        }
        return file
    }

    static func credential(_ value: JSONValue, field: String) throws(ProvidersFileError) -> CredentialDefinition {
        guard case .object(let object) = value else { throw ProvidersFileError("\(field): must be an object") }
        let known = Set(CredentialDefinition.CodingKeys.allCases.map(\.rawValue))
        for key in object.keys.sorted() where !known.contains(key) {
            throw ProvidersFileError("\(field).\(key): unknown field")
        }
        func string(_ key: CredentialDefinition.CodingKeys) throws(ProvidersFileError) -> String? {
            switch object[key.rawValue] {
            case nil, .null?: return nil
            case .string(let text)?:
                guard !text.isEmpty else { throw ProvidersFileError("\(field).\(key.rawValue): must not be empty") }
                return text
            default: throw ProvidersFileError("\(field).\(key.rawValue): must be a string")
            }
        }
        func integer(_ key: CredentialDefinition.CodingKeys) throws(ProvidersFileError) -> Int? {
            switch object[key.rawValue] {
            case nil, .null?: return nil
            case .number(let number)? where number == number.rounded() && abs(number) < 1e9: return Int(number)
            default: throw ProvidersFileError("\(field).\(key.rawValue): must be a whole number")
            }
        }
        guard let name = try string(.name) else { throw ProvidersFileError("\(field).name: required") }
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }), name.count <= 64 else {
            throw ProvidersFileError("\(field).name: '\(name)' must be at most 64 letters, digits, '-', '_' or '.'")
        }
        guard let provider = try string(.provider) else { throw ProvidersFileError("\(field).provider: required") }
        return CredentialDefinition(
            name: name, provider: provider, route: try string(.route), baseURL: try string(.baseURL), apiKey: try string(.apiKey),
            accessKey: try string(.accessKey), secretKey: try string(.secretKey), auth: try string(.auth),
            serviceAccountFile: try string(.serviceAccountFile), project: try string(.project), location: try string(.location),
            weight: try integer(.weight), maxConcurrency: try integer(.maxConcurrency))
    }
}
