import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import Synchronization
import ProviderFakes
import Testing
import VideogateDomain
import VideogateProviders

// Every test here sends traffic only to 127.0.0.1. The refused URLs (other literal addresses,
// plain http to a host name) are refused by the scheme/literal-address check, before any
// resolution or connection.

// MARK: - Local servers

/// Headers of the requests one local server received (names lowercased), in order.
private final class RequestLog: Sendable {
    private let entries = Mutex<[(path: String, headers: [String: String])]>([])

    func record(_ request: Request) {
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
        entries.withLock { $0.append((request.uri.path, headers)) }
    }

    var count: Int { entries.withLock { $0.count } }
    var paths: [String] { entries.withLock { $0.map(\.path) } }
    func header(_ name: String, at index: Int = 0) -> String? {
        entries.withLock { $0.indices.contains(index) ? $0[index].headers[name] : nil }
    }
}

/// Runs a server on 127.0.0.1 (a free port) with `routes` around `body`.
private func withLocalServer<T: Sendable>(
    _ routes: @Sendable (Router<BasicRequestContext>) -> Void, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    try await LocalServer.run(name: "outbound-tests", routes, body)
}

private func bytes(_ count: Int, seed: UInt8 = 7) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.reserveCapacity(count)
    var value = seed
    for _ in 0..<count {
        buffer.writeInteger(value)
        value = value &* 31 &+ 17
    }
    return buffer
}

private let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

private func client(allowing hosts: Set<String> = [], timeout: TimeInterval = 10) throws -> OutboundClient {
    try OutboundClient(policy: OutboundPolicy(allowedHosts: hosts), timeout: timeout)
}

/// The failure of fetching `url` into memory, or nil when it succeeded.
private func fetchFailure(_ client: OutboundClient, _ url: String, maxBytes: Int64 = 1 << 20) async -> OutboundClient.Failure? {
    do {
        _ = try await client.fetchData(url, maxBytes: maxBytes)
        return nil
    } catch {
        return error
    }
}

/// Records an issue unless `failure` is `.refused` with a reason mentioning `reasonContains`.
private func expectRefused(_ failure: OutboundClient.Failure?, mentioning reasonContains: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard case .refused(let reason) = failure else {
        Issue.record("expected .refused, got \(String(describing: failure))", sourceLocation: sourceLocation)
        return
    }
    #expect(reason.contains(reasonContains), "reason: \(reason)", sourceLocation: sourceLocation)
}

// MARK: - OutboundClient

@Suite struct OutboundClientTests {
    @Test func loopbackIsRefusedWithAnEmptyAllowList() async throws {
        let failure = await fetchFailure(try client(), "https://127.0.0.1/x.png")
        expectRefused(failure, mentioning: "loopback")
    }

    @Test func privateAddressIsRefused() async throws {
        let failure = await fetchFailure(try client(), "https://10.0.0.1/x.png")
        expectRefused(failure, mentioning: "private")
    }

    @Test func linkLocalMetadataAddressIsRefused() async throws {
        let failure = await fetchFailure(try client(), "https://169.254.169.254/latest/meta-data")
        expectRefused(failure, mentioning: "link-local")
    }

    @Test func ipv6LoopbackIsRefused() async throws {
        let failure = await fetchFailure(try client(), "https://[::1]/x.png")
        expectRefused(failure, mentioning: "loopback")
    }

    @Test func plainHTTPIsRefusedBeforeAnyConnection() async throws {
        // Refused by the scheme check, before the name is resolved.
        let failure = await fetchFailure(try client(), "http://example.com/x.png")
        expectRefused(failure, mentioning: "https")
    }

    @Test func redirectToPrivateAddressIsRefused() async throws {
        let log = RequestLog()
        let failure = try await withLocalServer({ router in
            router.get("/start") { request, _ -> Response in
                log.record(request)
                return Response(status: .found, headers: [.location: "https://10.1.2.3/a.png"])
            }
        }) { port in
            await fetchFailure(try client(allowing: ["127.0.0.1:\(port)"]), "http://127.0.0.1:\(port)/start")
        }
        expectRefused(failure, mentioning: "private")
        #expect(log.count == 1)
    }

