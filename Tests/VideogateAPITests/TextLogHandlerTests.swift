import Logging
import Testing
import VideogateApp

@Suite("Text log lines")
struct TextLogHandlerTests {
    @Test func aLineHasStreamLogHandlersLayoutWithMetadataSortedAndMerged() {
        var handler = TextLogHandler(label: "videogate", metadataProvider: Logger.MetadataProvider { ["trace_id": "t1"] })
        handler[metadataKey: "request_id"] = "http_1"
        handler[metadataKey: "job_id"] = "req_1"
        #expect(handler[metadataKey: "request_id"] == "http_1")
        let event = LogEvent(
            level: .warning, message: "create failed", metadata: ["job_id": "req_2", "attempt": "1"], source: "VideogateWorker",
            file: #fileID, function: #function, line: #line)
        #expect(
            handler.line(for: event, at: "2026-12-02T12:40:19+0000")
                == "2026-12-02T12:40:19+0000 warning videogate: attempt=1 job_id=req_2 request_id=http_1 trace_id=t1 [VideogateWorker] create failed\n")
    }

    @Test func aLineWithoutMetadataHasNone() {
        let handler = TextLogHandler(label: "videogate")
        let event = LogEvent(level: .info, message: "ready", metadata: nil, source: "videogate", file: #fileID, function: #function, line: #line)
        #expect(handler.line(for: event, at: "T") == "T info videogate: [videogate] ready\n")
    }
}
