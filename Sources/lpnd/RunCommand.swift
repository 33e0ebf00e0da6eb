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

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the streaming daemon (until SIGTERM or SIGINT).",
        discussion: """
            Settings and pipelines come from a YAML file; see docs/PIPELINES.md and docs/PROTOCOL.md.
            Exit status: 0 after a clean stop, 78 when the configuration (lpnd.yaml, a pipeline \
            file or a model) is invalid, 69 when a socket cannot bind or connect (docs/DEPLOY.md).
            """)

    @Option(help: "Daemon configuration (lpnd.yaml).") var config: String

    /// sysexits.h codes a service manager can tell apart (docs/DEPLOY.md, "Exit status").
    enum Exit {
        static let configuration = ExitCode(78)  // EX_CONFIG: fix the files, restarting will not help
        static let unavailable = ExitCode(69)    // EX_UNAVAILABLE: a socket could not open; a restart may
        static let software = ExitCode(70)       // EX_SOFTWARE: a bug
    }

    func run() async throws {
        // A stop request while models load is kept and honoured once the service group exists.
        let early = EarlyStop(signals: [SIGTERM, SIGINT])
        signal(SIGPIPE, SIG_IGN)
        var logger = Logger(label: "lpnd") { _ in JournalLogHandler(logLevel: .info) }
        let file: DaemonConfigFile
        do {
            file = try DaemonConfigFile.load(path: config)
        } catch {
            logger.error("\(error)")
            throw Exit.configuration
        }
        logger = Logger(label: "lpnd") { _ in JournalLogHandler(logLevel: file.logLevel) }
        let log = logger
        let registry = PrometheusCollectorRegistry()
        let daemon: Daemon
        let observer = LockedValue<LiveView?>(nil)  // the live view exists only after the daemon
        do {
            daemon = try DaemonLauncher.start(file, logger: logger, metrics: PrometheusMetricsFactory(registry: registry),
                                              frameObserver: { observer.get()?.observe($0) })
        } catch let error as SocketSetupError {
            logger.error("\(config): \(error)")
            throw Exit.unavailable
        } catch {
            logger.error("\(error)")
            throw Exit.configuration
        }

        let ready = LockedValue(false)  // READY=1 is sent once
        let announce: @Sendable () -> Void = {
            let first = ready.withLock { sent -> Bool in
                defer { sent = true }
                return !sent
            }
            if first { SystemdNotifier.notify("READY=1\nSTATUS=serving \(daemon.pipelines.count) pipeline(s)") }
        }
        // A graceful shutdown stops the services in the reverse of this order: the daemon drains
        // first, and the live view ends its pages' event streams before the HTTP server, which
        // waits for every open response, is stopped.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let live = LiveView(daemon: daemon)
        observer.set(live)
        if let http = file.http {
            let app = HTTPEndpoint.application(daemon: daemon, registry: registry, live: live, host: http.host, port: http.port,
                                               stallTimeout: file.stallTimeout, logger: logger) { port in
                log.info("http: /metrics, /healthz, /readyz on http://\(http.host):\(port)")
                announce()
            }
            services.append(.init(service: app, serviceName: "http"))
        }
        services.append(.init(service: live, serviceName: "live"))
        services.append(.init(service: SystemdService(daemon: daemon, stallTimeout: file.stallTimeout, logger: logger),
                              serviceName: "systemd"))
        services.append(.init(service: ReloadService(daemon: daemon, configPath: config, started: file, logger: logger),
                              serviceName: "reload"))
        services.append(.init(service: DaemonService(daemon: daemon), successTerminationBehavior: .gracefullyShutdownGroup,
                              serviceName: "daemon"))
        let group = ServiceGroup(configuration: .bounded(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                         drainTimeout: file.drainTimeout, logger: logger))
        early.forward(to: group)
        if file.http == nil { announce() }
        let statsTimer = DaemonLauncher.logStats(of: daemon, every: file.statsInterval, logger: logger)
        var status: Int32 = 0
        do {
            try await group.run()
        } catch {
            if !ready.get(), let http = file.http {
                logger.error("\(config): key 'http': cannot listen on \(http.host):\(http.port): \(error)")
                status = Exit.unavailable.rawValue
            } else {
                logger.error("service group: \(error)")
                status = Exit.software.rawValue
            }
        }
        statsTimer?.cancel()
        if !daemon.isStopping { daemon.shutdown() }
        // Everything accepted is published and every socket closed. End without exit-time
        // teardown (library destructors), which must never race a thread that is still inside
        // a library call: a clean stop can then not crash.
        fflush(nil)
        _exit(status)
    }
}

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

