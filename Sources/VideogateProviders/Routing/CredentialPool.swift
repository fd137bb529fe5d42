import Foundation
import VideogateDomain

/// Every credential of this process, by provider in the providers file's order, and the
/// environment that resolves the `env:` references of jobs bound to a credential that has left it.
public struct CredentialPool: Sendable {
    public let all: [ProviderCredential]
    let environment: [String: String]

    public init(_ credentials: [ProviderCredential], environment: [String: String] = [:]) {
        self.all = credentials
        self.environment = environment
    }

    /// The credentials of `provider`, in the file's order.
    public func of(_ provider: ProviderKind) -> [ProviderCredential] {
        all.filter { $0.provider == provider }
    }

    public func named(_ name: String) -> ProviderCredential? {
        all.first { $0.name == name }
    }

    /// The providers with at least one credential.
    public var providers: Set<ProviderKind> { Set(all.map(\.provider)) }

    /// The credential that a job bound to `name` uses: the pool's entry of that name, or else the
    /// entry stored with the job, its secrets read from the environment again. A job handed
    /// upstream before credentials were stored with jobs uses its provider's first credential.
    /// - Throws: `ProviderFailure.final` (`provider_error`) when the credential is gone and its
    ///   secrets can no longer be read.
    public func bound(name: String?, definition: String?, provider: ProviderKind) throws(ProviderFailure) -> ProviderCredential {
        if provider == .sandbox { return .sandbox }
        guard let name else {
            guard let first = of(provider).first else {
                throw .final(JobFailure(.providerError, "The provider \(provider.displayName) is not configured on this server."))
            }
            return first
        }
        if let credential = named(name), credential.provider == provider { return credential }
        guard let text = definition, let stored = try? JSONDecoder().decode(CredentialDefinition.self, from: Data(text.utf8)) else {
            throw .final(JobFailure(.providerError, "The credential '\(name)' that this job was handed to is no longer configured."))
        }
        do {
            return try stored.resolve(environment: environment, field: "credential '\(name)'")
        } catch {
            throw .final(
                JobFailure(
                    .providerError,
                    "The credential '\(name)' that this job was handed to left the providers file and can no longer be used: \(error.description)"))
        }
    }
}

extension CredentialDefinition {
    /// The entry as stored with a job: compact JSON, keys sorted.
    public var storedJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
