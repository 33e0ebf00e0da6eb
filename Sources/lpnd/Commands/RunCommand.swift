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
        let registry = PrometheusCollectorRegistry()
        let daemon: Daemon
        let observer = Locked<LiveView?>(nil)  // the live view exists only after the daemon
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

        let ready = Locked(false)  // READY=1 is sent once
        let announce: @Sendable () -> Void = {
            let first = ready.withLock { sent -> Bool in
                defer { sent = true }
                return !sent
            }
            if first { SystemdNotifier.notify("READY=1\nSTATUS=serving \(daemon.pipelines.count) pipeline(s)") }
        }
        let live = LiveView(daemon: daemon)
        observer.set(live)
        let group = serviceGroup(daemon, file, registry: registry, live: live, logger: logger, announce: announce)
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

    /// The service group: the HTTP endpoint (when `http` is set), the live view, systemd, reload
    /// and the daemon. A graceful shutdown stops the services in the reverse of this order: the
    /// daemon drains first, and the live view ends its pages' event streams before the HTTP
    /// server, which waits for every open response, is stopped.
    private func serviceGroup(_ daemon: Daemon, _ file: DaemonConfigFile, registry: PrometheusCollectorRegistry, live: LiveView,
                              logger: Logger, announce: @escaping @Sendable () -> Void) -> ServiceGroup {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let http = file.http {
            let app = HTTPEndpoint.application(daemon: daemon, registry: registry, live: live, host: http.host, port: http.port,
                                               stallTimeout: file.stallTimeout, logger: logger) { port in
                logger.info("http: /metrics, /healthz, /readyz on http://\(http.host):\(port)")
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
        return ServiceGroup(configuration: .bounded(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                    drainTimeout: file.drainTimeout, logger: logger))
    }
}
