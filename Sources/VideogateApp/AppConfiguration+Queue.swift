import VideogateAPI
import VideogateDomain

extension AppConfiguration {
    /// Queue positions follow the workers' account cap; estimates use the workers' lane sizes and the
    /// sandbox delay, all read from the same variables as the workers (one configuration for every
    /// process of a deployment).
    var queueStandingSettings: QueueStandingSettings {
        QueueStandingSettings(
            accountMaxInFlight: accountMaxInFlight,
            estimator: CompletionEstimator(liveSlots: workerConcurrency, sandboxSlots: sandboxConcurrency, sandboxDelay: sandboxDelay))
    }
}
