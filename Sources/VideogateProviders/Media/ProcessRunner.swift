import Dispatch
import Foundation

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

/// Runs external commands (ffmpeg, ffprobe) from async code without blocking a thread of the
/// cooperative pool: the process is started by `Spawn`, and a thread of its own reads its output
/// and reaps it. A timeout or the cancellation of the calling task sends SIGTERM, then SIGKILL
/// after `killGrace` seconds; the call returns only once the process has exited.
public enum ProcessRunner {
    /// Seconds between SIGTERM and SIGKILL.
    public static let killGrace: TimeInterval = 2
    /// How long output pipes may stay open after the process exited (a grandchild holding them)
    /// before they are abandoned. Long: on a loaded machine the last reads of a finished process
    /// can lag, and abandoning them early would cut its output short.
    public static let pipeDrainGrace: TimeInterval = 30

    /// Runs `executable` (a path, or a name looked up on `PATH`) with `arguments` and standard input
    /// closed. A non-zero exit is not an error: check `ProcessOutput.succeeded`.
    /// - Throws: `ProcessRunnerError` when the process cannot start, times out or is cancelled.
    public static func run(
        _ executable: String, arguments: [String], timeout: TimeInterval, stdoutLimit: Int = 8 << 20, stderrLimit: Int = 64 << 10
    ) async throws(ProcessRunnerError) -> ProcessOutput {
        guard let url = resolve(executable) else { throw .executableNotFound(executable) }
        let run = ProcessRun(stdoutLimit: stdoutLimit, stderrLimit: stderrLimit)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<ProcessOutput, ProcessRunnerError>, Never>) in
                run.start(url: url, arguments: arguments, timeout: timeout, continuation: continuation)
            }
        } onCancel: {
            run.stop(because: .cancelled)
        }
        return try result.get()
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
}

/// The shared state of one run, touched from the caller, the thread supervising the child, and
/// timers. Every mutable field is guarded by `lock`, hence `@unchecked Sendable`.
private final class ProcessRun: @unchecked Sendable {
    enum StopReason { case timedOut(TimeInterval), cancelled }

    private let lock = NSLock()
    private let stdoutLimit: Int
    private let stderrLimit: Int
    private let queue = DispatchQueue(label: "videogate.process-run")
    private var continuation: CheckedContinuation<Result<ProcessOutput, ProcessRunnerError>, Never>?
    private var pid: pid_t?
    private var exit: (code: Int32, signalled: Bool)?
    private var stopReason: StopReason?
    private var openStreams = 2
    private var streamsAbandoned = false
    private var stdout = Data()
    private var stdoutTruncated = false
    private var stderr = Data()

    init(stdoutLimit: Int, stderrLimit: Int) {
        self.stdoutLimit = max(0, stdoutLimit)
        self.stderrLimit = max(0, stderrLimit)
    }

    func start(url: URL, arguments: [String], timeout: TimeInterval,
               continuation: CheckedContinuation<Result<ProcessOutput, ProcessRunnerError>, Never>) {
        lock.lock()
        self.continuation = continuation
        let cancelledEarly = stopReason != nil
        lock.unlock()
        if cancelledEarly { return finish(.failure(.cancelled)) }

        let launched: (pid: pid_t, stdout: Int32, stderr: Int32)
        do {
            let out = try Spawn.pipe()
            let err: (read: Int32, write: Int32)
            do { err = try Spawn.pipe() } catch {
                close(out.read)
                close(out.write)
                throw error
            }
            defer {
                // The child has its own copies of the write ends; closing ours lets the reads see EOF.
                close(out.write)
                close(err.write)
            }
            do {
                launched = (try Spawn.start(url.path, arguments: arguments, stdout: out.write, stderr: err.write), out.read, err.read)
            } catch {
                close(out.read)
                close(err.read)
                throw error
            }
        } catch {
            return finish(.failure(.launchFailed(String(describing: error))))
        }
        // One thread per child reads both pipes and reaps the child. Dispatch I/O is not used for
        // the pipes: under load libdispatch's event loop crashed on their rapidly reused descriptors.
        let child = launched.pid
        Thread.detachNewThread { [self] in supervise(child, stdout: launched.stdout, stderr: launched.stderr) }

        lock.lock()
        if exit == nil { pid = child }
        let pendingStop = stopReason
        lock.unlock()
        if let pendingStop { stop(because: pendingStop) }
        queue.asyncAfter(deadline: .now() + max(0, timeout)) { [weak self] in self?.stop(because: .timedOut(timeout)) }
    }

