import Foundation

/// The throw-away PostgreSQL cluster of `scripts/with-services`, paused with SIGSTOP on all its
/// processes (the postmaster named in `VIDEOGATE_TEST_POSTGRES_DATA/postmaster.pid` and its
/// children): connections stay open and nothing answers, as a database on a stalled host.
struct PostgresPause {
    /// The cluster's data directory, when the tests run under `scripts/with-services`.
    static var dataDirectory: String? {
        guard let path = ProcessInfo.processInfo.environment["VIDEOGATE_TEST_POSTGRES_DATA"], !path.isEmpty else { return nil }
        return path
    }

    let pids: [Int32]

    /// Stops the postmaster and every child it has now.
    static func pause() throws -> PostgresPause {
        guard let directory = dataDirectory,
            let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first, let postmaster = Int32(first.trimmingCharacters(in: .whitespaces))
        else { throw PauseError(description: "VIDEOGATE_TEST_POSTGRES_DATA/postmaster.pid not readable (run under scripts/with-services)") }
        let pids = [postmaster] + children(of: postmaster)
        for pid in pids { kill(pid, SIGSTOP) }
        return PostgresPause(pids: pids)
    }

    /// Lets them run again.
    func resume() {
        for pid in pids { kill(pid, SIGCONT) }
    }

    /// Processes whose parent is `parent` (from `/proc/PID/stat`, field 4).
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent ? pid : nil
        }
    }

    struct PauseError: Error, CustomStringConvertible {
        let description: String
    }
}
