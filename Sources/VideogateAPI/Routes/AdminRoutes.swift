import Foundation
import Hummingbird
import VideogateDomain

/// The operator's HTTP API under `/admin` (Bearer admin token).
struct AdminRoutes: Sendable {
    let services: GatewayServices
    var actions: AdminActions { AdminActions(store: services.store, clock: services.clock) }

    func createAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try services.authenticateAdmin(request)
        let body = try await JSONBody.read(&request, limit: services.configuration.maxBodyBytes).object
        let plan = try Self.plan(body) ?? .free
        let account = try await actions.createAccount(name: try body.string("name") ?? "", plan: plan, dailyLimit: try body.integer("daily_limit"))
        return try await accountResponse(account)
    }

    func getAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        guard let account = try await services.store.account(id: context.parameters.get("id") ?? "") else { throw AdminActions.noAccount }
        return try await accountResponse(account)
    }

    func updateAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try services.authenticateAdmin(request)
        let body = try await JSONBody.read(&request, limit: services.configuration.maxBodyBytes).object
        let account = try await actions.updateAccount(
            id: context.parameters.get("id") ?? "", plan: try Self.plan(body), dailyLimit: try body.integer("daily_limit"))
        return try await accountResponse(account)
    }

    func createKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try services.authenticateAdmin(request)
        let body = try await JSONBody.read(&request, limit: services.configuration.maxBodyBytes).object
        let (key, secret) = try await actions.createKey(
            accountID: context.parameters.get("id") ?? "", environment: try Self.environment(body), name: try body.string("name"),
            spendLimitDaily: try body.integer("spend_limit_daily"))
        return JSONResponse.make(
            AdminKeyCreated(
                key: secret, keyID: key.id, environment: key.environment.rawValue, accountID: key.accountID, spendLimitDaily: NullOr(key.spendLimitDaily)))
    }

    /// `{"spend_limit_daily": N|null}`: sets the key's daily spend limit, or removes it. The field is
    /// required (null to remove); anything but an integer from 0 or null is 400 and changes nothing.
    func updateKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try services.authenticateAdmin(request)
        let body = try await JSONBody.read(&request, limit: services.configuration.maxBodyBytes).object
        guard body["spend_limit_daily"] != nil else {
            throw GatewayError(
                .invalidParameter, "spend_limit_daily is required: an integer from 0, or null to remove the limit.", param: "spend_limit_daily")
        }
        let key = try await actions.setSpendLimit(
            keyID: context.parameters.get("key_id") ?? "", spendLimitDaily: try body.integer("spend_limit_daily"))
        return JSONResponse.make(AdminKeyView(key))
    }

    struct Revoked: Encodable {
        let success = true
        let keyID: String
        let revoked = true
        enum CodingKeys: String, CodingKey {
            case success, revoked
            case keyID = "key_id"
        }
    }

    func revokeKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let id = context.parameters.get("key_id") ?? ""
        try await actions.revokeKey(id: id)
        return JSONResponse.make(Revoked(keyID: id))
    }

    struct Balances: Encodable {
        let success = true
        let accountID: String
        let balances: [String: BalanceView]
        enum CodingKeys: String, CodingKey {
            case success, balances
            case accountID = "account_id"
        }
    }

    func addCredits(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        try services.authenticateAdmin(request)
        let body = try await JSONBody.read(&request, limit: services.configuration.maxBodyBytes).object
        guard let amount = try body.integer("amount") else {
            throw GatewayError(.invalidParameter, "amount is required.", param: "amount")
        }
        let id = context.parameters.get("id") ?? ""
        let balances = try await actions.addCredits(
            accountID: id, environment: try Self.environment(body), amount: amount, reason: try body.string("reason"))
        return JSONResponse.make(Balances(accountID: id, balances: balancesView(balances)))
    }

    func ledger(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let id = context.parameters.get("id") ?? ""
        guard try await services.store.account(id: id) != nil else { throw AdminActions.noAccount }
        let page = try PageQuery(request, idPrefix: "led", defaultLimit: 100)
        let entries = try await services.store.ledger(accountID: id, limit: page.limit + 1, before: page.after)
        return JSONResponse.make(ListPage(entries.map(AdminLedgerEntryView.init), limit: page.limit, fetched: entries.count, cursor: \.id))
    }

    func jobs(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let page = try PageQuery(request, idPrefix: "req", defaultLimit: 50)
        let account = request.uri.queryParameters["account"].map(String.init)
        let jobs = try await services.store.jobs(
            accountID: account, status: try PageQuery.status(request), limit: page.limit + 1, before: page.after)
        return JSONResponse.make(ListPage(jobs.map(AdminJobView.init), limit: page.limit, fetched: jobs.count, cursor: \.id))
    }

    func rotateWebhookSecret(_ request: Request, context: AppRequestContext) async throws -> Response {
        try services.authenticateAdmin(request)
        let account = try await actions.rotateWebhookSecret(accountID: context.parameters.get("id") ?? "")
        return try await accountResponse(account)
    }

    private func accountResponse(_ account: Account) async throws -> Response {
        let balances = try await services.store.balances(accountID: account.id)
        return JSONResponse.make(AdminAccountEnvelope(account: AdminAccountView(account, balances: balances)))
    }

    static func plan(_ body: [String: JSONValue]) throws(GatewayError) -> Plan? {
        guard let text = try body.string("plan") else { return nil }
        guard let plan = Plan(rawValue: text) else {
            throw GatewayError(.invalidParameter, "plan must be free, pro or enterprise.", param: "plan")
        }
        return plan
    }

    /// `environment`, default `test` (the safe one).
    static func environment(_ body: [String: JSONValue]) throws(GatewayError) -> KeyEnvironment {
        guard let text = try body.string("environment") else { return .test }
        guard let environment = KeyEnvironment(rawValue: text) else {
            throw GatewayError(.invalidParameter, "environment must be live or test.", param: "environment")
        }
        return environment
    }
}
