import Foundation
import VideogateDomain
import VideogateProviders

/// An adapter with one credential, so that adapter tests call `submit`, `poll` and `fetchResult`
/// as a worker does for a job bound to that credential.
struct BoundProvider<Provider: VideoProvider>: Sendable {
    let provider: Provider
    let credential: ProviderCredential

    init(_ provider: Provider, _ credential: ProviderCredential) {
        self.provider = provider
        self.credential = credential
    }

    var schedule: PollSchedule { provider.schedule }

    func submit(_ request: ProviderRequest) async throws(ProviderFailure) -> ProviderSubmission {
        try await provider.submit(request, on: credential)
    }

    func poll(_ handle: ProviderHandle) async throws(ProviderFailure) -> ProviderPoll {
        try await provider.poll(handle, on: credential)
    }

    func fetchResult(_ handle: ProviderHandle, result: ProviderResult, to destination: URL) async throws(ProviderFailure) {
        try await provider.fetchResult(handle, result: result, to: destination, on: credential)
    }
}

extension ProviderCredential {
    /// A key credential named `test` for adapter tests.
    static func test(_ provider: ProviderKind, baseURL: String, key: String) -> ProviderCredential {
        ProviderCredential(name: "test", provider: provider, baseURL: baseURL, auth: .key(key))
    }
}
