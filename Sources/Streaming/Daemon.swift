import Foundation
import Logging
import Support
import Metrics

/// The daemon: one PUB publisher shared by every pipeline, the pipelines themselves, and an
/// optional REP control socket answering `stats`.
///
/// It starts whole or not at all: a socket that cannot bind or connect stops what already
/// started and throws a ``SocketSetupError`` naming the configuration key.
public final class Daemon: @unchecked Sendable {  // safe: sockets and pipelines are set up in init; later mutable state is in the `state` box
    public struct PipelineSpec: Sendable {
        public var backend: any PipelineBackend
        public var configuration: PipelineRuntimeConfiguration

        public init(backend: any PipelineBackend, configuration: PipelineRuntimeConfiguration) {
            self.backend = backend
            self.configuration = configuration
        }
    }

    public struct Settings: Sendable {
        public var publishEndpoint: String
        public var controlEndpoint: String?
        /// Seconds allowed, at shutdown, to finish what was accepted.
        public var drainTimeout: Double
        public var lingerMs: Int32
        /// CURVE on every socket (ingest, publish, control), when set.
        public var curve: Curve?
        /// Where every log line of the daemon goes (swift-log).
        public var logger: Logger
        /// Where its metrics go (swift-metrics); the process-wide factory by default.
        public var metrics: MetricsFactory
        /// Called with every published frame (the live view); must return quickly.
        public var frameObserver: (@Sendable (PublishedFrame) -> Void)?
        /// The MRD TCP endpoint (docs/PROTOCOL.md §9), when set.
        public var mrd: MRDServer.Settings?

        public init(publishEndpoint: String, controlEndpoint: String? = nil, drainTimeout: Double = 30, lingerMs: Int32 = 2000,
                    curve: Curve? = nil, logger: Logger = Logger(label: "lpnd"), metrics: MetricsFactory = MetricsSystem.factory,
                    frameObserver: (@Sendable (PublishedFrame) -> Void)? = nil, mrd: MRDServer.Settings? = nil) {
            self.frameObserver = frameObserver
            self.mrd = mrd
            self.logger = logger
            self.metrics = metrics
            self.publishEndpoint = publishEndpoint
            self.controlEndpoint = controlEndpoint
            self.drainTimeout = drainTimeout
            self.lingerMs = lingerMs
            self.curve = curve
        }
    }

    /// The daemon's CURVE identity and the clients (senders and subscribers) it lets in.
    public struct Curve: Sendable {
        public var server: CurveKeyPair
        public var clients: CurveClientList

        public init(server: CurveKeyPair, clients: CurveClientList) {
            self.server = server
            self.clients = clients
        }
    }

    public let settings: Settings
    private let logger: Logger
    private let context = ZMQContext()
    public let publisher: Publisher
    public private(set) var pipelines: [PipelineRuntime] = []
    /// The MRD TCP endpoint (`settings.mrd`).
    public private(set) var mrdServer: MRDServer?
    private var controlFinished: Completion?
    /// Whether a shutdown has begun, and whether a reload is building (reloads run one at a time;
    /// a second waits for the first without holding the lock).
    private struct State {
        var stopping = false
        var reloading = false
    }
    private let state = LockedCondition(State())
    public private(set) var controlEndpoint: String?
    private let startedAt = MonotonicClock.seconds()
    /// Seconds a socket thread (control, publisher) has to end once told to stop.
    static let joinTimeout = 5.0
    /// Answers CURVE handshakes (started before any socket, stopped after all are closed).
    public private(set) var authenticator: ZAPHandler?

