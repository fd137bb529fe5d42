import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a job's progress is shown on standard error while a client command waits: a bar redrawn
/// in place on a terminal, one plain line per change otherwise (logs, pipes, CI).
struct JobProgress {
    let terminal: Bool
    let quiet: Bool
    private var last = ""

    init(quiet: Bool) {
        self.quiet = quiet
        self.terminal = isatty(STDERR_FILENO) == 1
    }

    /// What a job object says, in one line: `pending (queue position 3)`, `processing 45 %`.
    static func summary(_ job: [String: Any]) -> String {
        let status = job["status"] as? String ?? "unknown"
        switch status {
        case "pending":
            if let position = job["queue_position"] as? Int { return "pending (queue position \(position))" }
            return "pending"
        case "processing":
            if let progress = job["progress"] as? Int { return "processing \(progress) %" }
            return "processing"
        case "error":
            let error = job["error"] as? [String: Any]
            return "error \(error?["code"] as? String ?? "")"
        default:
            return status
        }
    }

    mutating func show(_ job: [String: Any]) {
        guard !quiet else { return }
        let id = job["request_id"] as? String ?? ""
        let status = job["status"] as? String ?? ""
        if terminal {
            let percent: Int =
                switch status {
                case "completed": 100
                case "processing": job["progress"] as? Int ?? 0
                default: 0
                }
            let width = 30
            let filled = width * min(max(percent, 0), 100) / 100
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = "\(id) [\(bar)] \(Self.summary(job))"
            guard line != last else { return }
            last = line
            // \r and "erase to end of line": the bar is redrawn in place.
            FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
        } else {
            let line = "\(id) \(Self.summary(job))"
            guard line != last else { return }
            last = line
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// Ends the redrawn line on a terminal.
    func finish() {
        if terminal && !quiet && !last.isEmpty { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
