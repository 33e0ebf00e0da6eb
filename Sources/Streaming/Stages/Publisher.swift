import Foundation
import Logging

/// The PUB side: one dedicated thread owns the PUB socket and sends every output message in
/// the order it was handed over.
///
/// PUB never blocks (ZeroMQ drops at a subscriber's high-water mark), so the queue in front
/// of it only ever holds what the stages have finished; its size is bounded by the stages'
/// capacities.
public final class Publisher: @unchecked Sendable {  // safe: outbox and flags under `condition`; the socket lives on its own thread
    private let condition = NSCondition()
    private var outbox: [[[UInt8]]] = []
    private var stopping = false
    private var sent = 0
    private var finished = DispatchSemaphore(value: 1)
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
        condition.lock()
        if !stopping {
            outbox.append(parts)
            condition.signal()
        }
        condition.unlock()
    }

    /// Messages sent so far.
    public var sentCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return sent
    }

    /// Sends what is queued, closes the socket (keeping unsent data up to `lingerMs`), and
    /// waits for the thread to end.
    public func stop(lingerMs: Int32 = 2000) {
        condition.lock()
        stopping = true
        lingerSetting = lingerMs
        condition.signal()
        condition.unlock()
        finished.wait()
        finished.signal()  // later calls return at once
    }

    private var lingerSetting: Int32 = 2000

    private func run(_ socket: ZMQSocket) {
        while true {
            condition.lock()
            while outbox.isEmpty && !stopping { condition.wait() }
            let batch = outbox
            outbox.removeAll(keepingCapacity: true)
            let done = stopping
            let linger = lingerSetting
            condition.unlock()
            for parts in batch {
                do { try socket.send(parts) } catch { logger.error("publisher: \(error)") }
            }
            condition.lock()
            sent += batch.count
            condition.unlock()
            if done && batch.isEmpty {
                socket.close(linger: linger)
                return
            }
        }
    }
}