    public init(settings: Settings, pipelines specs: [PipelineSpec]) throws {
        self.settings = settings
        logger = settings.logger
        var security = SocketSecurity.plain
        if let curve = settings.curve {
            do {
                authenticator = try ZAPHandler(context: context, clients: curve.clients, logger: settings.logger)
            } catch {
                context.terminate()
                throw SocketSetupError(key: "curve", endpoint: ZAPHandler.endpoint, reason: "\(error)")
            }
            security = .curveServer(secretKey: curve.server.secretKey)
        }
        do {
            publisher = try Publisher(context: context, endpoint: settings.publishEndpoint, security: security,
                                      logger: settings.logger)
        } catch {
            authenticator?.stop()
            context.terminate()
            throw SocketSetupError(key: "publish", endpoint: settings.publishEndpoint, reason: "\(error)")
        }
        do {
            for (index, spec) in specs.enumerated() {
                let name = spec.backend.interface.name
                do {
                    let runtime = try PipelineRuntime(backend: spec.backend, configuration: spec.configuration,
                                                      context: context, publisher: publisher, security: security,
                                                      logger: settings.logger, metrics: settings.metrics,
                                                      frameObserver: settings.frameObserver)
                    pipelines.append(runtime)
                    logger.info("pipeline \(name): \(spec.configuration.socket.rawValue) on \(runtime.endpoint), \(spec.configuration.workers) worker(s), inbox \(spec.configuration.inbox)")
                } catch {
                    throw SocketSetupError(key: "pipelines[\(index)].ingest.endpoint", endpoint: spec.configuration.endpoint,
                                           reason: "\(error)")
                }
            }
            if let mrd = settings.mrd {
                do {
                    mrdServer = try MRDServer(settings: mrd, pipelines: pipelines, drainTimeout: settings.drainTimeout, logger: logger,
                                              metrics: settings.metrics)
                } catch {
                    throw SocketSetupError(key: "mrd", endpoint: "\(mrd.host):\(mrd.port)", reason: "\(error)")
                }
            }
            if let endpoint = settings.controlEndpoint {
                do { try startControl(endpoint, security: security) } catch {
                    throw SocketSetupError(key: "control", endpoint: endpoint, reason: "\(error)")
                }
            }
        } catch {
            mrdServer?.beginStop(timeout: Self.joinTimeout)
            for pipeline in pipelines { pipeline.stopAccepting() }
            publisher.stop(lingerMs: 0)
            controlFinished?.wait(timeout: Self.joinTimeout)
            authenticator?.stop()
            context.terminate()
            throw error
        }
        logger.info("publishing on \(publisher.endpoint)")
    }

    public func pipeline(named name: String) -> PipelineRuntime? {
        pipelines.first { $0.interface.name == name }
    }

    /// What a reload changed, or why it was rejected.
    public enum ReloadOutcome: Sendable, Equatable {
        case applied(generation: Int)
        case rejected(reason: String)
    }

    /// Hot reload (docs/DEPLOY.md, "Reload"): the pipelines of `specs` are built beside the
    /// running ones (models loaded, one processor per worker), then swapped in between frames;
    /// frames already decoded finish on the old ones, nothing accepted is lost. Anything that
    /// would need a socket opened again (the list of pipelines, their names, endpoints or queue
    /// settings, a pipeline's message shape) rejects the whole reload and the running
    /// configuration keeps serving. Reloads run one at a time.
    public func reload(_ specs: [PipelineSpec]) -> ReloadOutcome {
        let mine = state.wait(until: { !$0.reloading || $0.stopping }) { s, _ -> Bool in
            guard !s.stopping else { return false }
            s.reloading = true
            return true
        }
        guard mine else { return .rejected(reason: "the daemon is stopping") }
        defer { state.withLock { $0.reloading = false } }
        guard specs.map(\.backend.interface.name) == pipelines.map(\.interface.name) else {
            return .rejected(reason: "the list of pipelines changed (\(pipelines.map(\.interface.name)) → \(specs.map(\.backend.interface.name))); that needs a restart")
        }
        var built: [[any FrameProcessor]] = []
        for (index, (spec, running)) in zip(specs, pipelines).enumerated() {
            guard spec.configuration == running.configuration else {
                return .rejected(reason: "key 'pipelines[\(index)]': ingest or queue settings changed; that needs a restart")
            }
            do {
                built.append(try running.makeProcessors(spec.backend))
            } catch {
                return .rejected(reason: "key 'pipelines[\(index)]': \(error)")
            }
        }
        let generation = (pipelines.first?.currentGeneration ?? 1) + 1
        for (pipeline, processors) in zip(pipelines, built) { pipeline.swap(to: processors, generation: generation) }
        return .applied(generation: generation)
    }

    /// Why the daemon is not making progress, or nil: a reconstruction running for more than
    /// `stall` seconds (a stuck worker). The systemd watchdog and `/healthz` use it.
    public func stallReason(after stall: Double) -> String? {
        for pipeline in pipelines {
            if let age = pipeline.oldestReconstructionSeconds, age > stall {
                return String(format: "pipeline %@: a reconstruction has been running for %.0f s (stall_timeout %.0f s)",
                              pipeline.interface.name, age, stall)
            }
        }
        return nil
    }

