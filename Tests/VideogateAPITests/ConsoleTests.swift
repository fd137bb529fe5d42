import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Testing
import VideogateAPI
import VideogateDomain

/// The operator console over HTTP, as a browser drives it: sign-in, the session cookie, CSRF,
/// escaping, and every page (operations.md, "Operator console and command-line client").
@Suite("Operator console")
struct ConsoleTests {
    /// A signed-in browser: its cookie and the CSRF token of its session.
    struct Browser {
        let cookie: String
        let csrf: String
    }

    static func form(_ fields: [String: String]) -> ByteBuffer {
        var components = URLComponents()
        components.queryItems = fields.map { URLQueryItem(name: $0.key, value: $0.value) }
        let encoded = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        return ByteBuffer(string: encoded)
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, _ browser: Browser?, _ fields: [String: String], origin: String? = nil)
        async throws -> TestResponse
    {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let browser { headers[.cookie] = browser.cookie }
        if let origin { headers[.origin] = origin }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: form(fields))
    }

    static func get(_ client: any TestClientProtocol, _ uri: String, _ browser: Browser?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let browser { headers[.cookie] = browser.cookie }
        return try await client.execute(uri: uri, method: .get, headers: headers)
    }

    static func signIn(_ client: any TestClientProtocol) async throws -> Browser {
        let response = try await post(client, "/console/sign-in", nil, ["token": "admin-test-token"])
        #expect(response.status == .seeOther && response.headers[.location] == "/console/accounts")
        let setCookie = try #require(response.headers[.setCookie])
        let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
        let page = try await get(client, "/console/accounts", Browser(cookie: cookie, csrf: ""))
        #expect(page.status == .ok)
        let csrf = try #require(Self.value(of: "csrf", in: page.text))
        return Browser(cookie: cookie, csrf: csrf)
    }

    /// The `value` of the first input named `name`.
    static func value(of name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func signInTakesOnlyTheAdminTokenAndSetsAStrictHttpOnlyCookie() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let page = try await Self.get(client, "/console/sign-in", nil)
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains(#"<label for="token">Admin token</label>"#))
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true)
            // Signed out, every page sends the browser to sign in.
            for uri in ["/console", "/console/accounts", "/console/jobs", "/console/providers"] {
                let response = try await Self.get(client, uri, nil)
                #expect(response.status == .seeOther && response.headers[.location] == "/console/sign-in", "\(uri)")
            }
            let wrong = try await Self.post(client, "/console/sign-in", nil, ["token": "not-the-token"])
            #expect(wrong.status == .unauthorized && wrong.headers[.setCookie] == nil)
            #expect(wrong.text.contains("That is not the admin token."))
            let right = try await Self.post(client, "/console/sign-in", nil, ["token": "admin-test-token"])
            let cookie = try #require(right.headers[.setCookie])
            #expect(cookie.hasPrefix("vg_console=") && cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"))
            #expect(cookie.contains("; Path=/console") && !cookie.contains("; Secure"))
            // The store keeps only the cookie secret's hash.
            let secret = String(cookie.dropFirst("vg_console=".count).prefix { $0 != ";" })
            #expect(try await gateway.store.consoleSession(idHash: SecretHash.hex(secret), at: Date()) != nil)
            #expect(try await gateway.store.consoleSession(idHash: secret, at: Date()) == nil)
        }
    }

    @Test func formsWithoutTheSessionsTokenOrFromAnotherOriginChangeNothing() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let browser = try await Self.signIn(client)
            let before = try await gateway.store.accounts(limit: 100, before: nil).count
            let noToken = try await Self.post(client, "/console/accounts", browser, ["name": "forged"])
            #expect(noToken.status == .forbidden)
            let wrongToken = try await Self.post(client, "/console/accounts", browser, ["name": "forged", "csrf": "x" + browser.csrf])
            #expect(wrongToken.status == .forbidden)
            let crossSite = try await Self.post(
                client, "/console/accounts", browser, ["name": "forged", "csrf": browser.csrf], origin: "http://evil.example")
            #expect(crossSite.status == .forbidden)
            let noCookie = try await Self.post(client, "/console/accounts", nil, ["name": "forged", "csrf": browser.csrf])
            #expect(noCookie.status == .seeOther && noCookie.headers[.location] == "/console/sign-in")
            #expect(try await gateway.store.accounts(limit: 100, before: nil).count == before)
            // Another session's token is no good either.
            let other = try await Self.signIn(client)
            let crossed = try await Self.post(client, "/console/accounts", browser, ["name": "forged", "csrf": other.csrf])
            #expect(crossed.status == .forbidden)
            #expect(try await gateway.store.accounts(limit: 100, before: nil).count == before)
        }
    }

    @Test func accountsKeysAndCreditsThroughTheConsoleWithNamesShownAsText() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let browser = try await Self.signIn(client)
            let name = #"<script>alert("x")</script> & co"#
            let created = try await Self.post(client, "/console/accounts", browser, ["name": name, "plan": "pro", "csrf": browser.csrf])
            #expect(created.status == .seeOther)
            let location = try #require(created.headers[.location])
            let id = try #require(location.split(separator: "/").last?.split(separator: "?").first.map(String.init))
            let account = try #require(try await gateway.store.account(id: id))
            #expect(account.name == name && account.plan == .pro)

            #expect(location == "/console/accounts/\(id)?notice=created")
            let page = try await Self.get(client, location, browser)
            #expect(page.status == .ok && page.text.contains("Account created."))
            #expect(!page.text.contains("<script>alert") && page.text.contains("&lt;script&gt;alert("))
            let list = try await Self.get(client, "/console/accounts", browser)
            #expect(list.text.contains("/console/accounts/\(id)") && !list.text.contains("<script>alert"))

            // Credits, plan, a key shown once, its spend limit, its revocation, the webhook secret.
            let credits = try await Self.post(
                client, "/console/accounts/\(id)/credits", browser, ["amount": "5000", "environment": "test", "csrf": browser.csrf])
            #expect(credits.status == .seeOther)
            #expect(try await gateway.store.balances(accountID: id)[.test] == Balance(total: 5000, held: 0))
            let badAmount = try await Self.post(client, "/console/accounts/\(id)/credits", browser, ["amount": "lots", "csrf": browser.csrf])
            #expect(badAmount.status == .badRequest && badAmount.text.contains("amount must be a whole number"))
            let plan = try await Self.post(
                client, "/console/accounts/\(id)/plan", browser, ["plan": "enterprise", "daily_limit": "5000", "csrf": browser.csrf])
            #expect(plan.status == .seeOther)
            #expect(try await gateway.store.account(id: id)?.dailyLimit == 5000)

            let keyPage = try await Self.post(
                client, "/console/accounts/\(id)/keys", browser, ["environment": "test", "name": "ci <key>", "csrf": browser.csrf])
            #expect(keyPage.status == .ok && keyPage.headers[.cacheControl] == "no-store")
            let secret = try #require(Self.value(of: "secret", in: keyPage.text.replacingOccurrences(of: #"id="secret" readonly"#, with: #"name="secret""#)))
            #expect(secret.hasPrefix("vg_test_"))
            #expect(try await client.get("/v1/account", key: secret).status == .ok)
            let again = try await Self.get(client, "/console/accounts/\(id)", browser)
            #expect(!again.text.contains(secret) && again.text.contains("ci &lt;key&gt;"))
            let key = try #require(try await gateway.store.keys(accountID: id).first)
            let spend = try await Self.post(
                client, "/console/accounts/\(id)/keys/spend-limit", browser, ["key_id": key.id, "spend_limit_daily": "1200", "csrf": browser.csrf])
            #expect(spend.status == .seeOther)
            #expect(try await gateway.store.keys(accountID: id).first?.spendLimitDaily == 1200)
            let revoked = try await Self.post(client, "/console/accounts/\(id)/keys/revoke", browser, ["key_id": key.id, "csrf": browser.csrf])
            #expect(revoked.status == .seeOther)
            #expect(try await client.get("/v1/account", key: secret).status == .unauthorized)
            // A key of another account cannot be revoked through this one's page.
            let (_, _, otherKey) = try await gateway.account()
            let foreign = try await Self.post(client, "/console/accounts/\(id)/keys/revoke", browser, ["key_id": otherKey, "csrf": browser.csrf])
            #expect(foreign.status == .notFound)
            let oldSecret = account.webhookSecret
            let rotated = try await Self.post(client, "/console/accounts/\(id)/webhook-secret", browser, ["csrf": browser.csrf])
            #expect(rotated.status == .seeOther)
            #expect(try await gateway.store.account(id: id)?.webhookSecret != oldSecret)
            let missing = try await Self.get(client, "/console/accounts/acct_missing", browser)
            #expect(missing.status == .notFound)
        }
    }

    @Test func aJobsPageShowsItsVideoLedgerAndCredentialAndPromptsAreText() async throws {
        let gateway = try await TestGateway.make(role: .all)
        let (account, key, _) = try await gateway.account()
        try await gateway.test { client in
            let browser = try await Self.signIn(client)
            let submitted = try await client.submit(key: key, json: #"{"prompt":"<img src=x onerror=alert(1)> fox","model":"wan-2.5"}"#)
            let id = try #require(try submitted.json()["request_id"] as? String)
            #expect(try await client.waitForFinal(id, key: key)["status"] as? String == "completed")
            let list = try await Self.get(client, "/console/jobs?status=completed&model=wan-2.5&account=\(account.id)", browser)
            #expect(list.status == .ok && list.text.contains("/console/jobs/\(id)"))
            #expect(!list.text.contains("<img src=x") && list.text.contains("&lt;img src=x"))
            let none = try await Self.get(client, "/console/jobs?status=error&account=\(account.id)", browser)
            #expect(!none.text.contains(id) && none.text.contains("No jobs match."))
            let page = try await Self.get(client, "/console/jobs/\(id)", browser)
            #expect(page.status == .ok)
            #expect(page.text.contains(#"<video id="result" controls preload="metadata" src=""#) && page.text.contains(" poster=\""))
            #expect(!page.text.contains("<img src=x") && page.text.contains("&lt;img src=x onerror=alert(1)&gt; fox"))
            #expect(page.text.contains("<td>hold</td>") && page.text.contains("<td>capture</td>"))
            #expect(try await Self.get(client, "/console/jobs/req_missing", browser).status == .notFound)
            let usage = try await Self.get(client, "/console/usage?environment=test&days=7", browser)
            #expect(usage.status == .ok && usage.text.contains("<svg viewBox="))
            #expect(usage.text.contains("<title>wan-2.5: 1 jobs</title>") && usage.text.contains("<title>wan-2.5: 3500 credits</title>"))
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            #expect(usage.text.contains("<title>\(today): 1 jobs</title>"), "\(usage.text)")
            let live = try await Self.get(client, "/console/usage?environment=live", browser)
            #expect(live.text.contains("Nothing in this period.") && !live.text.contains("wan-2.5: 1 jobs"))
            let providers = try await Self.get(client, "/console/providers", browser)
            #expect(providers.status == .ok && providers.text.contains("Provider credentials"))
        }
    }

    @Test func aDeliveredWebhookIsSentAgainFromTheJobsPage() async throws {
        try await WebhookReceiver().run { receiver in
            let gateway = try await TestGateway.make(role: .all) { config in config.outboundAllowHosts = ["127.0.0.1"] }
            let (_, key, _) = try await gateway.account()
            try await gateway.test { client in
                let browser = try await Self.signIn(client)
                let submitted = try await client.submit(
                    key: key, json: #"{"prompt":"a fox","model":"wan-2.5","webhook_url":"\#(receiver.url)"}"#)
                let id = try #require(try submitted.json()["request_id"] as? String)
                #expect(try await client.waitForFinal(id, key: key)["status"] as? String == "completed")
                let first = try await receiver.wait(for: 1)
                let delivery = try #require(try await gateway.store.webhookDeliveries(jobID: id).first)
                let page = try await Self.get(client, "/console/jobs/\(id)", browser)
                #expect(page.text.contains(#"name="delivery_id" value="\#(delivery.id)""#) && page.text.contains("Send again"))
                // Without the token nothing is sent; with it, one more POST with the same webhook-id.
                let forged = try await Self.post(client, "/console/jobs/\(id)/webhooks/redeliver", browser, ["delivery_id": delivery.id])
                #expect(forged.status == .forbidden)
                let again = try await Self.post(
                    client, "/console/jobs/\(id)/webhooks/redeliver", browser, ["delivery_id": delivery.id, "csrf": browser.csrf])
                #expect(again.status == .seeOther && again.headers[.location] == "/console/jobs/\(id)?notice=redelivery")
                let both = try await receiver.wait(for: 2)
                #expect(both.count == 2 && both[1].headers["webhook-id"] == first[0].headers["webhook-id"])
                // The deliverer records the attempt once the receiver has answered.
                var deliveries = try await gateway.store.webhookDeliveries(jobID: id)
                let deadline = ContinuousClock.now + .seconds(30)
                while deliveries.first?.attempts.count != 2, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    deliveries = try await gateway.store.webhookDeliveries(jobID: id)
                }
                #expect(deliveries.first?.attempts.count == 2 && deliveries.first?.status == .delivered)
                // Another job's delivery id through this job's page: refused.
                let wrongJob = try await Self.post(
                    client, "/console/jobs/req_other/webhooks/redeliver", browser, ["delivery_id": delivery.id, "csrf": browser.csrf])
                #expect(wrongJob.status == .conflict)
            }
        }
    }

    @Test func signOutEndsTheSessionForEveryCopyOfTheCookie() async throws {
        let gateway = try await TestGateway.make()
        try await gateway.test { client in
            let browser = try await Self.signIn(client)
            let out = try await Self.post(client, "/console/sign-out", browser, ["csrf": browser.csrf])
            #expect(out.status == .seeOther && out.headers[.location] == "/console/sign-in")
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            let after = try await Self.get(client, "/console/accounts", browser)
            #expect(after.status == .seeOther && after.headers[.location] == "/console/sign-in")
            let css = try await Self.get(client, "/console/static/console.css", nil)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
        }
    }
}