    /// Sends SIGTERM now and SIGKILL after the grace period, unless the process has exited.
    func stop(because reason: StopReason) {
        lock.lock()
        guard exit == nil else { return lock.unlock() }
        if stopReason == nil { stopReason = reason }
        let target = pid
        lock.unlock()
        guard let target else { return }
        Self.signal(target, SIGTERM)
        queue.asyncAfter(deadline: .now() + ProcessRunner.killGrace) { [weak self] in
            guard let self else { return }
            lock.lock()
            let stillRunning = exit == nil
            lock.unlock()
            if stillRunning { Self.signal(target, SIGKILL) }
        }
    }

    /// Signals the process group the child leads (`Spawn` starts children in their own group), so
    /// that its own children go too. Falls back to the process alone.
    private static func signal(_ target: pid_t, _ signal: Int32) {
        if getpgid(target) != target || kill(-target, signal) != 0 { kill(target, signal) }
    }

    /// Reads both pipes until EOF and reaps the child; both descriptors are closed here. Pipes still
    /// open `pipeDrainGrace` after the exit (a grandchild holding them) are abandoned.
    private func supervise(_ child: pid_t, stdout: Int32, stderr: Int32) {
        var open: [(descriptor: Int32, isStdout: Bool)] = [(stdout, true), (stderr, false)]
        var exitedAt: ContinuousClock.Instant?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if exitedAt == nil, let status = Spawn.reap(child) {
                exitedAt = .now
                processExited(code: status.code, signalled: status.signalled)
            }
            if open.isEmpty && exitedAt != nil { return }
            if let exitedAt, ContinuousClock.now - exitedAt > .seconds(ProcessRunner.pipeDrainGrace) {
                for stream in open { close(stream.descriptor) }
                lock.lock()
                streamsAbandoned = true
                lock.unlock()
                return completeIfDone()
            }
            guard !open.isEmpty else {
                // Output is complete; the child has not been reaped yet.
                usleep(20_000)
                continue
            }
            var polled = open.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polled, nfds_t(polled.count), 20)
            guard ready > 0 else { continue }
            var closed: [Int32] = []
            for (index, entry) in polled.enumerated() where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(entry.fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    append(Data(buffer[0..<count]), isStdout: open[index].isStdout)
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    closed.append(entry.fd)
                }
            }
            for descriptor in closed {
                close(descriptor)
                open.removeAll { $0.descriptor == descriptor }
                streamClosed()
            }
        }
    }

    private func append(_ chunk: Data, isStdout: Bool) {
        lock.lock()
        defer { lock.unlock() }
        if isStdout {
            let room = stdoutLimit - stdout.count
            if chunk.count > room { stdoutTruncated = true }
            if room > 0 { stdout.append(chunk.prefix(room)) }
        } else {
            stderr.append(chunk)
            if stderr.count > stderrLimit { stderr = Data(stderr.suffix(stderrLimit)) }
        }
    }

    private func processExited(code: Int32, signalled: Bool) {
        lock.lock()
        exit = (code, signalled)
        pid = nil
        lock.unlock()
        completeIfDone()
    }

    private func streamClosed() {
        lock.lock()
        openStreams -= 1
        lock.unlock()
        completeIfDone()
    }

    private func completeIfDone() {
        lock.lock()
        guard let exit, openStreams <= 0 || streamsAbandoned else { return lock.unlock() }
        let output = ProcessOutput(
            exitCode: exit.code, terminatedBySignal: exit.signalled, stdout: stdout, stdoutTruncated: stdoutTruncated, stderr: stderr)
        let reason = stopReason
        lock.unlock()
        switch reason {
        case .timedOut(let seconds): finish(.failure(.timedOut(seconds: seconds, stderrTail: output.stderrText)))
        case .cancelled: finish(.failure(.cancelled))
        case nil: finish(.success(output))
        }
    }

    private func finish(_ result: Result<ProcessOutput, ProcessRunnerError>) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        lock.unlock()
        continuation?.resume(returning: result)
    }
}
