import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import ProviderFakes
import Synchronization
import Testing

/// The real binary exporting OpenTelemetry traces (OTLP over HTTP, protobuf, as swift-otel sends
/// by default) to a receiver on 127.0.0.1 that decodes the protobuf itself, with a live job on a
/// fake Kling and a webhook receiver on the same test server.
@Suite("OpenTelemetry traces from the binary", .serialized)
struct TracingProcessTests {
    /// `split`: an api process and a worker process, so that the trace crosses processes through
    /// the job's stored context.
    @Test(arguments: [false, true])
    func oneSubmissionIsOneConnectedTraceFromTheRequestToTheWebhook(split: Bool) async throws {
        let receiver = TraceReceiver()
        try await LocalServer.run(name: "otlp-and-webhooks", receiver.routes) { port in
            let fake = FakeUpstream(video: try FakeVideo.mp4())
            try await fake.run(routes: FakeKling().routes) { fake in
                let data = DataDirectory()
                defer { data.remove() }
                let environment = ServerLifecycleTests.environment(data, [
                    "VIDEOGATE_ADMIN_TOKEN": "integration-admin-token", "VIDEOGATE_PROVIDER_POLL_SECONDS": "0.2",
                    "VIDEOGATE_OUTBOUND_ALLOW_HOSTS": "127.0.0.1", "KLING_ACCESS_KEY": "ak-test", "KLING_SECRET_KEY": "sk-test",
                    "VIDEOGATE_KLING_BASE_URL": fake.origin, "VIDEOGATE_LOG_FORMAT": "json",
                    "VIDEOGATE_LOG_LEVEL": "info", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:\(port)", "OTEL_SERVICE_NAME": "videogate-trace-test",
                    "OTEL_BSP_SCHEDULE_DELAY": "100",
                ])
                let (_, key) = try await VideogateBinary.liveAccount(name: "traced", credits: 10000, environment: environment)
                // The first status call fails upstream: its span must say so, and the job go on.
                fake.inject([.status(503)], on: .status)
                let server = try await ServerProcess(environment: environment, role: split ? "api" : "all")
                defer { server.stop() }
                let worker = split ? try await ServerProcess(environment: environment, role: "worker") : nil
                defer { worker?.stop() }

                // The caller's own trace: its span is the parent of the server's.
                let traceID = Self.randomHex(bytes: 16)
                let callerSpanID = Self.randomHex(bytes: 8)
                let id = try await withHTTP { http in
                    var request = HTTPClientRequest(url: "\(server.baseURL)/v1/video")
                    request.method = .POST
                    request.headers.add(name: "Authorization", value: "Bearer \(key)")
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.headers.add(name: "traceparent", value: "00-\(traceID)-\(callerSpanID)-01")
                    request.body = .bytes(ByteBuffer(string: #"{"prompt":"a traced fox","model":"kling-v2.6-pro","webhook_url":"http://127.0.0.1:\#(port)/hook"}"#))
                    let response = try await http.client.execute(request, timeout: .seconds(30))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    try #require(response.status == .ok, "\(String(buffer: body))")
                    let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
                    let id = try #require(object?["request_id"] as? String)
                    let job = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(60))
                    #expect(job["status"] as? String == "completed", "\(job)\n\(server.logTail)")
                    return id
                }

                // The webhook arrives, and its span is exported shortly after.
                let deadline = ContinuousClock.now + .seconds(30)
                while !receiver.spans.contains(where: { $0.name == "webhook POST" && $0.traceID == traceID }), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                let hooks = receiver.hooks
                try #require(hooks.count == 1, "webhooks received: \(hooks.count)\n\(server.logTail)")
                let spans = receiver.spans.filter { $0.traceID == traceID }
                let names = spans.map(\.name)
                try #require(names.contains("webhook POST"), "spans of the trace: \(names)\nall: \(receiver.spans.map(\.name))\n\(server.logTail)")

                // One connected trace: every span's parent is the caller's span or another span of it.
                let ids = Set(spans.map(\.spanID))
                for span in spans {
                    #expect(span.parentSpanID == callerSpanID || ids.contains(span.parentSpanID), "\(span.name) hangs off \(span.parentSpanID)")
                }
                let serverSpan = try #require(spans.first { $0.kind == 2 }, "no server span in \(names)")
                #expect(serverSpan.name.contains("/v1/video") && serverSpan.parentSpanID == callerSpanID, "\(serverSpan)")
                for name in ["submit transaction", "job claim", "job step", "kling POST", "kling GET", "result upload", "webhook POST"] {
                    #expect(names.contains(name), "no '\(name)' span in \(names)")
                }
                let create = try #require(spans.first { $0.name == "kling POST" })
                #expect(create.attributes["videogate.provider"] == "kling" && create.attributes["videogate.credential"] != nil, "\(create.attributes)")
                #expect(create.attributes["http.response.status_code"] == "200", "\(create.attributes)")
                let failed = spans.filter { $0.name == "kling GET" && $0.attributes["http.response.status_code"] == "503" }
                #expect(failed.count == 1, "\(spans.filter { $0.name == "kling GET" })")
                let hook = try #require(spans.first { $0.name == "webhook POST" })
                #expect(hook.attributes["videogate.job_id"] == id && hook.attributes["http.response.status_code"] == "200", "\(hook.attributes)")
                #expect(receiver.serviceNames.contains("videogate-trace-test"))
                if let worker {
                    // The claim came from the other process: the worker that logged its owner id.
                    let owner = try #require(spans.first { $0.name == "job claim" }?.attributes["videogate.worker"])
                    #expect(worker.log.contains("\"owner\":\"\(owner)\""), "\(owner)\n\(worker.logTail)")
                    #expect(!server.log.contains(owner))
                }

                // traceparent went out on the provider calls and the webhook, in the same trace.
                let created = try #require(fake.requests(to: "/v1/videos/text2video", method: "POST").first)
                #expect(created.headers["traceparent"]?.hasPrefix("00-\(traceID)-") == true, "\(created.headers)")
                #expect(hooks[0]["traceparent"]?.hasPrefix("00-\(traceID)-") == true, "\(hooks[0])")
                // And the JSON log lines written inside the request carry the trace id.
                #expect(server.log.split(separator: "\n").contains { $0.contains("\"job created\"") && $0.contains("\"trace_id\":\"\(traceID)\"") },
                        "\(server.logTail)")
            }
        }
    }

