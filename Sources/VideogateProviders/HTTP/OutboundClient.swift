import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL
import VideogateDomain

/// GETs on behalf of clients and providers (start images, result files), and POSTs of webhooks,
/// under api.md's outbound rules: https only; the host is resolved here and the address is checked against
/// `OutboundPolicy` before the connection is made *to that same address*, so a DNS answer that
/// changes between check and connect (rebinding) cannot reach a forbidden address; every
/// redirect is checked the same way; time and size are bounded. Hosts on the allow list are exempt.
public struct OutboundClient: Sendable {
    public let policy: OutboundPolicy
    /// Longest time one fetch may take, redirects included.
    public var timeout: TimeInterval
    public var maxRedirects: Int
    let tls: NIOSSLContext
    let group: any EventLoopGroup

    public init(policy: OutboundPolicy, timeout: TimeInterval = 120, maxRedirects: Int = 5, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        self.policy = policy
        self.timeout = timeout
        self.maxRedirects = maxRedirects
        self.group = group
        tls = try NIOSSLContext(configuration: .makeClientConfiguration())
    }

    /// Why a fetch did not deliver.
    public enum Failure: Error, Sendable, Equatable {
        /// The rules refuse the URL, its address or a redirect's.
        case refused(String)
        /// The body is larger than allowed.
        case tooLarge(limit: Int64)
        /// The final answer was not 2xx.
        case status(Int)
        /// Connecting, TLS, reading or the time bound failed: it may work later.
        case network(String)
    }

    /// What a fetch delivered.
    public struct Fetched: Sendable, Equatable {
        public var bytes: Int64
        public var contentType: String?
    }

    /// GETs `url` into `destination`, following up to `maxRedirects` redirects. `headers` are sent
    /// only to the first URL's host and port: credentials never follow a redirect elsewhere.
    public func download(_ url: String, headers: [(String, String)] = [], to destination: URL, maxBytes: Int64) async throws(Failure) -> Fetched {
        _ = FileManager.default.createFile(atPath: destination.path, contents: nil)
        let handle: FileHandle
        do { handle = try FileHandle(forWritingTo: destination) } catch { throw .network("cannot write \(destination.lastPathComponent): \(error)") }
        defer { try? handle.close() }
        let sink = FileSink(handle: handle)
        return try await fetch(url, headers: headers, maxBytes: maxBytes, sink: sink)
    }

    /// GETs `url` into memory (start images): the body and its `Content-Type`.
    public func fetchData(_ url: String, maxBytes: Int64) async throws(Failure) -> (data: Data, contentType: String?) {
        let sink = DataSink()
        let fetched = try await fetch(url, headers: [], maxBytes: maxBytes, sink: sink)
        return (sink.data, fetched.contentType)
    }