    @Test func redirectToLoopbackOnAnotherPortIsRefused() async throws {
        let other = RequestLog()
        let first = RequestLog()
        try await withLocalServer({ router in
            router.get("/{file}") { request, _ -> Response in
                other.record(request)
                return Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: pngSignature)))
            }
        }) { otherPort in
            try await withLocalServer({ router in
                router.get("/https") { request, _ -> Response in
                    first.record(request)
                    return Response(status: .found, headers: [.location: "https://127.0.0.1:\(otherPort)/a.png"])
                }
                router.get("/http") { request, _ -> Response in
                    first.record(request)
                    return Response(status: .found, headers: [.location: "http://127.0.0.1:\(otherPort)/a.png"])
                }
            }) { port in
                // Only the first server's port is allow-listed.
                let client = try client(allowing: ["127.0.0.1:\(port)"])
                expectRefused(await fetchFailure(client, "http://127.0.0.1:\(port)/https"), mentioning: "loopback")
                expectRefused(await fetchFailure(client, "http://127.0.0.1:\(port)/http"), mentioning: "https")
            }
        }
        #expect(first.paths == ["/https", "/http"])
        #expect(other.count == 0)
    }

    @Test func bodyLargerThanTheLimitByContentLengthIsTooLarge() async throws {
        let body = ByteBuffer(repeating: 0x42, count: 11 << 20)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("big.bin")
        let failure = try await withLocalServer({ router in
            router.get("/big") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: .init(byteBuffer: body))
            }
        }) { port -> OutboundClient.Failure? in
            let client = try client(allowing: ["127.0.0.1:\(port)"])
            do throws(OutboundClient.Failure) {
                _ = try await client.download("http://127.0.0.1:\(port)/big", to: destination, maxBytes: 10 << 20)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure == .tooLarge(limit: 10 << 20))
        // Refused on the announced Content-Length, before any of the body was written.
        let written = try FileManager.default.attributesOfItem(atPath: destination.path)[.size] as? Int
        #expect(written == 0)
    }

    @Test func chunkedBodyLargerThanTheLimitIsTooLarge() async throws {
        // No Content-Length: only the cap while streaming can trip.
        let mebibyte = ByteBuffer(repeating: 0x42, count: 1 << 20)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("big.bin")
        let failure = try await withLocalServer({ router in
            router.get("/chunked") { _, _ -> Response in
                Response(
                    status: .ok, headers: [.contentType: "application/octet-stream"],
                    body: ResponseBody { writer in
                        for _ in 0..<11 { try await writer.write(mebibyte) }
                        try await writer.finish(nil)
                    })
            }
        }) { port -> OutboundClient.Failure? in
            let client = try client(allowing: ["127.0.0.1:\(port)"])
            do throws(OutboundClient.Failure) {
                _ = try await client.download("http://127.0.0.1:\(port)/chunked", to: destination, maxBytes: 10 << 20)
                return nil
            } catch {
                return error
            }
        }
        #expect(failure == .tooLarge(limit: 10 << 20))
        let written = (try? FileManager.default.attributesOfItem(atPath: destination.path)[.size] as? Int) ?? 0
        #expect(written <= 10 << 20)
    }

    @Test func notFoundFromAnAllowListedServerIsStatus404() async throws {
        let failure = try await withLocalServer({ router in
            router.get("/missing.png") { _, _ -> Response in Response(status: .notFound) }
        }) { port in
            await fetchFailure(try client(allowing: ["127.0.0.1:\(port)"]), "http://127.0.0.1:\(port)/missing.png")
        }
        #expect(failure == .status(404))
    }

    @Test func downloadWritesTheExactBytesAndContentType() async throws {
        let body = bytes(300_000, seed: 3)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("result.mp4")
        let fetched = try await withLocalServer({ router in
            router.get("/result.mp4") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "video/mp4"], body: .init(byteBuffer: body))
            }
        }) { port in
            try await client(allowing: ["127.0.0.1:\(port)"]).download("http://127.0.0.1:\(port)/result.mp4", to: destination, maxBytes: 1 << 20)
        }
        #expect(fetched.bytes == Int64(body.readableBytes))
        #expect(fetched.contentType == "video/mp4")
        #expect(try Data(contentsOf: destination) == Data(buffer: body))
    }

    @Test func serverThatNeverAnswersHitsTheTimeBound() async throws {
        let clock = ContinuousClock()
        let started = clock.now
        let failure = try await withLocalServer({ router in
            router.get("/slow") { _, _ -> Response in
                try await Task.sleep(for: .seconds(120))
                return Response(status: .ok)
            }
        }) { port in
            await fetchFailure(try client(allowing: ["127.0.0.1:\(port)"], timeout: 1), "http://127.0.0.1:\(port)/slow")
        }
        guard case .network = failure else {
            Issue.record("expected .network, got \(String(describing: failure))")
            return
        }
        // Far below the server's 120 s: the 1 s bound ended the fetch (generous for a loaded 2-core machine).
        #expect(clock.now - started < .seconds(60))
    }

    @Test func headersGoToTheFirstHostButNotToARedirectTargetOnAnotherPort() async throws {
        let target = RequestLog()
        let first = RequestLog()
        let content = bytes(1_000, seed: 11)
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let destination = scratch.file("video.mp4")
        let fetched = try await withLocalServer({ router in
            router.get("/file.mp4") { request, _ -> Response in
                target.record(request)
                return Response(status: .ok, headers: [.contentType: "video/mp4"], body: .init(byteBuffer: content))
            }
        }) { targetPort in
            try await withLocalServer({ router in
                router.get("/start") { request, _ -> Response in
                    first.record(request)
                    return Response(status: .found, headers: [.location: "http://127.0.0.1:\(targetPort)/file.mp4"])
                }
            }) { port in
                // Both servers are allow-listed; the redirect target is another origin all the same.
                let client = try client(allowing: ["127.0.0.1:\(port)", "127.0.0.1:\(targetPort)"])
                return try await client.download(
                    "http://127.0.0.1:\(port)/start", headers: [("x-goog-api-key", "secret-key")], to: destination, maxBytes: 1 << 20)
            }
        }
        #expect(first.count == 1)
        #expect(first.header("x-goog-api-key") == "secret-key")
        #expect(target.count == 1)
        #expect(target.header("x-goog-api-key") == nil)
        #expect(fetched.bytes == Int64(content.readableBytes))
        #expect(try Data(contentsOf: destination) == Data(buffer: content))
    }
}

