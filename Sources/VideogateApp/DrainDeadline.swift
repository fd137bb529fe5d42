import Dispatch
import Foundation
import Logging

/// The last resort of a bounded shutdown: exits the process `window` after the first SIGTERM or
/// SIGINT, whatever still runs then. Workers drain well within the window and every store and
/// client call on the shutdown path is bounded; this catches what is not (a call hung on a
/// database that stopped answering), so that an orchestrator's deploy never waits on us. What the
/// process could not record is redone by whoever claims the job next.
public final class DrainDeadline {
    private let sources: [any DispatchSourceSignal]

    /// Starts watching the signals; keep the value alive for as long as the process serves.
    public init(window: TimeInterval, logger: Logger) {
        let fired = DispatchQueue(label: "videogate.drain-deadline")
        sources = [SIGTERM, SIGINT].map { signalNumber in
            // ServiceLifecycle ignores these signals too and watches them the same way; both sources fire.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: fired)
            var armed = false
            source.setEventHandler {
                guard !armed else { return }
                armed = true
                fired.asyncAfter(deadline: .now() + window) {
                    logger.error("drain window passed with work still running; exiting", metadata: ["window_s": .stringConvertible(window)])
                    exit(1)
                }
            }
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
