import Foundation
import Testing
import VideogateProviders

@Suite("Standard Webhooks signatures")
struct WebhookSignerTests {
    /// The example of the Standard Webhooks specification (`spec/standard-webhooks.md`, and the
    /// test vector of its reference libraries).
    @Test func matchesTheSpecificationsExample() throws {
        let signer = try WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signature = signer.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func headersCarryIdTimestampSignatureAndJSONType() throws {
        let signer = try WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let body = Data(#"{"test": 2432232314}"#.utf8)
        let headers = Dictionary(uniqueKeysWithValues: signer.headers(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body))
        #expect(headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek")
        #expect(headers["webhook-timestamp"] == "1614265330")
        #expect(headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(headers["Content-Type"] == "application/json")
    }

    @Test func anyChangeOfIdTimestampOrBodyChangesTheSignature() throws {
        let signer = try WebhookSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let body = Data(#"{"test": 2432232314}"#.utf8)
        let reference = signer.signature(id: "msg_1", timestamp: 1, body: body)
        #expect(signer.signature(id: "msg_2", timestamp: 1, body: body) != reference)
        #expect(signer.signature(id: "msg_1", timestamp: 2, body: body) != reference)
        #expect(signer.signature(id: "msg_1", timestamp: 1, body: Data(#"{"test": 2432232315}"#.utf8)) != reference)
        let other = try WebhookSigner(secret: "whsec_" + Data(repeating: 7, count: 32).base64EncodedString())
        #expect(other.signature(id: "msg_1", timestamp: 1, body: body) != reference)
    }

    @Test(arguments: ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "sk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"])
    func malformedSecretsCannotSign(secret: String) {
        #expect(throws: WebhookSigner.MalformedSecret.self) { try WebhookSigner(secret: secret) }
    }
}
