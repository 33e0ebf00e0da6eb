import CZeroMQ

/// How the daemon's sockets authenticate peers: not at all (ZeroMQ's NULL mechanism), or as
/// CURVE servers whose clients a ``ZAPHandler`` checks (encryption and authentication).
public enum SocketSecurity: Sendable {
    case plain
    /// The server's secret key, Z85 (40 characters).
    case curveServer(secretKey: String)

    /// Applies the mechanism; call before bind or connect.
    public func apply(to socket: ZMQSocket) throws {
        guard case .curveServer(let secretKey) = self else { return }
        try socket.setOption(ZMQ_CURVE_SERVER, 1)
        try socket.setOption(ZMQ_CURVE_SECRETKEY, z85: secretKey)
        try socket.setOption(ZMQ_ZAP_DOMAIN, string: "lpnd")
    }

    /// Bytes a part of `bytes` takes on the wire, which is what libzmq compares with
    /// ZMQ_MAXMSGSIZE: under CURVE each part travels inside a MESSAGE command (RFC 26) that
    /// adds its name (8 bytes), a short nonce (8), the flags byte (1) and the MAC (16).
    public func wireSize(ofPart bytes: Int) -> Int {
        switch self {
        case .plain: bytes
        case .curveServer: bytes + Self.curveMessageOverhead
        }
    }

    /// What CURVE adds to every part on the wire.
    public static let curveMessageOverhead = 33
}

extension ZMQSocket {
    /// Makes this socket a CURVE client of a server whose public key is `serverKey`, with its
    /// own key pair (all Z85). Call before connect.
    public func makeCurveClient(serverKey: String, keys: CurveKeyPair) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, z85: serverKey)
        try setOption(ZMQ_CURVE_PUBLICKEY, z85: keys.publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, z85: keys.secretKey)
    }

    /// A Z85 key option: 40 characters and a terminating NUL, as libzmq expects.
    func setOption(_ option: Int32, z85 key: String) throws {
        guard key.utf8.count == 40 else { throw CurveKeyError(path: "key", reason: "not 40 Z85 characters") }
        try setOption(option, string: key, includingNUL: true)
    }
}
