import Foundation
import Streaming

/// Confirms that a daemon has read everything a sender pushed: a ping sent after the last
/// message comes back as a pong on the daemon's PUB socket only once every earlier message on
/// that connection was read (docs/PROTOCOL.md §7). Without it a sender that exits at once can
/// lose its last messages: libzmq drops what the receiver had not yet taken from a connection
/// that closes, whatever the sender's linger.
struct DeliveryCheck {
    let listener: ZMQSocket
    let stream: String
    let endpoint: String

    /// Subscribes to the stream's pongs before anything is sent.
    init(context: ZMQContext, publish endpoint: String, stream: String, curve: CurveClient?) throws {
        listener = try ZMQSocket(context: context, kind: .sub)
        try curve?.apply(to: listener)
        try listener.subscribe("pong/\(stream)/")
        try listener.connect(endpoint)
        self.stream = stream
        self.endpoint = endpoint
    }

    /// ``confirm(through:timeout:)``, throwing when no pong came: the message names the
    /// endpoint, the stream and the wait.
    func require(through socket: ZMQSocket, timeout: Double = 30) throws {
        guard try confirm(through: socket, timeout: timeout) else {
            throw ValidationErrorText("the daemon did not confirm delivery on \(endpoint) within \(Int(timeout)) s (no pong for stream '\(stream)')")
        }
    }

    /// Pings on `socket` until the pong arrives (true) or `timeout` seconds pass (false).
    func confirm(through socket: ZMQSocket, timeout: Double = 30) throws -> Bool {
        defer { listener.close(linger: 0) }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var seq: UInt64 = 0
        while Date() < deadline {
            // A ping per interval: the first may be published before the subscription is live.
            _ = try socket.send(WireProtocol.pingMessage(stream: stream, seq: seq))
            seq += 1
            if try listener.poll(timeoutMs: 200), try listener.receive(dontWait: true) != nil { return true }
        }
        return false
    }
}
