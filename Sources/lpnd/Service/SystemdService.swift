import Foundation
import Logging
import ServiceLifecycle
import Streaming
import TensorIO
import Support

/// The systemd side of the service (sd_notify(3)): `READY=1` once everything serves,
/// `STATUS=` with frames/s, and, when the unit sets `WatchdogSec=`, `WATCHDOG=1` every half
/// period **only while the pipelines make progress**: when a reconstruction has run for more
/// than `stall_timeout` seconds the pings stop, and systemd kills and restarts the service.
struct SystemdService: Service {
    let daemon: Daemon
    /// Seconds a reconstruction may run before the daemon counts as stuck.
    let stallTimeout: Double
    let logger: Logger
    /// Half the watchdog period (from WATCHDOG_USEC), or nil without a watchdog.
    let watchdogInterval: Double?
    /// Period of STATUS= updates without a watchdog.
    let statusInterval: Double

    init(daemon: Daemon, stallTimeout: Double, logger: Logger,
         environment: [String: String] = ProcessInfo.processInfo.environment, statusInterval: Double = 10) {
        self.daemon = daemon
        self.stallTimeout = stallTimeout
        self.logger = logger
        self.statusInterval = statusInterval
        watchdogInterval = Self.watchdogInterval(environment)
    }

    /// sd_watchdog_enabled(3): WATCHDOG_USEC set, and WATCHDOG_PID unset or this process.
    static func watchdogInterval(_ environment: [String: String]) -> Double? {
        guard let text = environment["WATCHDOG_USEC"], let usec = Double(text), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != getpid() { return nil }
        return usec / 2e6
    }

    func run() async throws {
        let interval = watchdogInterval ?? statusInterval
        if let watchdogInterval {
            logger.info("systemd watchdog: pinging every \(watchdogInterval) s while no reconstruction runs longer than \(stallTimeout) s")
        }
        var last = (frames: totalFrames(), time: MonotonicClock.seconds())
        var stalled = false
        while !Task.isShuttingDownGracefully {
            _ = try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(interval * 1000))) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { break }
            let now = (frames: totalFrames(), time: MonotonicClock.seconds())
            let rate = Double(now.frames - last.frames) / max(now.time - last.time, 1e-9)
            last = now
            let reason = daemon.stallReason(after: stallTimeout)
            if let reason, !stalled { logger.error("stalled: \(reason); watchdog pings stop") }
            if reason == nil, stalled { logger.notice("progress again; watchdog pings resume") }
            stalled = reason != nil
            let status = "STATUS=" + (reason.map { "stalled: \($0)" }
                ?? String(format: "%.2f frames/s, %d frames, %d pipeline(s)", rate, now.frames, daemon.pipelines.count))
            SystemdNotifier.notify(watchdogInterval != nil && reason == nil ? "WATCHDOG=1\n" + status : status)
        }
    }

    private func totalFrames() -> Int { daemon.stats.pipelines.reduce(0) { $0 + $1.frames } }
}
