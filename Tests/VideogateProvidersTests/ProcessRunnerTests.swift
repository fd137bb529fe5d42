import Foundation
import Testing
import VideogateProviders

@Suite struct ProcessRunnerTests {
    @Test func capturesStdoutStderrAndExitCode() async throws {
        let output = try await ProcessRunner.run("sh", arguments: ["-c", "printf hello; printf oops >&2; exit 3"], timeout: 10)
        #expect(output.exitCode == 3)
        #expect(!output.succeeded)
        #expect(String(decoding: output.stdout, as: UTF8.self) == "hello")
        #expect(output.stderrText == "oops")
    }

    @Test func keepsOnlyTheTailOfStderrAndTheHeadOfStdout() async throws {
        let script = "i=0; while [ $i -lt 2000 ]; do echo line$i; echo err$i >&2; i=$((i+1)); done"
        let output = try await ProcessRunner.run("sh", arguments: ["-c", script], timeout: 20, stdoutLimit: 100, stderrLimit: 100)
        #expect(output.succeeded)
        #expect(output.stdout.count == 100)
        #expect(output.stdoutTruncated)
        #expect(output.stderr.count == 100)
        #expect(output.stderrText.hasSuffix("err1999\n"))
        #expect(String(decoding: output.stdout, as: UTF8.self).hasPrefix("line0\nline1\n"))
    }

    @Test func timeoutKillsTheProcessWithinTheTimeout() async throws {
        let started = ContinuousClock.now
        await #expect {
            try await ProcessRunner.run("sleep", arguments: ["300"], timeout: 1)
        } throws: { error in
            guard case ProcessRunnerError.timedOut(let seconds, _) = error else { return false }
            return seconds == 1
        }
        // Killed, not waited for: the child would sleep 300 s. A generous bound, not a timing test:
        // the timer and the teardown run on the concurrency pool, which the parallel test run
        // starves for seconds at a time (17 s was seen for this 1 s timeout).
        #expect(ContinuousClock.now - started < .seconds(90))
    }

    @Test func processIgnoringSIGTERMIsKilled() async throws {
        let started = ContinuousClock.now
        do {
            _ = try await ProcessRunner.run("sh", arguments: ["-c", "trap '' TERM; sleep 300"], timeout: 0.5)
            Issue.record("expected a timeout")
        } catch {
            guard case .timedOut = error else { throw error }
        }
        // SIGKILL to the process group ended both the shell and its sleep (which ignores SIGTERM
        // too and holds the pipes): otherwise this would wait 300 s.
        #expect(ContinuousClock.now - started < .seconds(90))
    }

    @Test func cancellationTerminatesTheProcess() async throws {
        let started = ContinuousClock.now
        let task = Task { try await ProcessRunner.run("sleep", arguments: ["300"], timeout: 600) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let result = await task.result
        #expect(throws: ProcessRunnerError.cancelled) { try result.get() }
        // Well under the 300 s the child would sleep: it was stopped, not waited for. The margin is
        // wide because the first seconds of the parallel test run load both cores.
        #expect(ContinuousClock.now - started < .seconds(90))
    }

    @Test func unknownExecutableThrows() async {
        await #expect(throws: ProcessRunnerError.executableNotFound("videogate-no-such-tool")) {
            try await ProcessRunner.run("videogate-no-such-tool", arguments: [], timeout: 5)
        }
    }
}

/// Many children at once, and what they inherit: Foundation's `Process.run()` crashed the worker
/// under this kind of load (it scans /proc/self/fd); swift-subprocess starts them with posix_spawn.
@Suite struct SpawnTests {
    @Test func manyProcessesStartedAtOnceAllFinish() async throws {
        let outputs = try await withThrowingTaskGroup(of: ProcessOutput.self) { group in
            for index in 0..<200 {
                group.addTask { try await ProcessRunner.run("sh", arguments: ["-c", "echo \(index)"], timeout: 60) }
            }
            var outputs: [ProcessOutput] = []
            for try await output in group { outputs.append(output) }
            return outputs
        }
        #expect(outputs.count == 200)
        #expect(outputs.filter { !$0.succeeded }.isEmpty)
        let printed = Set(outputs.compactMap { Int(String(decoding: $0.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) })
        #expect(printed == Set(0..<200))
    }

    @Test func theChildInheritsOnlyItsStandardDescriptors() async throws {
        // Open a few descriptors of our own, then list the child's.
        let handles = try (0..<5).map { _ in try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/null")) }
        defer { for handle in handles { try? handle.close() } }
        let output = try await ProcessRunner.run("sh", arguments: ["-c", "ls /proc/$$/fd"], timeout: 30)
        let descriptors = String(decoding: output.stdout, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        #expect(output.succeeded)
        // 0, 1, 2, and whatever the shell opened itself for ls (none of ours: they would be many).
        #expect(Set(descriptors).isSuperset(of: [0, 1, 2]))
        #expect(descriptors.count <= 4, "the child inherited descriptors: \(descriptors)")
    }
}