    /// POSTs `body` once (webhooks) under the same rules and returns the answer's status. Redirects
    /// are not followed: a 3xx is returned like any other status. The answer's body is not read.
    /// Bounded by `timeout` from resolving to the answer's head.
    public func post(_ url: String, headers: [(String, String)], body: Data) async throws(Failure) -> Int {
        guard let target = Target(url) else { throw .refused("it is not a valid absolute URL") }
        let timeout = self.timeout
        let outcome: Result<Int, Failure> = await withTaskGroup(of: Result<Int, Failure>?.self) { group in
            group.addTask {
                do {
                    return .success(try await self.postOnce(target, headers: headers, body: body))
                } catch let failure as Failure {
                    return .failure(failure)
                } catch {
                    return .failure(.network(String(describing: error)))
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                return Task.isCancelled ? nil : .failure(.network("no answer within \(timeout) s"))
            }
            var first: Result<Int, Failure>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first ?? .failure(.network("cancelled"))
        }
        return try outcome.get()
    }

    private func postOnce(_ target: Target, headers: [(String, String)], body: Data) async throws -> Int {
        let channel = try await open(target)
        let raw = channel.channel
        return try await withTaskCancellationHandler {
            try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.pathAndQuery)
                head.headers.add(name: "Host", value: target.hostHeader)
                head.headers.add(name: "User-Agent", value: "videogate")
                head.headers.add(name: "Content-Length", value: String(body.count))
                head.headers.add(name: "Connection", value: "close")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
                for try await part in inbound {
                    // Informational answers (1xx) precede the real one.
                    if case .head(let response) = part, response.status.code >= 200 { return Int(response.status.code) }
                }
                throw Failure.network("the connection closed before an answer came")
            }
        } onCancel: {
            raw.close(promise: nil)
        }
    }

    private func fetch(_ url: String, headers: [(String, String)], maxBytes: Int64, sink: some BodySink) async throws(Failure) -> Fetched {
        let timeout = self.timeout
        let outcome: Result<Fetched, Failure> = await withTaskGroup(of: Result<Fetched, Failure>?.self) { group in
            group.addTask { await self.follow(url, headers: headers, maxBytes: maxBytes, sink: sink) }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                return Task.isCancelled ? nil : .failure(.network("no complete answer within \(Int(timeout)) s"))
            }
            var first: Result<Fetched, Failure>?
            while first == nil, let next = await group.next() { first = next }
            group.cancelAll()
            return first ?? .failure(.network("cancelled"))
        }
        return try outcome.get()
    }

    private func follow(_ url: String, headers: [(String, String)], maxBytes: Int64, sink: some BodySink) async -> Result<Fetched, Failure> {
        var current = url
        guard let origin = Target(current) else { return .failure(.refused("it is not a valid absolute URL")) }
        for _ in 0...maxRedirects {
            guard let target = Target(current) else { return .failure(.refused("a redirect points at an invalid URL")) }
            let sameOrigin = target.host == origin.host && target.port == origin.port && target.scheme == origin.scheme
            let answer: Answer
            do {
                answer = try await get(target, headers: sameOrigin ? headers : [], maxBytes: maxBytes, sink: sink)
            } catch let failure as Failure {
                return .failure(failure)
            } catch {
                return .failure(.network(String(describing: error)))
            }
            switch answer {
            case .body(let fetched):
                return .success(fetched)
            case .redirect(let location):
                guard let next = URL(string: location, relativeTo: URL(string: current))?.absoluteString else {
                    return .failure(.refused("a redirect points at an invalid URL"))
                }
                current = next
            }
        }
        return .failure(.network("more than \(maxRedirects) redirects"))
    }

    private enum Answer {
        case body(Fetched)
        case redirect(String)
    }

    /// One GET: check, resolve, check the address, connect to it, read the answer.
    private func get(_ target: Target, headers: [(String, String)], maxBytes: Int64, sink: some BodySink) async throws -> Answer {
        let channel = try await open(target)
        // Cancellation (the time bound) closes the connection, which ends a read that is waiting.
        let raw = channel.channel
        return try await withTaskCancellationHandler {
            try await exchange(channel, target: target, headers: headers, maxBytes: maxBytes, sink: sink)
        } onCancel: {
            raw.close(promise: nil)
        }
    }

    /// Checks the URL, resolves it, checks the address, connects to that address and checks the peer as connected.
    private func open(_ target: Target) async throws -> NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart> {
        do { try policy.checkURL(target.url) } catch { throw Failure.refused(error.reason) }
        let address = try await resolve(target)
        do {
            try policy.checkAddress(address.ipAddress ?? "", host: target.host, port: target.port)
        } catch {
            throw Failure.refused(error.reason)
        }
        let tls = target.scheme == "https" ? self.tls : nil
        let isLiteral = OutboundPolicy.parseIPv4(target.host) != nil || OutboundPolicy.parseIPv6(target.host) != nil
        let channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .connect(to: address) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: isLiteral ? nil : target.host))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw Failure.network("connecting to \(target.host) failed: \(error)")
        }
        // The connected peer is the address that was checked; check it once more as connected.
        if let connected = channel.channel.remoteAddress?.ipAddress {
            do { try policy.checkAddress(connected, host: target.host, port: target.port) } catch {
                try? await channel.channel.close()
                throw Failure.refused(error.reason)
            }
        }
        return channel
    }

    private func exchange(
        _ channel: NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>, target: Target, headers: [(String, String)], maxBytes: Int64,
        sink: some BodySink
    ) async throws -> Answer {
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.pathAndQuery)
            head.headers.add(name: "Host", value: target.hostHeader)
            head.headers.add(name: "User-Agent", value: "videogate")
            head.headers.add(name: "Accept", value: "*/*")
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            // Head and end in one flush: a server may answer (and close) as soon as it has the head of a GET.
            try await outbound.write(contentsOf: [.head(head), .end(nil)])
            var status = 0
            var contentType: String?
            var received: Int64 = 0
            for try await part in inbound {
                switch part {
                case .head(let response):
                    status = Int(response.status.code)
                    if (300..<400).contains(status), let location = response.headers.first(name: "location") {
                        return .redirect(location)
                    }
                    guard (200..<300).contains(status) else { throw Failure.status(status) }
                    if let length = response.headers.first(name: "content-length").flatMap(Int64.init), length > maxBytes {
                        throw Failure.tooLarge(limit: maxBytes)
                    }
                    contentType = response.headers.first(name: "content-type")
                case .body(let buffer):
                    received += Int64(buffer.readableBytes)
                    guard received <= maxBytes else { throw Failure.tooLarge(limit: maxBytes) }
                    try sink.write(buffer)
                case .end:
                    return .body(Fetched(bytes: received, contentType: contentType))
                }
            }
            throw Failure.network("the connection closed before the answer was complete")
        }
    }

    /// Resolves the host to the one address the connection will use.
    private func resolve(_ target: Target) async throws -> SocketAddress {
        if let v4 = OutboundPolicy.parseIPv4(target.host), v4.count == 4 {
            return try SocketAddress(ipAddress: target.host, port: target.port)
        }
        if OutboundPolicy.parseIPv6(target.host) != nil {
            return try SocketAddress(ipAddress: target.host, port: target.port)
        }
        do {
            return try await NIOThreadPool.singleton.runIfActive {
                try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
            }
        } catch {
            throw Failure.network("cannot resolve \(target.host)")
        }
    }
}

/// The parts of an http(s) URL a request needs.
struct Target: Sendable {
    let url: String
    let scheme: String
    let host: String
    let port: Int
    let pathAndQuery: String

    init?(_ url: String) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            var host = components.host, !host.isEmpty
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.url = url
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.pathAndQuery = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
    }

    var hostHeader: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? shown : "\(shown):\(port)"
    }
}

protocol BodySink: Sendable {
    func write(_ buffer: ByteBuffer) throws
}

final class FileSink: BodySink, @unchecked Sendable {
    // Used by one fetch at a time, from one task.
    let handle: FileHandle
    init(handle: FileHandle) { self.handle = handle }
    func write(_ buffer: ByteBuffer) throws { try handle.write(contentsOf: buffer.readableBytesView) }
}

final class DataSink: BodySink, @unchecked Sendable {
    // Used by one fetch at a time, from one task.
    var data = Data()
    func write(_ buffer: ByteBuffer) throws { data.append(contentsOf: buffer.readableBytesView) }
}
