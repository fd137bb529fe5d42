import Foundation
import Testing

/// The PostgreSQL cluster of `scripts/with-services` (`VIDEOGATE_TEST_POSTGRES_DATA`), paused with
/// SIGSTOP: its server and every backend stop answering while their sockets stay open, as a
/// database host that froze or a network that drops everything.
enum PausedPostgres {
    static var dataDirectory: String? {
        guard let path = ProcessInfo.processInfo.environment["VIDEOGATE_TEST_POSTGRES_DATA"], !path.isEmpty else { return nil }
        return path
    }
    static var available: Bool { dataDirectory != nil && ReplicaServices.available }

    /// Runs `body` with the cluster paused, and resumes it afterwards whether `body` threw or not.
    /// The pause reaches every test using the cluster at the time: keep it to a few seconds.
    static func whilePaused<T>(_ body: () async throws -> T) async throws -> T {
        let pids = try processes()
        for pid in pids { kill(pid, SIGSTOP) }
        defer { for pid in pids.reversed() { kill(pid, SIGCONT) } }
        return try await body()
    }

    /// The postmaster (first line of `postmaster.pid`) and its children.
    static func processes() throws -> [pid_t] {
        let directory = try #require(dataDirectory)
        let text = try String(contentsOfFile: "\(directory)/postmaster.pid", encoding: .utf8)
        let postmaster = try #require(text.split(separator: "\n").first.flatMap { pid_t($0) })
        var children: [pid_t] = []
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let end = stat.range(of: ")", options: .backwards)
            else { continue }
            // After "pid (comm)": state, then the parent's pid.
            let fields = stat[end.upperBound...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == postmaster { children.append(pid) }
        }
        return [postmaster] + children
    }
}
