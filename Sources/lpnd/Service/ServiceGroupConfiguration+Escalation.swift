import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import UnixSignals
import LPN
import Reconstruction
import Streaming
import TensorIO
import Support

extension ServiceGroupConfiguration {
    /// A group whose shutdown always ends: a graceful shutdown that takes longer than the
    /// drain plus `grace` seconds is escalated to cancellation, and a cancellation that takes
    /// longer than `grace` seconds ends the process (ServiceLifecycle's fatal error) rather than
    /// leaving it for the service manager's SIGKILL.
    static func bounded(services: [ServiceConfiguration], gracefulShutdownSignals: [UnixSignal] = [], drainTimeout: Double,
                        grace: Double = 10, logger: Logger) -> ServiceGroupConfiguration {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: gracefulShutdownSignals,
                                                      logger: logger)
        configuration.maximumGracefulShutdownDuration = .milliseconds(Int64((drainTimeout + grace) * 1000))
        configuration.maximumCancellationDuration = .milliseconds(Int64(grace * 1000))
        return configuration
    }
}
