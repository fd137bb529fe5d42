import Foundation
import Testing

/// `VIDEOGATE_HTTP_IDLE_TIMEOUT_SECONDS` closes connections that send nothing, including one whose
/// request head never completes (a slowloris client holds no connection longer than that).
@Suite("Idle connections are closed")
struct IdleTimeoutTests {
    @Test func halfARequestAndAnIdleKeepAliveConnectionAreClosedAfterTheIdleTimeout() async throws {
        let data = DataDirectory()
        defer { data.remove() }
        let server = try await ServerProcess(
            environment: ServerLifecycleTests.environment(data, ["VIDEOGATE_HTTP_IDLE_TIMEOUT_SECONDS": "3"]), role: "api")
        defer { server.stop() }

        // Headers that never finish.
        let partial = try RawSocket(port: server.port)
        let started = ContinuousClock.now
        try partial.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        var received: [UInt8] = []
        #expect(try await partial.waitForClose(timeout: .seconds(12), received: &received), "a half-sent request kept its connection")
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(2_500), "closed after \(elapsed): sooner than the idle timeout")
        #expect(!String(decoding: received, as: UTF8.self).contains("200 OK"))

        // A keep-alive connection that answered a request and then stays silent.
        let idle = try RawSocket(port: server.port)
        try idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        var answer: [UInt8] = []
        #expect(try await idle.waitForClose(timeout: .seconds(12), received: &answer), "an idle keep-alive connection stayed open")
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"))

        // A client that keeps sending requests is not cut off (a request every half second, six
        // times the idle timeout's margin, so that a loaded machine's late wake-ups do not matter).
        let busy = try RawSocket(port: server.port)
        for _ in 0..<4 {
            try busy.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try await Task.sleep(for: .milliseconds(500))
        }
        var replies: [UInt8] = []
        _ = try await busy.waitForClose(timeout: .milliseconds(200), received: &replies)
        #expect(String(decoding: replies, as: UTF8.self).components(separatedBy: "HTTP/1.1 200").count - 1 == 4)
    }
}