/// SIGTERM/SIGINT before the service group runs (while models load): remembered, then handed
/// to the group, so an early stop is a graceful stop, not a kill.
final class EarlyStop: @unchecked Sendable {  // safe: `state` is only touched under `lock`
    private struct State {
        var requested = false
        var group: ServiceGroup?
    }

    private let lock = NSLock()
    private var state = State()
    private var sources: [DispatchSourceSignal] = []

    init(signals: [Int32]) {
        for number in signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.request() }
            source.resume()
            sources.append(source)
        }
    }

    private func request() {
        lock.lock()
        state.requested = true
        let group = state.group
        lock.unlock()
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    func forward(to group: ServiceGroup) {
        lock.lock()
        state.group = group
        let requested = state.requested
        lock.unlock()
        if requested { Task { await group.triggerGracefulShutdown() } }
    }
}

/// Builds a ``Daemon`` from a configuration file: loads every pipeline, then opens every
/// socket. Any failure stops the start (a service that runs half its configuration is worse
/// than one that refuses).
enum DaemonLauncher {
    static func start(_ file: DaemonConfigFile, logger: Logger, metrics: MetricsFactory,
                      frameObserver: (@Sendable (PublishedFrame) -> Void)? = nil) throws -> Daemon {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threads = FrameThreads.take(file.frameThreads(cores: cores))
        logger.info("\(cores) cores: \(file.pipelines.count) pipeline(s), \(file.totalWorkers) worker(s), \(threads) thread(s) per frame (frame_threads: \(file.frameThreads.map(String.init) ?? "auto")); \(OpenBLASCoreRestart.summary)")
        if threads * file.totalWorkers > cores {
            logger.warning("\(file.path): frame_threads × workers over all pipelines = \(threads * file.totalWorkers) exceeds the \(cores) cores; expect contention")
        }
        return try Daemon(settings: Daemon.Settings(publishEndpoint: file.publish, controlEndpoint: file.control,
                                                    drainTimeout: file.drainTimeout, lingerMs: file.lingerMs,
                                                    curve: file.curve, logger: logger, metrics: metrics,
                                                    frameObserver: frameObserver),
                          pipelines: try pipelineSpecs(file, threads: threads))
    }

    /// Every pipeline file loaded (models included), or an error naming the file and key.
    static func pipelineSpecs(_ file: DaemonConfigFile, threads: Int) throws -> [Daemon.PipelineSpec] {
        try file.pipelines.enumerated().map { index, entry in
            do {
                let pipeline = try Pipeline.load(path: entry.file)
                return Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: pipeline, threads: threads),
                                           configuration: entry.runtime)
            } catch {
                throw ValidationErrorText("\(file.path): key 'pipelines[\(index)].file': \(error)")
            }
        }
    }

    /// Logs one line per pipeline every `interval` seconds (queue depths, drops, latency).
    static func logStats(of daemon: Daemon, every interval: Double, logger: Logger) -> DispatchSourceTimer? {
        guard interval > 0 else { return nil }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler {
            for p in daemon.stats.pipelines {
                let depths = p.stages.map { "\($0.name.split(separator: ".").last ?? "") \($0.depth)/\($0.capacity)" }.joined(separator: ", ")
                logger.info("stats \(p.pipeline): received \(p.received), frames \(p.frames), errors \(p.errors), dropped \(p.dropped), depths [\(depths)], p50 \(p.latencyP50Ms.map { String(format: "%.1f ms", $0) } ?? "-")")
            }
        }
        timer.resume()
        return timer
    }
}

/// The daemon's shared values (the live view, READY sent once) live in the one lock box.
typealias LockedValue = Locked
