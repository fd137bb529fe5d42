import Foundation
import Testing
import VideogateApp

@Suite("Fairness settings")
struct FairnessConfigurationTests {
    @Test func theLaneAndTheCapAreReadWithTheirDefaults() throws {
        let defaults = try AppConfiguration.fromEnvironment([:])
        #expect(defaults.sandboxConcurrency == ProcessInfo.processInfo.activeProcessorCount)
        #expect(defaults.accountMaxInFlight == 0)
        let set = try AppConfiguration.fromEnvironment(["VIDEOGATE_SANDBOX_CONCURRENCY": "3", "VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT": "5"])
        #expect(set.sandboxConcurrency == 3 && set.accountMaxInFlight == 5)
    }

    @Test(arguments: [
        ("VIDEOGATE_SANDBOX_CONCURRENCY", "0"), ("VIDEOGATE_SANDBOX_CONCURRENCY", "two"), ("VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT", "-1"),
        ("VIDEOGATE_ACCOUNT_MAX_IN_FLIGHT", "1.5"),
    ])
    func aBadValueIsAStartUpErrorNamingTheVariable(name: String, value: String) throws {
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment([name: value]) }
        #expect(error?.description.contains(name) == true)
    }
}
