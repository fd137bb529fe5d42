import Logging
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry traces through swift-otel, off unless the standard `OTEL_*` variables ask for
/// them (docs/tracing.md): spans go by OTLP over HTTP (protobuf by default, JSON with
/// `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) to `OTEL_EXPORTER_OTLP_ENDPOINT`. Only traces: logs
/// stay JSON lines on standard output (with the trace id) and metrics stay Prometheus.
public enum TraceExport {
    /// True when the environment turns tracing on: `OTEL_SDK_DISABLED` is not `true`, and
    /// `OTEL_TRACES_EXPORTER` names an exporter other than `none`, or an OTLP endpoint is set
    /// (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    public static func isRequested(_ environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        if let exporter = environment["OTEL_TRACES_EXPORTER"], !exporter.isEmpty { return exporter.lowercased() != "none" }
        return ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains { !(environment[$0] ?? "").isEmpty }
    }

    /// Bootstraps the process's tracer when the environment asks for it, and returns the service
    /// that batches and exports spans (to run beside the server, stopped last so that it flushes
    /// the spans of a drain); nil when tracing is off. Call at most once per process.
    /// - Throws: swift-otel's configuration error (an unknown protocol or sampler, say), which stops the start.
    public static func bootstrap(environment: [String: String], logger: Logger) throws -> (any Service)? {
        guard isRequested(environment) else { return nil }
        try check(environment)
        var configuration = OTel.Configuration.default
        configuration.serviceName = "videogate"
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.diagnosticLogger = .custom(logger)
        // swift-otel's own messages: failed exports and bad settings, not every setting it read.
        configuration.diagnosticLogLevel = .warning
        // The environment's OTEL_* values override these (OTEL_SERVICE_NAME among them).
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        return backend.service
    }

    /// Refuses, before swift-otel sees them, the values it would stop the process on: the gRPC
    /// protocol (its trait is not built) and the exporters it does not implement. Other values it
    /// cannot read, it logs as a warning and keeps its default.
    static func check(_ environment: [String: String]) throws {
        let protocolKeys = ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"]
        if let key = protocolKeys.first(where: { environment[$0]?.lowercased() == "grpc" }) {
            throw ConfigurationError("\(key)=grpc is not supported by this build: use http/protobuf (the default) or http/json")
        }
        if let exporter = environment["OTEL_TRACES_EXPORTER"]?.lowercased(), ["jaeger", "zipkin", "console"].contains(exporter) {
            throw ConfigurationError("OTEL_TRACES_EXPORTER=\(exporter) is not supported: use otlp (the default) or none")
        }
    }

    /// Adds the current span's `trace_id`, `span_id` and `trace_flags` to every log line.
    public static var loggingMetadata: Logger.MetadataProvider { OTel.makeLoggingMetadataProvider() }
}
