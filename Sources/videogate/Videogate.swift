import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import VideogateApp

/// `videogate`: the server and the operator's admin commands.
@main
struct Videogate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "videogate",
        abstract: "One API for AI video generation across Veo, Sora, Kling, WAN and Seedance.",
        subcommands: [Serve.self, Migrate.self, Accounts.self, Keys.self, Credits.self, Generate.self, Jobs.self, Usage.self],
        defaultSubcommand: Serve.self)

    /// The client commands' usage errors exit 2 (operations.md), not ArgumentParser's 64.
    static let clientCommands: Set<String> = ["generate", "jobs", "usage"]

    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if clientCommands.contains(CommandLine.arguments.dropFirst().first ?? ""), exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API and/or the job workers.")

    @Option(help: "Listen address (VIDEOGATE_HOST).") var host: String?
    @Option(help: "Listen port (VIDEOGATE_PORT); 0 picks a free one.") var port: Int?
    @Option(help: "all (API and workers), api, or worker.") var role: String?

    func run() async throws {
        var config = try AppConfiguration.fromEnvironment()
        if let host { config.host = host }
        if let port { config.port = port }
        if let role {
            guard let parsed = ServerRole(rawValue: role) else { throw ValidationError("--role must be all, api or worker") }
            config.role = parsed
        }
        let logger = makeLogger(config)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let tracing = try TraceExport.bootstrap(environment: ProcessInfo.processInfo.environment, logger: logger)
        if tracing != nil { logger.info("OpenTelemetry traces on", metadata: ["service": .string(ProcessInfo.processInfo.environment["OTEL_SERVICE_NAME"] ?? "videogate")]) }
        let host = config.host
        let role = config.role
        let gateway = try await buildGateway(config, logger: logger, registry: registry, tracing: tracing) { port in
            Console.print("videogate listening on http://\(host):\(port) (role \(role.rawValue))")
        }
        if let created = gateway.bootstrap {
            Console.print(
                """

                First start: created account "demo" (\(created.account.id)) on plan pro with \(Bootstrap.demoTestCredits) test credits.
                  Test key (shown once): \(created.testKey)
                """)
        }
        if let token = gateway.generatedAdminToken {
            Console.print("  Admin token (generated, kept in \(config.dataDirectory.path)/admin_token): \(token)\n")
        }
        let deadline = DrainDeadline(window: config.drainWindow, logger: logger)
        try await gateway.application.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        withExtendedLifetime(deadline) {}
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema.")

    func run() async throws {
        let config = try AppConfiguration.fromEnvironment()
        try FileManager.default.createDirectory(at: config.dataDirectory, withIntermediateDirectories: true)
        let store = try openStore(config)
        try await store.migrate()
        try await store.close()
        Console.print("schema is up to date")
    }
}

func makeLogger(_ config: AppConfiguration) -> Logger {
    let level = Logger.Level(rawValue: config.logLevel) ?? .info
    let format = config.logFormat
    // The metadata provider adds the current span's trace_id and span_id when tracing is on.
    LoggingSystem.bootstrap({ label, metadataProvider in
        var handler: any LogHandler =
            format == .json
            ? JSONLogHandler(label: label, metadataProvider: metadataProvider)
            : TextLogHandler(label: label, metadataProvider: metadataProvider)
        handler.logLevel = level
        return handler
    }, metadataProvider: TraceExport.loggingMetadata)
    var logger = Logger(label: "videogate")
    logger.logLevel = level
    return logger
}

/// Standard output, flushed at once (logs and banners interleave in order, tests read it live).
enum Console {
    static func print(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