    /// Sets every pipeline's gauges (in flight, queue depths) before a metrics scrape.
    public func refreshGauges() {
        for pipeline in pipelines { pipeline.refreshGauges() }
    }

    public var stats: DaemonStats {
        DaemonStats(uptimeSeconds: MonotonicClock.seconds() - startedAt, publishEndpoint: publisher.endpoint,
                    generation: pipelines.first?.currentGeneration ?? 1, pipelines: pipelines.map(\.stats))
    }

    /// Graceful stop: stop reading every ingest socket, finish and publish what was accepted
    /// (up to the drain timeout; the rest becomes `drain_timeout` error events), then close
    /// the sockets with linger and terminate the context. Idempotent.
    @discardableResult
    public func shutdown() -> DaemonStats {
        let first = state.withLock { s in
            defer { s.stopping = true }
            return !s.stopping
        }
        guard first else { return stats }
        logger.info("shutting down: draining (timeout \(settings.drainTimeout) s)")
        mrdServer?.beginStop(timeout: Self.joinTimeout)
        for pipeline in pipelines { pipeline.requestStop() }
        let deadline = MonotonicClock.seconds() + settings.drainTimeout
        for pipeline in pipelines where !pipeline.drain(until: deadline) {
            logger.warning("pipeline \(pipeline.interface.name): drain timeout; unfinished frames reported as errors")
        }
        mrdServer?.finishStop(timeout: Self.joinTimeout)
        let final = stats
        if !publisher.stop(lingerMs: settings.lingerMs, timeout: Self.joinTimeout) {
            logger.error("the publisher thread did not end within \(Self.joinTimeout) s")
        }
        if controlFinished?.wait(timeout: Self.joinTimeout) == false {
            logger.error("the control thread did not end within \(Self.joinTimeout) s")
        }
        authenticator?.stop()
        context.terminate()
        for p in final.pipelines {
            logger.info("pipeline \(p.pipeline): received \(p.received), frames \(p.frames), errors \(p.errors), pings \(p.pings) (dropped \(p.dropped))")
        }
        return final
    }

    /// True once ``shutdown()`` has begun.
    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// REP socket: a request `stats` gets the stats as JSON; anything else an error object.
    private func startControl(_ endpoint: String, security: SocketSecurity) throws {
        let context = context
        controlFinished = try SocketThread.start(name: "lpnd.control", setup: { [unowned self] in
            let socket = try ZMQSocket(context: context, kind: .rep)
            try socket.limitPartSize(security.wireSize(ofPart: 4096))  // requests are one word
            try security.apply(to: socket)
            try socket.bind(endpoint)
            self.controlEndpoint = socket.lastEndpoint
            return socket
        }, run: { [unowned self] socket in
            while !self.isStopping {
                do {
                    guard try socket.poll(timeoutMs: 50), let request = try socket.receive(dontWait: true) else { continue }
                    let text = String(decoding: request.first ?? [], as: UTF8.self)
                    let reply = text == "stats" ? JSONWriter.bytes(self.stats)
                        : Array("{\"error\":\"unknown request; send 'stats'\"}".utf8)
                    try socket.send([reply])
                } catch let error as ZMQError where error.isTerminated {
                    break
                } catch {
                    logger.error("control: \(error)")
                }
            }
            socket.close(linger: 0)
        })
    }
}

public struct DaemonStats: Codable, Sendable {
    public var uptimeSeconds: Double
    public var publishEndpoint: String
    /// The configuration generation serving (1, then +1 per applied reload).
    public var generation: Int
    public var pipelines: [PipelineStats]

    enum CodingKeys: String, CodingKey {
        case pipelines, generation
        case uptimeSeconds = "uptime_s", publishEndpoint = "publish_endpoint"
    }
}

/// A socket of the configuration could not bind or connect (address in use, permission,
/// unknown transport): the key in `lpnd.yaml`, its endpoint and libzmq's reason.
public struct SocketSetupError: Error, CustomStringConvertible, Sendable {
    public var key: String
    public var endpoint: String
    public var reason: String

    public var description: String { "key '\(key)': cannot open \(endpoint): \(reason)" }
}
