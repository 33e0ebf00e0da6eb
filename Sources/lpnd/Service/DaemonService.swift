import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import Streaming

/// The daemon inside the service group: it already serves when the group starts; at graceful
/// shutdown (SIGTERM/SIGINT) or cancellation it drains (docs/DEPLOY.md) on its own thread,
/// since draining blocks for up to `drain_timeout`.
struct DaemonService: Service {
    let daemon: Daemon

    func run() async throws {
        try? await gracefulShutdown()  // returns at graceful shutdown, throws at cancellation: drain either way
        SystemdNotifier.notify("STOPPING=1")
        let daemon = daemon
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread {
                daemon.shutdown()
                done.resume()
            }.start()
        }
    }
}

/// SIGHUP: logged and ignored (configuration reload is not implemented): nothing is lost.
struct HangupService: Service {
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            logger.warning("SIGHUP: configuration reload is not implemented; ignored (the daemon keeps serving, nothing is lost)")
        }
    }
}
