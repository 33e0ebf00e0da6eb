import CZeroMQ
import Foundation
import Support

/// An error from libzmq, with the call that failed and zmq_strerror's text.
public struct ZMQError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: zmq_strerror(code))) (errno \(code))" }

    static func last(_ call: String) -> ZMQError { ZMQError(call: call, code: zmq_errno()) }
    /// True when the context was shut down (blocked calls return ETERM).
    public var isTerminated: Bool { code == ETERM }
}

/// A ZeroMQ context. Thread-safe (libzmq guarantees it), so it may be shared.
public final class ZMQContext: @unchecked Sendable {  // safe: libzmq contexts are thread-safe; `terminated` is a lock box
    let handle: UnsafeMutableRawPointer
    private let terminated = Locked(false)

    public init() {
        handle = zmq_ctx_new()
    }

    /// Wakes every blocking call on this context's sockets with ETERM.
    public func shutdown() {
        zmq_ctx_shutdown(handle)
    }

    /// Terminates the context; call after every socket is closed. Idempotent.
    /// Blocks while sockets' unsent messages linger (each socket's linger bounds it).
    public func terminate() {
        let first = terminated.withLock { t in
            defer { t = true }
            return !t
        }
        guard first else { return }
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    deinit { terminate() }
}
