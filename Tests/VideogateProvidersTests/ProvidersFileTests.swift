import Foundation
import Testing
import VideogateDomain
@testable import VideogateProviders

@Suite("Providers file")
struct ProvidersFileTests {
    static let sample = #"""
        {"credentials": [
           {"name": "kling-a", "provider": "kling", "access_key": "env:KLING_AK_A", "secret_key": "env:KLING_SK_A",
            "base_url": "https://kling.example/", "weight": 2, "max_concurrency": 5},
           {"name": "kling-b", "provider": "kling", "access_key": "env:KLING_AK_B", "secret_key": "env:KLING_SK_B"},
           {"name": "veo-gemini", "provider": "veo", "api_key": "env:GEMINI_KEY"},
           {"name": "sora-azure", "provider": "sora", "api_key": "env:AZURE_KEY", "auth": "api-key", "base_url": "https://r.openai.azure.com/openai/v1"}],
         "aliases": {"video-fast": {"members": ["kling-v2.5-turbo-pro", "veo3-fast"], "credits": 2000}}}
        """#
    static let environment = [
        "KLING_AK_A": "ak-a", "KLING_SK_A": "sk-a", "KLING_AK_B": "ak-b", "KLING_SK_B": "sk-b", "GEMINI_KEY": "g", "AZURE_KEY": "az",
    ]

    @Test func theDocumentedExampleResolvesWithItsSecretsFromTheEnvironment() throws {
        let file = try ProvidersFile.parse(Data(Self.sample.utf8))
        #expect(file.aliases == [AliasDefinition(id: "video-fast", members: ["kling-v2.5-turbo-pro", "veo3-fast"], credits: 2000)])
        var settings = ProviderSettings()
        settings.file = file
        settings.environment = Self.environment
        let credentials = try settings.credentials()
        #expect(credentials.map(\.name) == ["kling-a", "kling-b", "veo-gemini", "sora-azure"])
        let first = credentials[0]
        #expect(first.baseURL == "https://kling.example" && first.weight == 2 && first.maxConcurrency == 5 && first.route == .api)
        #expect(credentials[1].baseURL == "https://api-singapore.klingai.com" && credentials[1].weight == 1 && credentials[1].maxConcurrency == nil)
        #expect(credentials[2].route == .gemini && credentials[2].apiKey == "g")
        guard case .openAI("az", .apiKey) = credentials[3].auth else {
            Issue.record("the Azure credential sends api-key")
            return
        }
        // What is stored with a job holds references, never secrets.
        let stored = first.definition.storedJSON
        #expect(stored.contains("env:KLING_SK_A") && !stored.contains("sk-a"))
    }

    @Test func theSingleCredentialVariablesAreOneCredentialEachBeforeTheFile() throws {
        var settings = ProviderSettings()
        settings.klingAccessKey = "ak"
        settings.klingSecretKey = "sk"
        settings.dashscopeKey = "d"
        settings.file = try ProvidersFile.parse(Data(Self.sample.utf8))
        settings.environment = Self.environment
        let names = try settings.credentials().map(\.name)
        #expect(names == ["kling", "wan", "kling-a", "kling-b", "veo-gemini", "sora-azure"])
        #expect(settings.configured == [.kling, .wan, .veo, .sora])
        // The file may not reuse their names.
        settings.file = try ProvidersFile.parse(Data(#"{"credentials": [{"name": "wan", "provider": "wan", "api_key": "env:X"}]}"#.utf8))
        #expect(throws: ProvidersFileError.self) { try settings.credentials() }
    }

    @Test(arguments: [
        (#"[]"#, "must be a JSON object"),
        (#"{"credentials": {}}"#, "credentials: must be an array"),
        (#"{"creds": []}"#, "creds: unknown field"),
        (#"{"credentials": [{"provider": "wan", "api_key": "env:K"}]}"#, "credentials[0].name: required"),
        (#"{"credentials": [{"name": "a b", "provider": "wan", "api_key": "env:K"}]}"#, "credentials[0].name:"),
        (#"{"credentials": [{"name": "a", "provider": "wan", "api_key": "env:K", "colour": 1}]}"#, "credentials[0].colour: unknown field"),
        (#"{"credentials": [{"name": "a", "provider": "wan", "api_key": "env:K", "weight": "2"}]}"#, "credentials[0].weight: must be a whole number"),
        (
            #"{"credentials": [{"name": "a", "provider": "wan", "api_key": "env:K"}, {"name": "a", "provider": "wan", "api_key": "env:K"}]}"#,
            "credentials[1].name: 'a' is used by another credential"
        ),
        (#"{"aliases": {"x": {"members": [], "credits": 5}}}"#, "aliases.x.members: must be a non-empty array"),
        (#"{"aliases": {"x": {"members": ["a", "a"], "credits": 5}}}"#, "aliases.x.members[1]: 'a' is listed twice"),
        (#"{"aliases": {"x": {"members": ["a"], "credits": 0}}}"#, "aliases.x.credits:"),
        (#"{"aliases": {"x": {"members": ["a"], "credits": 5, "price": 1}}}"#, "aliases.x.price: unknown field"),
    ])
    func aMalformedFileIsRefusedNamingTheField(json: String, message: String) {
        #expect {
            try ProvidersFile.parse(Data(json.utf8))
        } throws: { error in
            (error as? ProvidersFileError)?.description.contains(message) == true
        }
    }

    @Test(arguments: [
        (#"{"name": "a", "provider": "luma", "api_key": "env:K"}"#, "credentials[0].provider: 'luma' is not one of"),
        (#"{"name": "a", "provider": "wan", "api_key": "sk-live-123"}"#, "credentials[0].api_key: secrets are given as \"env:NAME\""),
        (#"{"name": "a", "provider": "wan", "api_key": "env:MISSING"}"#, "credentials[0].api_key: the environment variable MISSING is not set"),
        (#"{"name": "a", "provider": "wan"}"#, "credentials[0].api_key: required"),
        (#"{"name": "a", "provider": "kling", "access_key": "env:K"}"#, "credentials[0].secret_key: required"),
        (#"{"name": "a", "provider": "kling", "access_key": "env:K", "secret_key": "env:K", "api_key": "env:K"}"#, "credentials[0].api_key: not used"),
        (#"{"name": "a", "provider": "wan", "api_key": "env:K", "route": "vertex"}"#, "credentials[0].route: only veo"),
        (#"{"name": "a", "provider": "veo", "api_key": "env:K", "route": "api"}"#, "credentials[0].route: a veo credential's route is gemini or vertex"),
        (#"{"name": "a", "provider": "veo", "route": "vertex", "project": "p", "location": "l"}"#, "credentials[0].service_account_file: required"),
        (#"{"name": "a", "provider": "wan", "api_key": "env:K", "base_url": "ftp://x"}"#, "credentials[0].base_url:"),
        (#"{"name": "a", "provider": "wan", "api_key": "env:K", "weight": 0}"#, "credentials[0].weight: must be from 1 to 1000"),
        (#"{"name": "a", "provider": "wan", "api_key": "env:K", "max_concurrency": 0}"#, "credentials[0].max_concurrency:"),
        (#"{"name": "a", "provider": "wan", "api_key": "env:K", "auth": "api-key"}"#, "credentials[0].auth: not used"),
        (#"{"name": "a", "provider": "sora", "api_key": "env:K", "auth": "basic"}"#, "credentials[0].auth: 'basic' is not bearer or api-key"),
    ])
    func anUnusableCredentialIsRefusedNamingTheField(entry: String, message: String) throws {
        var settings = ProviderSettings()
        settings.file = try ProvidersFile.parse(Data(#"{"credentials": [\#(entry)]}"#.utf8))
        settings.environment = ["K": "value"]
        #expect {
            try settings.credentials()
        } throws: { error in
            (error as? ProvidersFileError)?.description.contains(message) == true
        }
    }

    @Test func aJobBoundToACredentialThatLeftTheFileKeepsItWhileItsSecretResolves() throws {
        let definition = CredentialDefinition(name: "old", provider: "wan", baseURL: "https://old.example/api/v1", apiKey: "env:OLD_KEY")
        let pool = CredentialPool([], environment: ["OLD_KEY": "still-here"])
        let credential = try pool.bound(name: "old", definition: definition.storedJSON, provider: .wan)
        #expect(credential.name == "old" && credential.apiKey == "still-here" && credential.baseURL == "https://old.example/api/v1")
        let gone = CredentialPool([], environment: [:])
        #expect(throws: ProviderFailure.self) { try gone.bound(name: "old", definition: definition.storedJSON, provider: .wan) }
        do {
            _ = try gone.bound(name: "old", definition: definition.storedJSON, provider: .wan)
        } catch {
            guard case .final(let failure) = error else { throw error }
            #expect(failure.code == .providerError && failure.message.contains("OLD_KEY"))
        }
    }
}
