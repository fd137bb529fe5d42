import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts a child process with `posix_spawn`, for `ProcessRunner`.
///
/// Foundation's `Process.run()` is not used: on Linux (Swift 6.3.1) it can crash while it scans
/// `/proc/self/fd` (an over-read of `dirent.d_name`, swift-corelibs-foundation pull request 5472),
/// which the worker hit when it started ffprobe and ffmpeg for many jobs at once.
///
/// The child gets standard input from `/dev/null`, standard output and error on the given
/// descriptors, no other descriptor of ours (`closefrom(3)` where glibc has it, and our pipes are
/// close-on-exec anyway), default signal handlers with an empty signal mask (the spawning thread
/// may block SIGTERM, and the child must still receive it), and its own process group (so that
/// SIGTERM reaches the child's own children too).
enum Spawn {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The child's process id.
    static func start(_ path: String, arguments: [String], stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }

        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard status == 0 else { throw Failure(description: "posix_spawn \(path): \(String(cString: strerror(status)))") }
        return pid
    }

    /// The child's exit status, or the signal that ended it, once it has exited (reaping it); nil while it runs.
    static func reap(_ pid: pid_t) -> (code: Int32, signalled: Bool)? {
        var status: Int32 = 0
        var result = waitpid(pid, &status, WNOHANG)
        while result < 0 && errno == EINTR { result = waitpid(pid, &status, WNOHANG) }
        if result == 0 { return nil }
        if result < 0 { return (-1, false) }
        let signal = status & 0x7F
        return signal == 0 ? ((status >> 8) & 0xFF, false) : (signal, true)
    }

    /// A pipe whose two ends are close-on-exec (the child gets copies through dup2 only).
    static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        // Not atomic with the pipe (pipe2 is not exported to Swift): a child spawned in between
        // still gets nothing of ours, as every spawn closes descriptors from 3 up.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        return (ends[0], ends[1])
    }

    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, looked up at run time.
    static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}
