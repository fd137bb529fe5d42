import Foundation
import Testing
import VideogateApp

@Suite("Configuration: operations.md defaults")
struct ConfigurationDefaultsTests {
    @Test func anS3EndpointAloneMeansPathStyle() throws {
        #expect(try AppConfiguration.fromEnvironment(["VIDEOGATE_S3_ENDPOINT": "http://127.0.0.1:9000"]).s3.pathStyle)
        #expect(try AppConfiguration.fromEnvironment([:]).s3.pathStyle == false)
        let explicit = ["VIDEOGATE_S3_ENDPOINT": "http://127.0.0.1:9000", "VIDEOGATE_S3_PATH_STYLE": "false"]
        #expect(try AppConfiguration.fromEnvironment(explicit).s3.pathStyle == false)
        #expect(try AppConfiguration.fromEnvironment(["VIDEOGATE_S3_PATH_STYLE": "true"]).s3.pathStyle)
    }

    @Test func idleTimeoutAndWebhookRetentionDefaultsAndBounds() throws {
        let defaults = try AppConfiguration.fromEnvironment([:])
        #expect(defaults.httpIdleTimeout == 60 && defaults.webhookRetentionDays == 30)
        let set = try AppConfiguration.fromEnvironment(["VIDEOGATE_HTTP_IDLE_TIMEOUT_SECONDS": "5", "VIDEOGATE_WEBHOOK_RETENTION_DAYS": "7"])
        #expect(set.httpIdleTimeout == 5 && set.webhookRetentionDays == 7)
        #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(["VIDEOGATE_HTTP_IDLE_TIMEOUT_SECONDS": "0"]) }
        #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(["VIDEOGATE_WEBHOOK_RETENTION_DAYS": "x"]) }
    }

    @Test func groupCommitIsOnUnlessTurnedOff() throws {
        #expect(try AppConfiguration.fromEnvironment([:]).sqliteGroupCommit)
        #expect(try AppConfiguration.fromEnvironment(["VIDEOGATE_SQLITE_GROUP_COMMIT": "off"]).sqliteGroupCommit == false)
        #expect(try AppConfiguration.fromEnvironment(["VIDEOGATE_SQLITE_GROUP_COMMIT": "on"]).sqliteGroupCommit)
        #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(["VIDEOGATE_SQLITE_GROUP_COMMIT": "no"]) }
    }
}

@Suite("Configuration: live status streams")
struct EventConfigurationTests {
    @Test func keepAliveDefaultsToTheContractsFifteenSecondsAndCannotExceedIt() throws {
        #expect(try AppConfiguration.fromEnvironment([:]).eventKeepAlive == 15)
        #expect(try AppConfiguration.fromEnvironment(["VIDEOGATE_EVENTS_KEEPALIVE_SECONDS": "5"]).eventKeepAlive == 5)
        #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(["VIDEOGATE_EVENTS_KEEPALIVE_SECONDS": "16"]) }
        #expect(throws: ConfigurationError.self) { try AppConfiguration.fromEnvironment(["VIDEOGATE_EVENTS_KEEPALIVE_SECONDS": "0"]) }
    }
}
