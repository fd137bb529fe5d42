import Hummingbird
import Logging
import VideogateDomain

/// Turns every failure into our JSON error body: our `GatewayError`s as they are, the framework's
/// errors (no route, body too large, bad parameter) into our codes, anything else into a logged 500
/// whose body says nothing of the cause. An unmatched method on a known path is 405 with `Allow`.
/// Under `/v1/videos` the same errors take OpenAI's body (`ErrorFormat`).
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let format = ErrorFormat(path: request.uri.path)
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            return error.response(headers: [:], format: format)
        } catch let error as HTTPError {
            return translate(error, request: request, context: context, format: format)
        } catch let error as any HTTPResponseError {
            context.logger.error("unexpected framework error", metadata: ["error": .string(String(reflecting: error))])
            return GatewayError(.internalError, "The server failed to handle this request.").response(headers: [:], format: format)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error))])
            return GatewayError(.internalError, "The server failed to handle this request.").response(headers: [:], format: format)
        }
    }

    private func translate(_ error: HTTPError, request: Request, context: Context, format: ErrorFormat) -> Response {
        switch error.status {
        case .notFound:
            let allowed = routes.methods(forPath: request.uri.path)
            if !allowed.isEmpty {
                var headers = HTTPFields()
                headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                return GatewayError(.methodNotAllowed, "\(request.method.rawValue) is not allowed on this path.").response(headers: headers, format: format)
            }
            return GatewayError(.notFound, "No such route: \(request.method.rawValue) \(request.uri.path).").response(headers: [:], format: format)
        case .contentTooLarge:
            return GatewayError(.payloadTooLarge, "The request body is larger than the limit.").response(headers: [:], format: format)
        case .unsupportedMediaType:
            return GatewayError(.unsupportedMediaType, "The body must be application/json.").response(headers: [:], format: format)
        case .badRequest:
            return GatewayError(.invalidJSON, "The request is malformed.").response(headers: [:], format: format)
        case .methodNotAllowed:
            return GatewayError(.methodNotAllowed, "This method is not allowed here.").response(headers: [:], format: format)
        default:
            context.logger.error("framework error", metadata: ["error": .string(String(reflecting: error))])
            return GatewayError(.internalError, "The server failed to handle this request.").response(headers: [:], format: format)
        }
    }
}
