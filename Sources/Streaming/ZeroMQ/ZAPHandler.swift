import CZeroMQ
import Foundation
import Logging
import Support

/// The ZeroMQ authentication handler (ZAP, RFC 27) of one context: a REP socket on
/// `inproc://zeromq.zap.01` that libzmq asks about every CURVE handshake. It allows a client
/// whose public key is in the list and refuses every other one; a refused peer's connection
/// is closed before any message of it is read, and a refused subscriber gets nothing.
///
/// Start it before any CURVE socket of the context binds: libzmq lets every CURVE client in
/// when no handler is bound. Keys are never logged, refusals are (with the peer's address).
public final class ZAPHandler: @unchecked Sendable {  // safe: counters and the stop flag are in the `state` box; `finished` is set once in init
    public static let endpoint = "inproc://zeromq.zap.01"

    private struct State {
        var stopping = false
        var allowed = 0
        var refused = 0
    }

    private let clients: CurveClientList
    private let logger: Logger
    private let state = Locked(State())
    private var finished = Completion()

    public init(context: ZMQContext, clients: CurveClientList, logger: Logger) throws {
        self.clients = clients
        self.logger = logger
        finished = try SocketThread.start(name: "lpnd.zap", setup: {
            let socket = try ZMQSocket(context: context, kind: .rep)
            try socket.bind(Self.endpoint)
            return socket
        }, run: { [unowned self] socket in
            while !self.isStopping {
                do {
                    guard try socket.poll(timeoutMs: 50), let request = try socket.receive(dontWait: true) else { continue }
                    try socket.send(self.answer(request))
                } catch let error as ZMQError where error.isTerminated {
                    break
                } catch {
                    logger.error("ZAP handler: \(error)")
                }
            }
            socket.close(linger: 0)
        })
    }

    /// Handshakes allowed and refused so far.
    public var counts: (allowed: Int, refused: Int) {
        state.withLock { ($0.allowed, $0.refused) }
    }

    /// Stops answering; call after every CURVE socket of the context is closed.
    /// - Returns: whether its thread ended within `timeout` seconds (it polls every 50 ms).
    @discardableResult
    public func stop(timeout: Double = 5) -> Bool {
        state.withLock { $0.stopping = true }
        return finished.wait(timeout: timeout)
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    /// Request: version, request id, domain, address, routing id, mechanism, credentials…
    /// Reply: version, request id, status code, status text, user id, metadata.
    func answer(_ request: [[UInt8]]) -> [[UInt8]] {
        let version = request.first ?? []
        let id = request.count > 1 ? request[1] : []
        func reply(_ code: String, _ text: String) -> [[UInt8]] {
            [version, id, Array(code.utf8), Array(text.utf8), [], []]
        }
        guard request.count >= 6, String(decoding: version, as: UTF8.self) == "1.0" else {
            return reply("500", "malformed ZAP request")
        }
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        let allowed = mechanism == "CURVE" && request.count >= 7 && clients.allows(request[6])
        let refused = state.withLock { s in
            if allowed { s.allowed += 1 } else { s.refused += 1 }
            return s.refused
        }
        if allowed { return reply("200", "OK") }
        // 1st, 10th, 100th … refusal: a peer retrying forever cannot flood the log.
        if String(refused).dropFirst().allSatisfy({ $0 == "0" }) && String(refused).first == "1" {
            logger.warning("CURVE: refused a \(mechanism) client from \(address.isEmpty ? "an unknown address" : address): its public key is not allowed (\(refused) refusal(s) so far)")
        }
        return reply("400", "public key not allowed")
    }
}
