import Testing
@testable import VideogateApp

/// When the OTEL_* variables turn tracing on, and which values stop the start (the end-to-end
/// export is TracingProcessTests, with the real binary).
@Suite struct TraceExportTests {
    @Test(arguments: [
        ([:], false),
        (["OTEL_SERVICE_NAME": "x"], false),
        (["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"], true),
        (["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"], true),
        (["OTEL_EXPORTER_OTLP_ENDPOINT": ""], false),
        (["OTEL_TRACES_EXPORTER": "console"], true),
        (["OTEL_TRACES_EXPORTER": "otlp"], true),
        (["OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"], false),
        (["OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"], false),
        (["OTEL_SDK_DISABLED": "false", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"], true),
    ] as [([String: String], Bool)])
    func tracingIsOnOnlyWhenTheVariablesAskForIt(environment: [String: String], on: Bool) {
        #expect(TraceExport.isRequested(environment) == on)
    }

    @Test(arguments: [
        ["OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"], ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "GRPC"], ["OTEL_TRACES_EXPORTER": "jaeger"],
        ["OTEL_TRACES_EXPORTER": "zipkin"], ["OTEL_TRACES_EXPORTER": "console"],
    ])
    func whatSwiftOTelWouldStopTheProcessOnIsRefusedWithTheVariableNamed(environment: [String: String]) {
        #expect {
            try TraceExport.check(environment)
        } throws: { error in
            environment.keys.contains { String(describing: error).contains($0) }
        }
    }

    @Test func theHTTPProtocolsAreAccepted() throws {
        try TraceExport.check(["OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"])
    }
}
