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
        _ = await onOwnThread { daemon.shutdown() }
    }
}

/// SIGHUP: hot reload (docs/DEPLOY.md, "Reload"). The configuration file is read again, every
/// pipeline is built beside the running one and swapped in between frames; an invalid file or
/// a change that needs new sockets is rejected with a log line and the running configuration
/// keeps serving. systemd hears `RELOADING=1`, then `READY=1`.
struct ReloadService: Service {
    let daemon: Daemon
    let configPath: String
    /// The daemon-level settings that need a restart to change, as loaded at start.
    let started: DaemonConfigFile
    let logger: Logger

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            SystemdNotifier.notify("RELOADING=1")
            let outcome = await onOwnThread { reload() }
            logger.notice("\(outcome)")
            SystemdNotifier.notify("READY=1\nSTATUS=\(outcome)")
        }
    }

    /// Loads, checks, builds and swaps; the log line says what happened.
    private func reload() -> String {
        let file: DaemonConfigFile
        do { file = try DaemonConfigFile.load(path: configPath) } catch {
            return "reload rejected, generation \(daemon.stats.generation) keeps serving: \(error)"
        }
        if let key = started.restartOnlyKeyChanged(in: file) {
            return "reload rejected, generation \(daemon.stats.generation) keeps serving: \(configPath): key '\(key)' changed; that needs a restart"
        }
        let specs: [Daemon.PipelineSpec]
        do { specs = try DaemonLauncher.pipelineSpecs(file, threads: file.frameThreads()) } catch {
            return "reload rejected, generation \(daemon.stats.generation) keeps serving: \(error)"
        }
        switch daemon.reload(specs) {
        case .applied(let generation):
            return "reloaded \(configPath): generation \(generation) serves \(specs.count) pipeline(s)"
        case .rejected(let reason):
            return "reload rejected, generation \(daemon.stats.generation) keeps serving: \(configPath): \(reason)"
        }
    }
}
