import NIOHTTP1
import Tracing

/// The spans videogate makes itself, through swift-distributed-tracing's global tracer: a no-op
/// until the executable bootstraps OpenTelemetry (docs/tracing.md), so that every call below costs
/// a task-local read and nothing else when tracing is off.
public enum Traces {
    /// Runs `operation` inside a span named `name`, a child of `context` (by default the task's
    /// current one), with that span's context current for the operation. A thrown error is
    /// recorded on the span and ends it with status error; the error is rethrown as it was.
    public static func span<T, Failure: Error>(
        _ name: String, context: ServiceContext? = nil, ofKind kind: SpanKind = .internal,
        attributes: [String: SpanAttribute] = [:], _ operation: (any Span) async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let span = InstrumentationSystem.tracer.startSpan(name, context: context ?? ServiceContext.current ?? .topLevel, ofKind: kind)
        defer { span.end() }
        for (key, value) in attributes { span.attributes[key] = value }
        let result = await withContext(span.context) { () async throws(Failure) in try await operation(span) }
        if case .failure(let error) = result {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
        }
        return try result.get()
    }

    /// Runs `operation` with `provider` and `credential` in the task's context, so that the spans
    /// of its HTTP calls name them.
    public static func providerCall<T, Failure: Error>(
        provider: String, credential: String, _ operation: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        var context = ServiceContext.current ?? .topLevel
        context.providerCall = ProviderCall(provider: provider, credential: credential)
        return try await withContext(context, operation).get()
    }

    /// `operation` with `context` current. `ServiceContext.withValue` rethrows untyped errors, so
    /// the typed error travels back as a `Result`.
    private static func withContext<T, Failure: Error>(
        _ context: ServiceContext, _ operation: () async throws(Failure) -> T
    ) async -> Result<T, Failure> {
        await ServiceContext.withValue(context) {
            do throws(Failure) {
                return .success(try await operation())
            } catch {
                return .failure(error)
            }
        }
    }

    /// Records a span that already happened (from `start` to now), a child of `context`.
    public static func record(
        _ name: String, context: ServiceContext, startedAt start: DefaultTracerClock.Timestamp, attributes: [String: SpanAttribute] = [:]
    ) {
        let span = InstrumentationSystem.tracer.startSpan(name, context: context, ofKind: .internal, at: start)
        for (key, value) in attributes { span.attributes[key] = value }
        span.end()
    }

    /// The W3C `traceparent` (and `tracestate`) of the task's current span, to store with a job so
    /// that the steps of another process join its trace; nil when tracing is off or no span is current.
    public static func currentParent() -> String? {
        guard let context = ServiceContext.current else { return nil }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        guard let parent = carrier["traceparent"] else { return nil }
        return carrier["tracestate"].map { parent + "\n" + $0 } ?? parent
    }

    /// The context a stored `currentParent()` stands for, as the parent of a job's spans.
    public static func context(parent: String?) -> ServiceContext {
        var context = ServiceContext.topLevel
        guard let parent, !parent.isEmpty else { return context }
        let lines = parent.split(separator: "\n", maxSplits: 1).map(String.init)
        var carrier = ["traceparent": lines[0]]
        if lines.count > 1 { carrier["tracestate"] = lines[1] }
        InstrumentationSystem.instrument.extract(carrier, into: &context, using: DictionaryExtractor())
        return context
    }

    /// Adds `traceparent` (and `tracestate`) for the task's current span to outgoing headers.
    public static func inject(into headers: inout HTTPHeaders) {
        guard let context = ServiceContext.current else { return }
        InstrumentationSystem.instrument.inject(context, into: &headers, using: HTTPHeadersInjector())
    }

    /// The same for a header list (the outbound client's form).
    public static func inject(into headers: inout [(String, String)]) {
        guard let context = ServiceContext.current else { return }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(context, into: &carrier, using: DictionaryInjector())
        for (name, value) in carrier.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
    }
}

/// Which provider and credential a provider call is made for, set by the worker around a step's
/// calls so that the HTTP span of each call carries them.
public enum ProviderCallKey: ServiceContextKey {
    public typealias Value = ProviderCall
    public static let nameOverride: String? = "videogate.provider_call"
}

public struct ProviderCall: Sendable {
    public let provider: String
    public let credential: String

    public init(provider: String, credential: String) {
        self.provider = provider
        self.credential = credential
    }
}

extension ServiceContext {
    public var providerCall: ProviderCall? {
        get { self[ProviderCallKey.self] }
        set { self[ProviderCallKey.self] = newValue }
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) { carrier.replaceOrAdd(name: key, value: value) }
}
