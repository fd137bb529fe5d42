import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A client that asks for a file and then stops reading: a raw TCP connection to 127.0.0.1 that
/// sends one GET, reads the first few KB of the answer and then leaves the rest unread until closed.
final class StalledReader {
    private let socket: Int32
    /// The status line and the bytes read so far.
    private(set) var received = Data()

    /// Connects, sends `GET path` with `headers`, and reads until `readBytes` arrived (at most 10 s).
    init(port: Int, path: String, headers: [String: String] = [:], readBytes: Int = 16 * 1024) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        // A small receive window, so the server's writes stop soon after we stop reading.
        var window: Int32 = 64 * 1024
        setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &window, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED)
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let bytes = Array(request.utf8)
        guard send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
            close(socket)
            throw POSIXError(.EPIPE)
        }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < readBytes {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received.append(contentsOf: buffer[0..<count])
        }
    }

    /// The status code of the answer's first line, 0 when none arrived.
    var status: Int {
        let line = String(decoding: received.prefix(64), as: UTF8.self).split(separator: " ")
        return line.count > 1 ? Int(line[1]) ?? 0 : 0
    }

    deinit { close(socket) }
}

/// Resident memory of a process, from `/proc/PID/status`.
enum ResidentMemory {
    /// `VmRSS` of `pid` in MB.
    static func megabytes(of pid: Int32) -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) })
        else { return 0 }
        return kilobytes / 1024
    }

    /// The highest `VmRSS` of `pid` seen over `duration`, sampled every 100 ms.
    static func peakMegabytes(of pid: Int32, over duration: Duration) async throws -> Double {
        var peak = megabytes(of: pid)
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end {
            try await Task.sleep(for: .milliseconds(100))
            peak = max(peak, megabytes(of: pid))
        }
        return peak
    }
}
