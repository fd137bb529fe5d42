import Foundation
import Hummingbird
import VideogateDomain
import VideogateStorage

/// `/console`: the operator console, rendered on the server (operations.md, "Operator console
/// and command-line client"). Signed in with the admin token, then a session cookie
/// (`ConsoleSessions`). Every change is a POST form carrying the session's CSRF token, answered by
/// a redirect to the page that shows the result (except a new key, whose secret is shown once on
/// the page that answers the POST and stored nowhere).
struct ConsoleRoutes: Sendable {
    let services: GatewayServices
    let pages = ConsolePages()
    var sessions: ConsoleSessions { ConsoleSessions(services: services) }
    var actions: AdminActions { AdminActions(store: services.store, clock: services.clock) }

    /// Runs `body` for a signed-in operator; otherwise sends the browser to sign in.
    private func signedIn(_ request: Request, _ body: (ConsoleSession) async throws -> Response) async throws -> Response {
        guard let session = try await sessions.session(request) else { return ConsolePages.redirect("/console/sign-in") }
        return try await body(session)
    }

    /// Runs `body` for a POST of a signed-in operator with the session's CSRF token from the same
    /// origin; 403 (nothing changed) otherwise.
    private func change(_ request: Request, _ body: (ConsoleSession, ConsoleForm) async throws -> Response) async throws -> Response {
        guard ConsoleSessions.isSameOrigin(request) else { return refused("The form was sent from another site.") }
        guard let session = try await sessions.session(request) else { return ConsolePages.redirect("/console/sign-in") }
        let form = try await ConsoleForm.read(request)
        guard ConsoleSessions.csrfMatches(session, form) else { return refused("The form's security token is missing or wrong. Reload the page and try again.") }
        return try await body(session, form)
    }

    private func refused(_ message: String) -> Response {
        pages.page("message", ["title": "Refused", "heading": "Refused", "message": message], status: .forbidden)
    }

    private func base(_ session: ConsoleSession?, title: String) -> [String: Any] {
        var context: [String: Any] = ["title": title]
        if let session {
            context["signedIn"] = true
            context["csrf"] = session.csrfToken
        }
        return context
    }

    // MARK: Signing in and out

