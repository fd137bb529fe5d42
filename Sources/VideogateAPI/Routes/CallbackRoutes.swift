import Foundation
import Hummingbird
import VideogateDomain
import VideogateProviders

/// `POST /callbacks/{provider}/{token}`: a provider's completion callback (Kling's and ModelArk's
/// `callback_url`). No API key: the token in the path (`CallbackSigner`) names one job of one
/// provider. A valid token of a `processing` job of that provider makes the job due for a poll now
/// and answers 200 `{"success": true}`; the body is read only up to a small bound and thrown away
/// (a callback is a hint to poll, never a result). Anything else answers 404 and changes nothing.
struct CallbackRoutes: Sendable {
    let services: GatewayServices

    /// The most of a callback body that is read (and discarded); the rest is left to the server.
    static let bodyReadLimit = 64 * 1024

    func callback(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await Self.discard(request.body)
        guard let signer = services.callbacks,
            let provider = context.parameters.get("provider").flatMap(ProviderKind.init(rawValue:)),
            ProviderCallbacks.providers.contains(provider),
            let token = context.parameters.get("token"),
            let jobID = signer.jobID(fromToken: token, provider: provider),
            try await services.store.pollSoon(jobID: jobID, provider: provider, at: services.clock.now())
        else {
            throw GatewayError(.notFound, "No such callback.")
        }
        context.logger.debug("provider callback: job due for a poll now", metadata: ["job_id": .string(jobID), "provider": .string(provider.rawValue)])
        return JSONResponse.make(CallbackAnswer())
    }

    /// Reads at most `bodyReadLimit` bytes of the body and drops them.
    static func discard(_ body: RequestBody) async throws {
        var read = 0
        for try await chunk in body {
            read += chunk.readableBytes
            if read >= bodyReadLimit { break }
        }
    }
}

struct CallbackAnswer: Encodable {
    let success = true
}
