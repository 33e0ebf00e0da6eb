import Foundation
import Logging
import Support

/// The PUB side: one dedicated thread owns the PUB socket and sends every output message in
/// the order it was handed over.
///
/// PUB never blocks (ZeroMQ drops at a subscriber's high-water mark), so the queue in front
/// of it only ever holds what the stages have finished; its size is bounded by the stages'
/// capacities.
public final class Publisher: @unchecked Sendable {  // safe: `endpoint` is written once, by the socket thread before init returns; the rest is under `state`
    private struct State {
        var outbox: [[[UInt8]]] = []
        var stopping = false
        var sent = 0
        var linger: Int32 = 2000
    }

    private let state = LockedCondition(State())
    private var finished = Completion()
    /// The endpoint actually bound (wildcard ports resolved).
    public private(set) var endpoint = ""
    private let logger: Logger

    /// Starts the publisher thread and binds (or connects) its socket.
    public init(context: ZMQContext, endpoint: String, bind: Bool = true, highWaterMark: Int32 = 100_000,
                security: SocketSecurity = .plain, logger: Logger = Logger(label: "lpnd")) throws {
        self.logger = logger
        finished = try SocketThread.start(name: "lpnd.publisher", setup: { [unowned self] in
            let socket = try ZMQSocket(context: context, kind: .pub)
            try socket.setOption(ZMQ_SNDHWM_, highWaterMark)
            try security.apply(to: socket)
            if bind { try socket.bind(endpoint) } else { try socket.connect(endpoint) }
            self.endpoint = socket.lastEndpoint
            return socket
        }, run: { [unowned self] socket in
            self.run(socket)
        })
    }

    /// Queues one multipart message for sending.
    public func publish(_ parts: [[UInt8]]) {
        state.withLock { s in
            if !s.stopping { s.outbox.append(parts) }
        }
    }

    /// Messages sent so far.
    public var sentCount: Int { state.withLock { $0.sent } }

    /// Sends what is queued, closes the socket (keeping unsent data up to `lingerMs`, which the
    /// context's termination waits for), and waits up to `timeout` seconds for the thread to end.
    /// - Returns: whether the thread ended in time.
    @discardableResult
    public func stop(lingerMs: Int32 = 2000, timeout: Double = 5) -> Bool {
        state.withLock { s in
            if !s.stopping { s.linger = lingerMs }
            s.stopping = true
        }
        return finished.wait(timeout: timeout)
    }

    private func run(_ socket: ZMQSocket) {
        while true {
            let (batch, done, linger) = state.wait(until: { !$0.outbox.isEmpty || $0.stopping }) { s, _ in
                defer { s.outbox.removeAll(keepingCapacity: true) }
                return (s.outbox, s.stopping, s.linger)
            }
            for parts in batch {
                do { try socket.send(parts) } catch { logger.error("publisher: \(error)") }
            }
            state.withLock { $0.sent += batch.count }
            if done && batch.isEmpty {
                socket.close(linger: linger)
                return
            }
        }
    }
}
