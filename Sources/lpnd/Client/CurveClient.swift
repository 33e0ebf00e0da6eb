import ArgumentParser
import Streaming

/// A CURVE client's view: the server's public key (binary) and its own key pair.
struct CurveClient {
    /// Z85.
    var serverKey: String
    var keys: CurveKeyPair

    func apply(to socket: ZMQSocket) throws {
        try socket.makeCurveClient(serverKey: serverKey, keys: keys)
    }
}