    func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { _ in ConsolePages.redirect("/console/accounts") }
    }

    func signInPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try await sessions.session(request) != nil { return ConsolePages.redirect("/console/accounts") }
        return pages.page("sign-in", base(nil, title: "Sign in"))
    }

    func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard ConsoleSessions.isSameOrigin(request) else { return refused("The form was sent from another site.") }
        let form = try await ConsoleForm.read(request)
        guard let token = form["token"], sessions.isAdminToken(token) else {
            context.logger.warning("console sign-in refused")
            var page = base(nil, title: "Sign in")
            page["error"] = "That is not the admin token."
            return pages.page("sign-in", page, status: .unauthorized)
        }
        let (_, cookie) = try await sessions.start()
        context.logger.info("console sign-in")
        return ConsolePages.redirect("/console/accounts", headers: [.setCookie: cookie])
    }

    func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await change(request) { session, _ in
            let cookie = try await sessions.end(session)
            return ConsolePages.redirect("/console/sign-in", headers: [.setCookie: cookie])
        }
    }

    func stylesheet(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
            body: ResponseBody(byteBuffer: ConsolePages.stylesheet))
    }

    // MARK: The playground

    /// `/playground`: one page whose script calls the public API with the API key the person
    /// gives, kept in the tab's sessionStorage (no cookie, so no CSRF to guard against).
    func playground(_ request: Request, context: AppRequestContext) async throws -> Response {
        pages.page("playground", [:])
    }

    func playgroundScript(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody(byteBuffer: ConsolePages.playgroundScript))
    }

    // MARK: Accounts

    func accounts(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { session in
            let before = request.uri.queryParameters["before"].map(String.init)
            let accounts = try await services.store.accounts(limit: 51, before: before)
            var page = base(session, title: "Accounts")
            var rows: [[String: Any]] = []
            for account in accounts.prefix(50) {
                let balances = try await services.store.balances(accountID: account.id)
                var row = templateValue(AdminAccountView(account, balances: balances))
                row["liveAvailable"] = balances[.live]?.available ?? 0
                row["testAvailable"] = balances[.test]?.available ?? 0
                rows.append(row)
            }
            page["accounts"] = rows
            if accounts.count > 50, let last = accounts.prefix(50).last { page["next"] = "/console/accounts?before=\(last.id)" }
            page["plans"] = Plan.allCases.map { ["value": $0.rawValue] }
            page["notice"] = request.uri.queryParameters["notice"].map(String.init)
            return pages.page("accounts", page)
        }
    }

    func createAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await change(request) { session, form in
            do {
                guard let name = form.text("name") else { throw GatewayError(.invalidParameter, "Give the account a name.", param: "name") }
                let plan = try Self.plan(form)
                let account = try await actions.createAccount(name: name, plan: plan ?? .free, dailyLimit: try Self.integer(form, "daily_limit"))
                return ConsolePages.redirect("/console/accounts/\(account.id)?notice=created")
            } catch let error as GatewayError {
                return pages.page("message", ["title": "Not created", "heading": "The account was not created", "message": error.message, "signedIn": true,
                    "csrf": session.csrfToken, "back": "/console/accounts"], status: .badRequest)
            }
        }
    }

    func account(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { session in
            let notice = request.uri.queryParameters["notice"].map(String.init)
            return try await accountPage(id: context.parameters.get("id") ?? "", session: session, notice: Self.notices[notice ?? ""], newKey: nil)
        }
    }

    static let notices = [
        "created": "Account created.", "updated": "Plan and limit saved.", "credits": "Credits added.", "revoked": "Key revoked.",
        "spend": "Spend limit saved.", "secret": "Webhook secret rotated: senders must use the new one.",
    ]

    private func accountPage(id: String, session: ConsoleSession, notice: String?, newKey: [String: Any]?, status: HTTPResponse.Status = .ok) async throws
        -> Response
    {
        guard let account = try await services.store.account(id: id) else {
            return pages.page("message", ["title": "Not found", "heading": "No such account", "message": "There is no account \(id).",
                "signedIn": true, "csrf": session.csrfToken, "back": "/console/accounts"], status: .notFound)
        }
        let balances = try await services.store.balances(accountID: account.id)
        var page = base(session, title: account.name)
        var view = templateValue(AdminAccountView(account, balances: balances))
        view["plans"] = Plan.allCases.map { ["value": $0.rawValue, "selected": $0 == account.plan] as [String: Any] }
        page["account"] = view
        page["balances"] = KeyEnvironment.allCases.map { environment in
            let balance = balances[environment] ?? .zero
            return ["environment": environment.rawValue, "total": balance.total, "held": balance.held, "available": balance.available] as [String: Any]
        }
        let keys = try await services.store.keys(accountID: account.id)
        page["keys"] = keys.map { key -> [String: Any] in
            var row: [String: Any] = [
                "id": key.id, "environment": key.environment.rawValue, "prefix": key.prefix, "createdAt": key.createdAt.rfc3339,
                "active": key.revokedAt == nil,
            ]
            if let name = key.name { row["name"] = name }
            if let revoked = key.revokedAt { row["revokedAt"] = revoked.rfc3339 }
            if let limit = key.spendLimitDaily { row["spendLimit"] = limit }
            return row
        }
        let entries = try await services.store.ledger(accountID: account.id, limit: 20, before: nil)
        page["ledger"] = entries.map { templateValue(AdminLedgerEntryView($0)) }
        if let notice { page["notice"] = notice }
        if let newKey { page["newKey"] = newKey }
        return pages.page("account", page, status: status)
    }

    /// Every change to an account: the action, then the account page with a notice (or the error).
    private func accountChange(_ request: Request, context: AppRequestContext, notice: String, _ body: (String, ConsoleForm) async throws -> Void)
        async throws -> Response
    {
        let id = context.parameters.get("id") ?? ""
        return try await change(request) { session, form in
            do {
                try await body(id, form)
                return ConsolePages.redirect("/console/accounts/\(id)?notice=\(notice)")
            } catch let error as GatewayError {
                return pages.page("message", ["title": "Not saved", "heading": "Nothing was changed", "message": error.message, "signedIn": true,
                    "csrf": session.csrfToken, "back": "/console/accounts/\(id)"], status: error.code == .notFound ? .notFound : .badRequest)
            }
        }
    }

    func updateAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await accountChange(request, context: context, notice: "updated") { id, form in
            _ = try await actions.updateAccount(id: id, plan: try Self.plan(form), dailyLimit: try Self.integer(form, "daily_limit"))
        }
    }

    func addCredits(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await accountChange(request, context: context, notice: "credits") { id, form in
            guard let amount = try Self.integer(form, "amount") else { throw GatewayError(.invalidParameter, "Give an amount.", param: "amount") }
            _ = try await actions.addCredits(accountID: id, environment: try Self.environment(form), amount: amount, reason: form.text("reason"))
        }
    }

    func rotateWebhookSecret(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await accountChange(request, context: context, notice: "secret") { id, _ in
            _ = try await actions.rotateWebhookSecret(accountID: id)
        }
    }

    func revokeKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await accountChange(request, context: context, notice: "revoked") { id, form in
            guard let keyID = form.text("key_id"), try await services.store.keys(accountID: id).contains(where: { $0.id == keyID }) else {
                throw GatewayError(.notFound, "This account has no such key.")
            }
            try await actions.revokeKey(id: keyID)
        }
    }

    func setSpendLimit(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await accountChange(request, context: context, notice: "spend") { id, form in
            guard let keyID = form.text("key_id"), try await services.store.keys(accountID: id).contains(where: { $0.id == keyID }) else {
                throw GatewayError(.notFound, "This account has no such key.")
            }
            _ = try await actions.setSpendLimit(keyID: keyID, spendLimitDaily: try Self.integer(form, "spend_limit_daily"))
        }
    }

    /// A new key: its secret is on this answer's page only (never stored, never shown again).
    func createKey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        return try await change(request) { session, form in
            do {
                let (key, secret) = try await actions.createKey(
                    accountID: id, environment: try Self.environment(form), name: form.text("name"),
                    spendLimitDaily: try Self.integer(form, "spend_limit_daily"))
                context.logger.info("console created a key", metadata: ["key_id": .string(key.id), "account_id": .string(id)])
                return try await accountPage(
                    id: id, session: session, notice: "Key created. Copy its secret now: it is not shown again.",
                    newKey: ["id": key.id, "secret": secret, "environment": key.environment.rawValue])
            } catch let error as GatewayError {
                return pages.page("message", ["title": "Not created", "heading": "The key was not created", "message": error.message, "signedIn": true,
                    "csrf": session.csrfToken, "back": "/console/accounts/\(id)"], status: error.code == .notFound ? .notFound : .badRequest)
            }
        }
    }

    // MARK: Jobs

    func jobs(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { session in
            let query = request.uri.queryParameters
            func filter(_ name: Substring) -> String? { query[name].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
            let status = filter("status").flatMap(JobStatus.init(rawValue:))
            let account = filter("account")
            let model = filter("model")
            var page = base(session, title: "Jobs")
            // The model filter reads further pages until 50 jobs match, at most 10 pages.
            var found: [Job] = []
            var before = filter("before")
            var more = false
            for _ in 0..<10 {
                let batch = try await services.store.jobs(accountID: account, status: status, limit: 101, before: before)
                let slice = batch.prefix(100)
                found += slice.filter { model == nil || $0.modelID == model }
                more = batch.count > 100
                before = slice.last?.id
                if found.count >= 50 || !more { break }
            }
            if found.count > 50 {
                more = true
                before = found[49].id
            }
            page["jobs"] = found.prefix(50).map { job -> [String: Any] in
                var row = templateValue(AdminJobView(job))
                row["prompt"] = String(job.prompt.prefix(80))
                return row
            }
            var next = URLComponents()
            next.path = "/console/jobs"
            next.queryItems = [("status", status?.rawValue), ("account", account), ("model", model), ("before", before)].compactMap { name, value in
                value.map { URLQueryItem(name: name, value: $0) }
            }
            if more { page["next"] = next.string }
            page["statuses"] = JobStatus.allCases.map { ["value": $0.rawValue, "selected": $0 == status] as [String: Any] }
            page["models"] = services.catalog.models.map { ["value": $0.id, "selected": $0.id == model] as [String: Any] }
            page["account"] = account ?? ""
            return pages.page("jobs", page)
        }
    }

    func job(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { session in
            let id = context.parameters.get("id") ?? ""
            guard let job = try await services.store.job(id: id) else {
                return pages.page("message", ["title": "Not found", "heading": "No such job", "message": "There is no job \(id).", "signedIn": true,
                    "csrf": session.csrfToken, "back": "/console/jobs"], status: .notFound)
            }
            var page = base(session, title: "Job \(job.id)")
            if request.uri.queryParameters["notice"] == "redelivery" { page["notice"] = "The webhook is queued to be sent again." }
            var view = templateValue(AdminJobView(job))
            view["prompt"] = job.prompt
            if let routed = job.routedModel { view["routedModel"] = routed }
            if let public_ = try await services.views([job], success: nil).first {
                if let url = public_.videoURL { view["videoURL"] = url }
                if let url = public_.thumbnailURL { view["thumbnailURL"] = url }
            }
            page["job"] = view
            page["ledger"] = try await services.store.ledgerEntries(jobID: job.id).map { templateValue(AdminLedgerEntryView($0)) }
            page["webhooks"] = try await services.store.webhookDeliveries(jobID: job.id).map { templateValue(AdminWebhookDeliveryView($0)) }
            return pages.page("job", page)
        }
    }

    /// One more attempt of a job's webhook delivery, at once.
    func redeliverWebhook(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        return try await change(request) { session, form in
            guard let delivery = form.text("delivery_id"),
                try await services.store.redeliverWebhook(deliveryID: delivery, jobID: id, at: services.clock.now())
            else {
                return pages.page("message", ["title": "Not queued", "heading": "The webhook was not queued again",
                    "message": "This job has no such delivery, or it is being sent right now.", "signedIn": true, "csrf": session.csrfToken,
                    "back": "/console/jobs/\(id)"], status: .conflict)
            }
            context.logger.info("console queued a webhook redelivery", metadata: ["job_id": .string(id), "webhook_id": .string(delivery)])
            return ConsolePages.redirect("/console/jobs/\(id)?notice=redelivery")
        }
    }

    // MARK: Usage

    /// Jobs and credits per day and per model, drawn as SVG on the server (`UsageCharts`).
    func usage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { session in
            let query = request.uri.queryParameters
            let environment = query["environment"].flatMap { KeyEnvironment(rawValue: String($0)) } ?? .live
            let days = query["days"].flatMap { Int(String($0)) }.flatMap { [7, 30, 90, 365].contains($0) ? $0 : nil } ?? 30
            let account = query["account"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            let now = services.clock.now()
            let range = UsageRange(from: now.addingTimeInterval(-Double(days) * 86_400), to: now)
            let byDay = try await services.store.usage(UsageQuery(accountID: account, environment: environment, range: range, grouping: .day))
            let byModel = try await services.store.usage(UsageQuery(accountID: account, environment: environment, range: range, grouping: .model))
                .sorted { $0.jobs > $1.jobs }
            var charts: [[String: Any]] = []
            for (title, unit, group, points) in [
                ("Jobs per day", "jobs", "Day", BarChart.daily(byDay, range: range) { $0.jobs }),
                ("Credits charged per day", "credits", "Day", BarChart.daily(byDay, range: range) { $0.creditsCharged }),
                ("Jobs per model", "jobs", "Model", byModel.map { ($0.group, $0.jobs) }),
                ("Credits charged per model", "credits", "Model", byModel.map { ($0.group, $0.creditsCharged) }),
            ] {
                var chart = BarChart(title: title, unit: unit, points: points).context
                chart["groupName"] = group
                charts.append(chart)
            }
            var page = base(session, title: "Usage")
            page["charts"] = charts
            page["days"] = days
            page["environment"] = environment.rawValue
            page["account"] = account ?? ""
            page["environments"] = KeyEnvironment.allCases.map { ["value": $0.rawValue, "selected": $0 == environment] as [String: Any] }
            page["spans"] = [7, 30, 90, 365].map { ["value": $0, "selected": $0 == days] as [String: Any] }
            return pages.page("usage", page)
        }
    }

    // MARK: Providers

    func providers(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await signedIn(request) { session in
            let now = services.clock.now()
            let health = Dictionary(try await services.store.credentialHealth().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            let inFlight = try await services.store.credentialsInFlight(at: now)
            var page = base(session, title: "Providers")
            page["credentials"] = services.credentials.map { credential in
                var row = templateValue(AdminCredentialView(credential, health: health[credential.name], inFlight: inFlight[credential.name] ?? 0, now: now))
                row["healthy"] = row["state"] as? String == "closed"
                return row
            }
            return pages.page("providers", page)
        }
    }

    // MARK: Form values

    static func plan(_ form: ConsoleForm) throws(GatewayError) -> Plan? {
        guard let text = form.text("plan") else { return nil }
        guard let plan = Plan(rawValue: text) else { throw GatewayError(.invalidParameter, "The plan must be free, pro or enterprise.", param: "plan") }
        return plan
    }

    static func environment(_ form: ConsoleForm) throws(GatewayError) -> KeyEnvironment {
        guard let text = form.text("environment") else { return .test }
        guard let environment = KeyEnvironment(rawValue: text) else {
            throw GatewayError(.invalidParameter, "The environment must be live or test.", param: "environment")
        }
        return environment
    }

    static func integer(_ form: ConsoleForm, _ name: String) throws(GatewayError) -> Int? {
        guard let text = form.text(name) else { return nil }
        guard let value = Int(text) else { throw GatewayError(.invalidParameter, "\(name) must be a whole number.", param: name) }
        return value
    }
}
