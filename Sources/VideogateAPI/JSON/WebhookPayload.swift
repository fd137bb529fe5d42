import Foundation
import VideogateDomain

extension GatewayServices {
    /// The body of a job's webhook: the job object exactly as `GET /v1/video/{id}` returns it
    /// (signed `video_url` included), with sorted keys, so every attempt sends the same bytes.
    public func webhookPayload(_ job: Job) async throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return try encoder.encode(try await view(job, success: true))
    }
}
