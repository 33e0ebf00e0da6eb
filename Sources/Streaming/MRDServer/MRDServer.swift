import Foundation
import Logging
import Metrics
import Support

/// The MRD endpoint (docs/PROTOCOL.md §9, lpnd.yaml `mrd`): a TCP listener that speaks the
/// MRD streaming protocol, as Gadgetron's and the MRD Python server's clients do. Each
/// connection is an ``MRDSession`` with its own stream id (`mrd-<n>`); at most
/// `maxConnections` at once: one more is told so (a text message) and closed.
public final class MRDServer: @unchecked Sendable {  // safe: mutable state is in `state`; the listener is set once in init
    public struct Settings: Sendable, Equatable {
        /// IPv4 address and port (0: any free port).
        public var host: String
        public var port: Int
        /// The pipeline a session uses unless its config message names another `input: mrd` one.
        public var pipeline: String
        public var maxConnections: Int
        /// Seconds a session may stay silent before lpnd closes it.
        public var idleTimeout: Double

        public init(host: String, port: Int, pipeline: String, maxConnections: Int = 4, idleTimeout: Double = 60) {
            self.host = host
            self.port = port
            self.pipeline = pipeline
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
        }
    }

    private struct State {
        var sessions: [String: MRDSession] = [:]
        var nextID = 0
        var stopping = false
    }

    public let settings: Settings
    /// The bound port (the one chosen for port 0).
    public let port: Int
    private let listener: TCPSocket
    private let pipelines: [String: PipelineRuntime]
    private let drainTimeout: Double
    private let logger: Logger
    private let state = Locked(State())
    private let acceptFinished = Completion()
    private let sessionsGauge: Gauge
    private let admittedCounter, refusedCounter: Counter

    /// Binds and starts accepting. Throws when the address cannot be bound or the default
    /// pipeline does not take MRD input.
    init(settings: Settings, pipelines: [PipelineRuntime], drainTimeout: Double, logger: Logger,
         metrics factory: MetricsFactory = MetricsSystem.factory) throws {
        let mrd = pipelines.filter { $0.interface.mrd != nil }
        guard mrd.contains(where: { $0.interface.name == settings.pipeline }) else {
            throw TCPSocket.Failure(description: "pipeline '\(settings.pipeline)' is not served with input: mrd (MRD pipelines: \(mrd.map(\.interface.name)))")
        }
        self.settings = settings
        self.pipelines = Dictionary(uniqueKeysWithValues: mrd.map { ($0.interface.name, $0) })
        self.drainTimeout = drainTimeout
        self.logger = logger
        sessionsGauge = Gauge(label: "lpnd_mrd_sessions", factory: factory)
        admittedCounter = Counter(label: "lpnd_mrd_connections_total", dimensions: [("outcome", "admitted")], factory: factory)
        refusedCounter = Counter(label: "lpnd_mrd_connections_total", dimensions: [("outcome", "refused")], factory: factory)
        listener = try TCPSocket.listen(host: settings.host, port: settings.port)
        port = listener.port
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "lpnd.mrd.accept"
        thread.start()
        logger.info("MRD endpoint on \(settings.host):\(port), pipeline \(settings.pipeline), at most \(settings.maxConnections) connection(s)")
    }

    /// Sessions now open.
    public var sessionCount: Int { state.withLock { $0.sessions.count } }

    private func acceptLoop() {
        defer { acceptFinished.finish() }
        while !state.withLock({ $0.stopping }) {
            guard let connection = listener.accept(timeoutMs: 100) else { continue }
            let admitted: MRDSession? = state.withLock { s in
                guard s.sessions.count < settings.maxConnections, !s.stopping else { return nil }
                s.nextID += 1
                let session = makeSession(connection, id: "mrd-\(s.nextID)")
                s.sessions[session.stream] = session
                return session
            }
            guard let admitted else {
                refusedCounter.increment()
                connection.setTimeouts(read: 1, write: 1)
                _ = connection.write(MRDMessage.encodeText("lpnd: \(settings.maxConnections) MRD session(s) are open, the most this endpoint takes (mrd.max_connections); try again later") + MRDMessage.encodeClose())
                logger.warning("MRD endpoint: connection refused, \(settings.maxConnections) session(s) open")
                continue
            }
            logger.info("MRD session \(admitted.stream) opened")
            admittedCounter.increment()
            sessionsGauge.record(sessionCount)
            admitted.start { [weak self] in
                guard let self else { return }
                let open = state.withLock { s in
                    s.sessions.removeValue(forKey: admitted.stream)
                    return s.sessions.count
                }
                sessionsGauge.record(open)
            }
        }
    }

    private func makeSession(_ connection: TCPSocket, id: String) -> MRDSession {
        let largest = pipelines.values.compactMap { $0.interface.mrd?.maxPartBytes }.max() ?? MRDMessage.maxHeaderBytes
        let settings = MRDSession.Settings(idleTimeout: settings.idleTimeout, drainTimeout: drainTimeout, maxMessageBytes: largest)
        let pipelines = pipelines, fallback = self.settings.pipeline
        return MRDSession(stream: id, socket: connection, settings: settings, logger: logger) { name in
            guard let name else { return pipelines[fallback] }
            let base = name.split(separator: "/").last.map(String.init) ?? name
            for candidate in [base, (base as NSString).deletingPathExtension] where pipelines[candidate] != nil {
                return pipelines[candidate]
            }
            return nil
        }
    }

    /// Shutdown, before the pipelines drain: stops accepting, and every session stops reading
    /// (its frames in flight drain and are answered; a session waiting for room ends with a
    /// text saying the daemon stops).
    func beginStop(timeout: Double) {
        let sessions = state.withLock { s in
            s.stopping = true
            return Array(s.sessions.values)
        }
        if !acceptFinished.wait(timeout: timeout) { logger.warning("MRD endpoint: the accept thread did not end in \(timeout) s") }
        for session in sessions { session.stop() }
    }

    /// Shutdown, after the drain: waits (one shared deadline) for every session's last replies.
    func finishStop(timeout: Double) {
        let sessions = state.withLock { Array($0.sessions.values) }
        let deadline = MonotonicClock.seconds() + timeout
        for session in sessions where !session.ended.wait(timeout: max(0, deadline - MonotonicClock.seconds())) {
            logger.warning("MRD session \(session.stream) did not end in \(timeout) s")
        }
    }
}
