// The five provider fakes (Tests/ProviderFakes) as one process, for bench/providers-in-flight.sh.
//
// Each fake listens on its own free port on 127.0.0.1 and answers instantly: the first status
// call of a task reports success (`runningPolls(0)`), and every result is the same small MP4
// (made once with ffmpeg). Requests are counted, not kept. On start it prints one JSON line with
// the ports, e.g. {"kling": 41234, "veo": 41235, ...}, and runs until SIGTERM or SIGINT.
// Each fake also serves `GET /_stats` (request counts and when each task first reported success).
// With FAKE_FINISH_AFTER_MS=N every task finishes N ms after its creation instead (and `finishes_at`
// in `/_stats` says when), and Kling and Seedance POST their callback to the task's `callback_url`
// then (bench/provider-callbacks.sh).
import Foundation
import Hummingbird
import ProviderFakes

/// SIGTERM and SIGINT end the process at once (`_exit` is async-signal-safe): the fakes keep
/// nothing worth saving. (With a Dispatch signal source instead, the process sometimes still died
/// of SIGTERM, and its handler ran off the main actor that top-level closures are isolated to.)
nonisolated func exitOnStopSignals() {
    for number in [SIGTERM, SIGINT] {
        signal(number) { _ in _exit(0) }
    }
}

exitOnStopSignals()

let video: Data
do {
    video = try FakeVideo.mp4()
} catch {
    FileHandle.standardError.write(Data("videogate-fake-providers: could not make the fake MP4 with ffmpeg: \(error)\n".utf8))
    exit(1)
}

typealias Routes = @Sendable (Router<BasicRequestContext>, FakeUpstream) -> Void

let fakes: [(name: String, fake: FakeUpstream, routes: Routes)] = [
    ("kling", FakeUpstream(video: video, recordRequests: false), { FakeKling().routes($0, $1) }),
    ("veo", FakeUpstream(video: video, recordRequests: false), { FakeVeo().routes($0, $1) }),
    ("sora", FakeUpstream(video: video, recordRequests: false), { FakeSora().routes($0, $1) }),
    ("wan", FakeUpstream(video: video, recordRequests: false), { FakeWan().routes($0, $1) }),
    ("seedance", FakeUpstream(video: video, recordRequests: false), { FakeSeedance().routes($0, $1) }),
]
for entry in fakes { entry.fake.runningPolls(0) }
if let text = ProcessInfo.processInfo.environment["FAKE_FINISH_AFTER_MS"], let milliseconds = Int(text), milliseconds >= 0 {
    for entry in fakes {
        entry.fake.finish(after: .milliseconds(milliseconds))
        entry.fake.sendCallbacks()
    }
}

try await withThrowingTaskGroup(of: Void.self) { group in
    for entry in fakes {
        let fake = entry.fake
        let routes = entry.routes
        group.addTask {
            try await fake.run(routes: routes) { _ in
                // Runs until the process is signalled (or the task is cancelled).
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            }
        }
    }
    // Wait (at most 60 s) until every fake has its port, then say where they are.
    let deadline = ContinuousClock.now + .seconds(60)
    while fakes.contains(where: { $0.fake.port == 0 }) {
        guard ContinuousClock.now < deadline else {
            FileHandle.standardError.write(Data("videogate-fake-providers: the fakes did not start within 60 s\n".utf8))
            exit(1)
        }
        try await Task.sleep(for: .milliseconds(10))
    }
    let ports = fakes.map { "\"\($0.name)\": \($0.fake.port)" }.joined(separator: ", ")
    FileHandle.standardOutput.write(Data("{\(ports)}\n".utf8))
    // Runs until SIGTERM or SIGINT.
    try await group.waitForAll()
}