    @Test func withoutOTELVariablesNothingIsTraced() async throws {
        let receiver = TraceReceiver()
        try await LocalServer.run(name: "otlp", receiver.routes) { port in
            let data = DataDirectory()
            defer { data.remove() }
            // A receiver is listening, but nothing names it: no span may arrive, and no traceparent goes out.
            let server = try await ServerProcess(environment: ServerLifecycleTests.environment(data, ["VIDEOGATE_LOG_FORMAT": "json", "VIDEOGATE_LOG_LEVEL": "info"]))
            defer { server.stop() }
            let key = try #require(server.printed(after: "Test key (shown once): "))
            try await withHTTP { http in
                let reply = try await http.send(.POST, "\(server.baseURL)/v1/video", bearer: key, json: #"{"prompt":"untraced","model":"sora-2"}"#)
                try #require(reply.status == 200, "\(reply.text)")
                let id = try #require(reply.json["request_id"] as? String)
                _ = try await http.waitForFinal(server.baseURL, id: id, key: key, timeout: .seconds(60))
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(receiver.requests == 0)
            #expect(server.log.contains("\"job created\""))
            #expect(!server.log.contains("\"trace_id\""))
            _ = port
        }
    }

    static func randomHex(bytes: Int) -> String {
        (0..<bytes).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }
}

/// An OTLP/HTTP trace receiver (`POST /v1/traces`, protobuf) and a webhook receiver (`POST /hook`).
final class TraceReceiver: Sendable {
    struct ReceivedSpan: Sendable, CustomStringConvertible {
        var traceID = ""
        var spanID = ""
        var parentSpanID = ""
        var name = ""
        var kind = 0
        /// Values as text (ints in decimal).
        var attributes: [String: String] = [:]
        var description: String { "\(name) [\(spanID) <- \(parentSpanID)] \(attributes)" }
    }

    private struct State {
        var spans: [ReceivedSpan] = []
        var serviceNames: Set<String> = []
        var hooks: [[String: String]] = []
        var requests = 0
    }

    private let state = Mutex(State())
    var spans: [ReceivedSpan] { state.withLock { $0.spans } }
    var serviceNames: Set<String> { state.withLock { $0.serviceNames } }
    /// The headers (names lowercased) of each webhook received.
    var hooks: [[String: String]] { state.withLock { $0.hooks } }
    /// Export requests received.
    var requests: Int { state.withLock { $0.requests } }

    func routes(_ router: Router<BasicRequestContext>) {
        router.post("/v1/traces") { [self] request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            guard request.headers[.contentType] == "application/x-protobuf" else { return Response(status: .unsupportedMediaType) }
            let decoded = try Self.decode(Array(body.readableBytesView))
            state.withLock { state in
                state.requests += 1
                state.spans += decoded.spans
                state.serviceNames.formUnion(decoded.services)
            }
            // An empty ExportTraceServiceResponse.
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer()))
        }
        router.post("/hook") { [self] request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            state.withLock { $0.hooks.append(headers) }
            return Response(status: .ok)
        }
    }

