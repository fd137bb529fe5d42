import Foundation
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

/// What a finished external command left behind.
public struct ProcessOutput: Sendable, Equatable {
    /// The exit status, or the signal number when `terminatedBySignal`.
    public var exitCode: Int32
    /// True when a signal ended the process instead of `exit`.
    public var terminatedBySignal: Bool
    /// Standard output, at most the run's `stdoutLimit` first bytes.
    public var stdout: Data
    /// True when standard output was longer than the limit and was cut.
    public var stdoutTruncated: Bool
    /// The last bytes of standard error, at most the run's `stderrLimit`.
    public var stderr: Data

    /// True when the process exited with status 0.
    public var succeeded: Bool { exitCode == 0 && !terminatedBySignal }
    /// The standard error tail as text (invalid UTF-8 is replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Why an external command produced no `ProcessOutput`.
public enum ProcessRunnerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The executable is neither a path nor a name found on `PATH`.
    case executableNotFound(String)
    /// The system refused to start the process.
    case launchFailed(String)
    /// The process outlived its timeout and was terminated (then killed); `stderrTail` is what it wrote.
    case timedOut(seconds: TimeInterval, stderrTail: String)
    /// The calling task was cancelled; the process was terminated.
    case cancelled

    /// A one-line explanation for logs.
    public var description: String {
        switch self {
        case .executableNotFound(let name): "executable '\(name)' not found on PATH"
        case .launchFailed(let reason): "could not start the process: \(reason)"
        case .timedOut(let seconds, let tail): "the process did not finish within \(seconds) s" + (tail.isEmpty ? "" : ": \(tail)")
        case .cancelled: "the process was cancelled"
        }
    }
}

/// Runs external commands (ffmpeg, ffprobe) from async code with swiftlang/swift-subprocess
/// (posix_spawn with an empty signal mask and default handlers, no descriptor of ours but 0–2,
/// the exit watched through a pidfd, the pipes read with epoll: no thread blocks).
///
/// The child gets standard input from `/dev/null` and its own process group. A timeout or the
/// cancellation of the calling task sends SIGTERM to that group, then SIGKILL after `killGrace`
/// seconds; the call returns only once the process has exited and its pipes are closed.
public enum ProcessRunner {
    /// Seconds between SIGTERM and SIGKILL.
    public static let killGrace: TimeInterval = 2

    /// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments` and standard input
    /// closed. A non-zero exit is not an error: check `ProcessOutput.succeeded`.
    /// - Throws: `ProcessRunnerError` when the process cannot start, times out or is cancelled.
    public static func run(
        _ executable: String, arguments: [String], timeout: TimeInterval, stdoutLimit: Int = 8 << 20, stderrLimit: Int = 64 << 10
    ) async throws(ProcessRunnerError) -> ProcessOutput {
        guard let url = resolve(executable) else { throw .executableNotFound(executable) }
        if Task.isCancelled { throw .cancelled }
        var options = PlatformOptions()
        options.processGroupID = 0
        // What a cancelled task's run does (swift-subprocess runs it when the body is cancelled);
        // the timeout below runs the same sequence itself.
        options.teardownSequence = teardown
        let timedOut = TimeoutFlag()
        let result: ExecutionResult<Collected, SequenceOutput, SequenceOutput>
        do {
            result = try await Subprocess.run(
                .path(FilePath(url.path)), arguments: Arguments(arguments), platformOptions: options,
                input: .none, output: .sequence, error: .sequence
            ) { execution in
                try await collect(execution, timeout: timeout, stdoutLimit: max(0, stdoutLimit), stderrLimit: max(0, stderrLimit), timedOut: timedOut)
            }
        } catch let error as SubprocessError {
            if Task.isCancelled { throw .cancelled }
            switch error.code {
            case .executableNotFound: throw .executableNotFound(executable)
            default: throw .launchFailed(error.description)
            }
        } catch {
            throw .cancelled
        }
        let collected = result.closureResult
        if timedOut.isSet { throw .timedOut(seconds: timeout, stderrTail: String(decoding: collected.stderr, as: UTF8.self)) }
        if Task.isCancelled { throw .cancelled }
        let (code, signalled): (Int32, Bool) = switch result.terminationStatus {
        case .exited(let code): (code, false)
        case .signaled(let signal): (signal, true)
        }
        return ProcessOutput(
            exitCode: code, terminatedBySignal: signalled, stdout: collected.stdout, stdoutTruncated: collected.stdoutTruncated,
            stderr: collected.stderr)
    }

    /// The executable's URL: `name` itself when it contains a slash, else the first executable match on `PATH`.
    public static func resolve(_ name: String) -> URL? {
        guard !name.isEmpty else { return nil }
        if name.contains("/") {
            return FileManager.default.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// SIGTERM to the child's process group, SIGKILL to it `killGrace` seconds later.
    private static let teardown: [TeardownStep] = [
        .send(signal: .terminate, toProcessGroup: true, allowedDurationToNextStep: .milliseconds(Int64(killGrace * 1000)))
    ]

    private struct Collected: Sendable {
        var stdout = Data()
        var stdoutTruncated = false
        var stderr = Data()
    }

    /// Reads both pipes to their end (the head of stdout, the tail of stderr) while a timer waits
    /// for `timeout`; when it fires first the process group is torn down and the reads still end.
    private static func collect(
        _ execution: Execution<NoInput, SequenceOutput, SequenceOutput>, timeout: TimeInterval, stdoutLimit: Int, stderrLimit: Int,
        timedOut: TimeoutFlag
    ) async throws -> Collected {
        enum Piece: Sendable { case stdout(Data, truncated: Bool), stderr(Data), timer }
        return try await withThrowingTaskGroup(of: Piece.self) { group in
            group.addTask {
                var head = Data()
                var truncated = false
                for try await buffer in execution.standardOutput {
                    buffer.withUnsafeBytes { bytes in
                        let room = stdoutLimit - head.count
                        if bytes.count > room { truncated = true }
                        if room > 0 { head.append(contentsOf: bytes.prefix(room)) }
                    }
                }
                return .stdout(head, truncated: truncated)
            }
            group.addTask {
                var tail = Data()
                for try await buffer in execution.standardError {
                    buffer.withUnsafeBytes { bytes in tail.append(contentsOf: bytes) }
                    if tail.count > stderrLimit * 2 { tail = Data(tail.suffix(stderrLimit)) }
                }
                return .stderr(Data(tail.suffix(stderrLimit)))
            }
            group.addTask {
                do {
                    try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                } catch {
                    return .timer  // both pipes closed first
                }
                timedOut.set()
                await execution.teardown(using: teardown)
                return .timer
            }
            var collected = Collected()
            var streamsOpen = 2
            while streamsOpen > 0, let piece = try await group.next() {
                switch piece {
                case .stdout(let data, let truncated):
                    (collected.stdout, collected.stdoutTruncated) = (data, truncated)
                    streamsOpen -= 1
                case .stderr(let data):
                    collected.stderr = data
                    streamsOpen -= 1
                case .timer:
                    break
                }
            }
            group.cancelAll()
            return collected
        }
    }
}

/// Set once by the timer task when the timeout fired.
private final class TimeoutFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false

    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