// MARK: - ConcurrencyLimiter

/// Counts bodies running under a limiter and the most seen at once.
private final class Occupancy: Sendable {
    private let state = Mutex((running: 0, maxRunning: 0, finished: 0))

    func enter() {
        state.withLock {
            $0.running += 1
            $0.maxRunning = max($0.maxRunning, $0.running)
        }
    }

    func leave() {
        state.withLock {
            $0.running -= 1
            $0.finished += 1
        }
    }

    var running: Int { state.withLock { $0.running } }
    var maxRunning: Int { state.withLock { $0.maxRunning } }
    var finished: Int { state.withLock { $0.finished } }
}

@Suite struct ConcurrencyLimiterTests {
    @Test func neverMoreThanTheLimitRunAtOnceAndAllFinish() async throws {
        let limiter = ConcurrencyLimiter(limit: 3)
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await limiter.withPermit {
                        occupancy.enter()
                        // Only to let the bodies overlap.
                        try await Task.sleep(for: .milliseconds(20))
                        occupancy.leave()
                        return index
                    }
                }
            }
            var results = Set<Int>()
            for try await index in group { results.insert(index) }
            #expect(results == Set(0..<20))
        }
        #expect(occupancy.maxRunning == 3)
        #expect(occupancy.finished == 20)
        #expect(occupancy.running == 0)
        #expect(limiter.inUse == 0)
    }

    @Test func cancelledWaiterThrowsAndFreesNothingItDidNotHold() async throws {
        let limiter = ConcurrencyLimiter(limit: 1)
        let (holding, holdingContinuation) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseContinuation) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await limiter.withPermit {
                holdingContinuation.yield()
                for await _ in release { break }
            }
        }
        var holdingIterator = holding.makeAsyncIterator()
        _ = await holdingIterator.next()
        #expect(limiter.inUse == 1)

        let waiterRan = Occupancy()
        let waiter = Task {
            try await limiter.withPermit { waiterRan.enter() }
        }
        // Only to let the waiter reach the queue; the assertions hold either way.
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        let outcome = await waiter.result
        switch outcome {
        case .success: Issue.record("the cancelled waiter got a permit")
        case .failure(let error): #expect(error is CancellationError, "\(error)")
        }
        #expect(waiterRan.maxRunning == 0)
        // The holder still holds the only permit.
        #expect(limiter.inUse == 1)

        releaseContinuation.yield()
        releaseContinuation.finish()
        try await holder.value
        #expect(limiter.inUse == 0)

        // Still one at a time afterwards: the cancellation did not add a permit.
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    try await limiter.withPermit {
                        occupancy.enter()
                        try await Task.sleep(for: .milliseconds(10))
                        occupancy.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(occupancy.maxRunning == 1)
        #expect(occupancy.finished == 5)
        #expect(limiter.inUse == 0)
    }
}

// MARK: - RetryAfter

@Suite struct RetryAfterTests {
    let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT

