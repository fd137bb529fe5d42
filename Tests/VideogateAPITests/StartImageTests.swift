import Foundation
import Testing
import VideogateDomain

/// Start images: refused at submit below the model's provider limits, and every accepted one renders
/// or fails within seconds (the sandbox renders test keys' jobs under the same limits as live).
@Suite("Start images: provider limits at submit, renders that end")
struct StartImageTests {
    /// The image-to-video models whose provider documents image limits (all but Veo's).
    static let imageToVideoModels = Catalog.standard.models.filter { $0.mode == .imageToVideo && ImageLimits.of($0.provider) != nil }.map(\.id)

    @Test(arguments: [KeyEnvironment.test, .live])
    func aOnePixelPNGIsRefusedForEveryModelWhoseProviderHasLimits(environment: KeyEnvironment) async throws {
        #expect(Self.imageToVideoModels.count == 3)
        let gateway = try await TestGateway.make()
        let (account, key, _) = try await gateway.account(credits: 100_000, environment: environment)
        try await gateway.test { client in
            for model in Self.imageToVideoModels {
                for image in [tinyPNGBase64, "data:image/png;base64," + tinyPNGBase64] {
                    let response = try await client.submit(key: key, json: #"{"prompt":"x","model":"\#(model)","image":"\#(image)"}"#)
                    try response.expectError(400, "invalid_image", param: "image")
                    #expect((try response.json()["message"] as? String)?.contains("1x1") == true, "\(model)")
                }
            }
            #expect(try await gateway.store.balances(accountID: account.id)[environment] == Balance(total: 100_000, held: 0))
        }
    }

    /// The input that hung until its 280 s timeout: a valid 1x1 PNG for `veo3.1-i2v`, whose provider
    /// documents no minimum, is accepted and renders.
    @Test func aOnePixelPNGForVeoRendersToCompletedWithinSeconds() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 0, configure: { $0.sandboxShortSide = 720 })
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let started = ContinuousClock.now
            let body = #"{"prompt":"a dot","model":"veo3.1-i2v","image":"\#(tinyPNGBase64)","duration":8}"#
            let submitted = try await client.submit(key: key, json: body)
            #expect(submitted.status == .ok, "\(submitted.text)")
            let id = try #require(try submitted.json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key, timeout: .seconds(150))
            #expect(final["status"] as? String == "completed", "\(final)")
            #expect(ContinuousClock.now - started < .seconds(150))
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 6_500, held: 0))
        }
    }

    @Test func theSmallestAcceptedImageRendersToCompletedWithinSeconds() async throws {
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 0, configure: { $0.sandboxShortSide = 720 })
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let started = ContinuousClock.now
            let body = #"{"prompt":"the fox turns","model":"veo3.1-i2v","image":"data:image/png;base64,\#(startPNGBase64)","duration":8}"#
            let submitted = try await client.submit(key: key, json: body)
            #expect(submitted.status == .ok, "\(submitted.text)")
            let id = try #require(try submitted.json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key, timeout: .seconds(150))
            let elapsed = ContinuousClock.now - started
            #expect(final["status"] as? String == "completed", "\(final)")
            // One render of 8 s at 1280x720 takes about 2 s on one free core (4.6 s submit to completed
            // measured); the bound is generous for a loaded machine and still far below the old 280 s hang.
            #expect(elapsed < .seconds(150))
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 6_500, held: 0))
        }
    }

    @Test func anAcceptedImageThatCannotBeDecodedEndsInInvalidImageAtOnceAndReleasesTheHold() async throws {
        // A PNG signature and a 400x400 IHDR pass the header check at submit; the pixels are missing.
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8)
        let header = signature + [0, 0, 1, 0x90, 0, 0, 1, 0x90, 8, 2, 0, 0, 0, 0, 0, 0, 0] + Array("not pixels at all".utf8)
        let gateway = try await TestGateway.make(role: .all, sandboxDelayMs: 0)
        let (account, key, _) = try await gateway.account(credits: 10_000)
        try await gateway.test { client in
            let started = ContinuousClock.now
            let body = #"{"prompt":"x","model":"kling-v2.5-turbo-pro-i2v","image":"\#(Data(header).base64EncodedString())"}"#
            let submitted = try await client.submit(key: key, json: body)
            #expect(submitted.status == .ok, "\(submitted.text)")
            let id = try #require(try submitted.json()["request_id"] as? String)
            let final = try await client.waitForFinal(id, key: key, timeout: .seconds(150))
            #expect(final["status"] as? String == "error")
            #expect((final["error"] as? [String: Any])?["code"] as? String == "invalid_image")
            // About a second on a free machine; generous for a loaded one, and no retry until the deadline.
            #expect(ContinuousClock.now - started < .seconds(150))
            #expect(try await gateway.store.balances(accountID: account.id)[.test] == Balance(total: 10_000, held: 0))
        }
    }
}
