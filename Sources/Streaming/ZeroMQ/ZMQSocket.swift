import CZeroMQ
import Foundation

/// One ZeroMQ socket. Not thread-safe: one thread creates, uses and closes it.
public final class ZMQSocket {
    public enum Kind: Int32 {
        case pub = 1, sub = 2, req = 3, rep = 4, pull = 7, push = 8
    }

    private var handle: UnsafeMutableRawPointer?
    public let kind: Kind

    public init(context: ZMQContext, kind: Kind) throws {
        guard let socket = zmq_socket(context.handle, kind.rawValue) else { throw ZMQError.last("zmq_socket") }
        handle = socket
        self.kind = kind
    }

    deinit { close() }

    /// Closes the socket; queued outgoing messages are kept for at most `linger` ms.
    public func close(linger: Int32? = nil) {
        guard let socket = handle else { return }
        if let linger { try? setOption(ZMQ_LINGER, linger) }
        zmq_close(socket)
        handle = nil
    }

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))")
        }
    }

    private func setInt64Option(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))")
        }
    }

    public func setOption(_ option: Int32, string: String, includingNUL: Bool = false) throws {
        var bytes = Array(string.utf8)
        if includingNUL { bytes.append(0) }
        guard zmq_setsockopt(handle, option, bytes, bytes.count) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))")
        }
    }

    /// ZMQ_MAXMSGSIZE: libzmq drops the connection of a peer that announces a larger part,
    /// before reading it, so no part above `bytes` is ever held in memory.
    public func limitPartSize(_ bytes: Int) throws {
        try setInt64Option(ZMQ_MAXMSGSIZE, Int64(bytes))
    }

    public func subscribe(_ prefix: String = "") throws {
        let bytes = Array(prefix.utf8)
        guard zmq_setsockopt(handle, ZMQ_SUBSCRIBE, bytes, bytes.count) == 0 else {
            throw ZMQError.last("zmq_setsockopt(ZMQ_SUBSCRIBE)")
        }
    }

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind(\(endpoint))") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect(\(endpoint))") }
    }

    /// The endpoint actually bound (resolves `tcp://127.0.0.1:*` to the chosen port).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sends all parts as one atomic multipart message.
    /// - Returns: false when `dontWait` is set and the message could not be queued (EAGAIN).
    @discardableResult
    public func send(_ parts: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        for (i, part) in parts.enumerated() {
            var flags: Int32 = i < parts.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            let rc = part.withUnsafeBytes { zmq_send(handle, $0.baseAddress, part.count, flags) }
            if rc < 0 {
                let error = ZMQError.last("zmq_send")
                if error.code == EAGAIN && i == 0 { return false }
                throw error
            }
        }
        return true
    }

    /// Waits up to `timeoutMs` for a message to read (−1: forever). True when one is ready.
    public func poll(timeoutMs: Int) throws -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let rc = zmq_poll(&item, 1, timeoutMs)
        if rc < 0 {
            let error = ZMQError.last("zmq_poll")
            if error.code == EINTR { return false }
            throw error
        }
        return item.revents & Int16(ZMQ_POLLIN) != 0
    }

    /// Receives one whole multipart message (all parts or none).
    /// - Returns: nil when `dontWait` is set and nothing is queued.
    public func receive(dontWait: Bool = false) throws -> [[UInt8]]? {
        // zmq_msg_t must stay at one address: small payloads live inside the struct.
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        var parts: [[UInt8]] = []
        while true {
            zmq_msg_init(message)
            let rc = zmq_msg_recv(message, handle, dontWait && parts.isEmpty ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let error = ZMQError.last("zmq_msg_recv")
                zmq_msg_close(message)
                if error.code == EAGAIN && parts.isEmpty { return nil }
                throw error
            }
            let size = zmq_msg_size(message)
            let data = zmq_msg_data(message)!
            parts.append([UInt8](UnsafeRawBufferPointer(start: data, count: size)))
            let more = zmq_msg_more(message) != 0
            zmq_msg_close(message)
            if !more { return parts }
        }
    }
}
