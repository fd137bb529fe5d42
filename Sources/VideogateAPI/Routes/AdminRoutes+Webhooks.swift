import Foundation
import Hummingbird
import VideogateDomain

extension AdminRoutes {
    /// `GET /admin/jobs/{id}/webhooks`: the job's deliveries with their attempts; 404 for an unknown job.
    func webhooks(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let id = context.parameters.get("id") ?? ""
        guard try await services.store.job(id: id) != nil else { throw GatewayError(.notFound, "No job with this id exists.") }
        let deliveries = try await services.store.webhookDeliveries(jobID: id)
        return JSONResponse.make(AdminWebhookDeliveriesView(jobID: id, data: deliveries.map(AdminWebhookDeliveryView.init)))
    }
}
