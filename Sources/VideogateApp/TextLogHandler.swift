import Foundation
import Logging

/// Plain text lines on standard output, in swift-log's `StreamLogHandler` layout:
/// `2026-12-02T12:40:19+0000 warning videogate: job_id=req_… [VideogateWorker] message`.
///
/// Unlike `StreamLogHandler`, which formats its metadata again every time a value is set,
/// metadata is formatted only when a line is written: every request sets `request_id` on its
/// logger, and most requests write no line (this cost 4 % of the API's CPU on `/healthz`).
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    /// Metadata of the task's context (the trace id of the current span), read per line.
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String

    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        FileHandle.standardOutput.write(Data(line(for: event, at: Self.timestamp()).utf8))
    }

    /// The line written for `event`, with its newline.
    public func line(for event: LogEvent, at timestamp: String) -> String {
        let merged = LogLine.metadata(of: event, base: metadata, provider: metadataProvider)
        let pretty = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        return "\(timestamp) \(event.level)\(label.isEmpty ? "" : " ")\(label):\(pretty) [\(event.source)] \(event.message)\n"
    }

    /// Local time to the second with its UTC offset, as `StreamLogHandler` writes it.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        guard localtime_r(&now, &parts) != nil else { return "<unknown>" }
        var buffer = [CChar](repeating: 0, count: 64)
        let written = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(written).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What both log handlers write beside the message.
enum LogLine {
    /// The handler's metadata, then the task context's (the trace id), then the call's own, later
    /// ones winning; a logged error adds `error.message` and `error.type`.
    static func metadata(of event: LogEvent, base: Logger.Metadata, provider: Logger.MetadataProvider?) -> Logger.Metadata {
        var merged = base
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return merged
    }
}