    // MARK: protobuf (opentelemetry-proto's trace.proto: only the fields read here)

    struct Malformed: Error {}

    /// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    static func decode(_ bytes: [UInt8]) throws -> (spans: [ReceivedSpan], services: Set<String>) {
        var spans: [ReceivedSpan] = []
        var services: Set<String> = []
        for field in try fields(bytes) where field.number == 1 {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            for resourceField in try fields(field.bytes) {
                if resourceField.number == 1 {
                    // Resource { repeated KeyValue attributes = 1; }
                    for attribute in try fields(resourceField.bytes) where attribute.number == 1 {
                        let (key, value) = try keyValue(attribute.bytes)
                        if key == "service.name" { services.insert(value) }
                    }
                } else if resourceField.number == 2 {
                    // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
                    for scopeField in try fields(resourceField.bytes) where scopeField.number == 2 {
                        spans.append(try span(scopeField.bytes))
                    }
                }
            }
        }
        return (spans, services)
    }

    /// Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5;
    /// SpanKind kind = 6; repeated KeyValue attributes = 9; }
    static func span(_ bytes: [UInt8]) throws -> ReceivedSpan {
        var span = ReceivedSpan()
        for field in try fields(bytes) {
            switch field.number {
            case 1: span.traceID = hex(field.bytes)
            case 2: span.spanID = hex(field.bytes)
            case 4: span.parentSpanID = hex(field.bytes)
            case 5: span.name = String(decoding: field.bytes, as: UTF8.self)
            case 6: span.kind = Int(field.varint)
            case 9:
                let (key, value) = try keyValue(field.bytes)
                span.attributes[key] = value
            default: break
            }
        }
        return span
    }

    /// KeyValue { string key = 1; AnyValue value = 2; } with AnyValue { string string_value = 1;
    /// bool bool_value = 2; int64 int_value = 3; ... }
    static func keyValue(_ bytes: [UInt8]) throws -> (String, String) {
        var key = ""
        var value = ""
        for field in try fields(bytes) {
            if field.number == 1 { key = String(decoding: field.bytes, as: UTF8.self) }
            if field.number == 2 {
                for any in try fields(field.bytes) {
                    switch any.number {
                    case 1: value = String(decoding: any.bytes, as: UTF8.self)
                    case 2: value = any.varint != 0 ? "true" : "false"
                    case 3: value = String(Int64(bitPattern: any.varint))
                    default: break
                    }
                }
            }
        }
        return (key, value)
    }

    struct Field {
        var number: Int
        var varint: UInt64 = 0
        var bytes: [UInt8] = []
    }

    /// The fields of one message: varints, length-delimited bytes; fixed 32 and 64 bits skipped.
    static func fields(_ bytes: [UInt8]) throws -> [Field] {
        var fields: [Field] = []
        var index = 0
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
        }
        while index < bytes.count {
            let tag = try varint()
            var field = Field(number: Int(tag >> 3))
            switch tag & 7 {
            case 0: field.varint = try varint()
            case 1: index += 8
            case 2:
                let length = Int(try varint())
                guard length >= 0, index + length <= bytes.count else { throw Malformed() }
                field.bytes = Array(bytes[index..<index + length])
                index += length
            case 5: index += 4
            default: throw Malformed()
            }
            guard index <= bytes.count else { throw Malformed() }
            fields.append(field)
        }
        return fields
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