    @Test func deltaSeconds() {
        #expect(RetryAfter.seconds("120", now: now) == 120)
        #expect(RetryAfter.seconds("0", now: now) == 0)
        #expect(RetryAfter.seconds(" 5 ", now: now) == 5)
    }

    @Test func httpDateRelativeToNow() {
        #expect(RetryAfter.seconds("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == 0)
        #expect(RetryAfter.seconds("Wed, 21 Oct 2015 07:29:30 GMT", now: now) == 90)
        #expect(RetryAfter.seconds("Thu, 22 Oct 2015 07:28:00 GMT", now: now) == 86_400)
        // A date already past: retry now.
        #expect(RetryAfter.seconds("Wed, 21 Oct 2015 07:00:00 GMT", now: now) == 0)
    }

    @Test func garbageIsNil() {
        #expect(RetryAfter.seconds(nil, now: now) == nil)
        #expect(RetryAfter.seconds("", now: now) == nil)
        #expect(RetryAfter.seconds("   ", now: now) == nil)
        #expect(RetryAfter.seconds("soon", now: now) == nil)
        #expect(RetryAfter.seconds("1.5", now: now) == nil)
        #expect(RetryAfter.seconds("12abc", now: now) == nil)
        #expect(RetryAfter.seconds("21 Oct 2015", now: now) == nil)
    }

    @Test func negativeIsNil() {
        #expect(RetryAfter.seconds("-1", now: now) == nil)
        #expect(RetryAfter.seconds("-120", now: now) == nil)
    }
}

// MARK: - ProviderHTTP.imageBytes

@Suite struct ProviderHTTPImageBytesTests {
    private func http(allowing hosts: Set<String> = []) throws -> ProviderHTTP {
        ProviderHTTP(client: HTTPClient.shared, outbound: try OutboundClient(policy: OutboundPolicy(allowedHosts: hosts), timeout: 10), concurrency: 4)
    }

    private func expectInvalidImage(_ operation: () async throws(ProviderFailure) -> (data: Data, mediaType: String), sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            let result = try await operation()
            Issue.record("expected a final invalid_image failure, got \(result.data.count) bytes of \(result.mediaType)", sourceLocation: sourceLocation)
        } catch {
            guard case .final(let failure) = error else {
                Issue.record("expected .final, got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(failure.code == .invalidImage, sourceLocation: sourceLocation)
        }
    }

    @Test func refusedURLIsAFinalInvalidImage() async throws {
        let http = try http()
        await expectInvalidImage { () async throws(ProviderFailure) in try await http.imageBytes(.url("https://127.0.0.1/x.png")) }
    }

    @Test func fetchedBodyThatIsNotAnImageIsAFinalInvalidImage() async throws {
        try await withLocalServer({ router in
            router.get("/x.png") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(string: "<html>not an image</html>")))
            }
        }) { port in
            let http = try http(allowing: ["127.0.0.1:\(port)"])
            await expectInvalidImage { () async throws(ProviderFailure) in try await http.imageBytes(.url("http://127.0.0.1:\(port)/x.png")) }
        }
    }

    @Test func fetchedPNGReturnsItsBytesAndMediaType() async throws {
        var png = ByteBuffer(bytes: pngSignature)
        var tail = bytes(4_096, seed: 5)
        png.writeBuffer(&tail)
        let served = png
        let result = try await withLocalServer({ router in
            router.get("/x.png") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: served))
            }
        }) { port in
            try await http(allowing: ["127.0.0.1:\(port)"]).imageBytes(.url("http://127.0.0.1:\(port)/x.png"))
        }
        #expect(result.data == Data(buffer: served))
        #expect(result.mediaType == "image/png")
    }
}

@Suite struct RetryAfterFormsTests {
    @Test func obsoleteDateFormsAndSignedNumbers() {
        let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
        #expect(RetryAfter.seconds("Sunday, 06-Nov-94 08:50:37 GMT", now: now) == 60)
        #expect(RetryAfter.seconds("Sun Nov  6 08:51:37 1994", now: now) == 120)
        #expect(RetryAfter.seconds("+5", now: now) == nil)
    }
}

@Suite struct AllowListPortTests {
    @Test func anAllowListEntryWithTheDefaultPortMatchesAURLWithoutOne() throws {
        let policy = OutboundPolicy(allowedHosts: ["10.0.0.5:443"])
        #expect(throws: Never.self) { try policy.checkURL("https://10.0.0.5/x.png") }
        #expect(throws: OutboundPolicy.Refusal.self) { try policy.checkURL("https://10.0.0.5:8443/x.png") }
    }
}
