import Foundation
import Support
#if canImport(Glibc)
import Glibc
#endif

/// A blocking POSIX TCP socket: what the MRD endpoint needs of one (listen, accept with a
/// timeout, read and write exactly n bytes with a timeout). Not shared between threads but
/// for ``shutdown()``, which only wakes a blocked read or write.
final class TCPSocket: @unchecked Sendable {  // safe: `fd` is set once; shutdown(2) may be called from any thread
    let fd: Int32

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// How a read ended early.
    enum ReadEnd: Error {
        /// The peer closed the connection (after `got` bytes of the ones asked for).
        case closed(got: Int)
        /// No byte arrived for the timeout.
        case timedOut
        case failed(String)
    }

    private init(fd: Int32) { self.fd = fd }

    /// A listening socket on `host:port` (IPv4; port 0: any free port).
    static func listen(host: String, port: Int, backlog: Int32 = 16) throws -> TCPSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            close(fd)
            throw Failure(description: "'\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "bind \(host):\(port): \(reason)")
        }
        return TCPSocket(fd: fd)
    }

    /// The bound port (the one chosen for port 0).
    var port: Int {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The next connection, or nil when none came within `timeoutMs`.
    func accept(timeoutMs: Int32) -> TCPSocket? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMs) > 0 else { return nil }
        let client = Glibc.accept(fd, nil, nil)
        guard client >= 0 else {
            usleep(10_000)  // out of descriptors (EMFILE) keeps the listener readable: do not spin
            return nil
        }
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return TCPSocket(fd: client)
    }

    /// Timeouts of one blocked read and one blocked write (seconds).
    func setTimeouts(read: Double, write: Double) {
        for (option, seconds) in [(SO_RCVTIMEO, read), (SO_SNDTIMEO, write)] {
            var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Exactly `count` bytes.
    func read(exactly count: Int) throws(ReadEnd) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n > 0 { got += n; continue }
            if n == 0 { throw .closed(got: got) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
            throw .failed(String(cString: strerror(errno)))
        }
        return out
    }

    /// Writes every byte; false when the peer is gone or the write timed out.
    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0, errno == EINTR { continue }
            return false
        }
        return true
    }

    /// Wakes a blocked read or write (both directions end).
    func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Wakes a blocked read (it sees the end of the input); writing goes on.
    func shutdownReading() { _ = Glibc.shutdown(fd, Int32(SHUT_RD)) }

    /// Ends the writing direction (the peer reads to the end of what was sent), then reads and
    /// discards what the peer still sends for up to `seconds` or until it closes: closing a
    /// socket with unread input would reset the connection and could lose the last replies.
    func finishWriting(drainingFor seconds: Double) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        setTimeouts(read: 0.1, write: 0.1)
        let deadline = MonotonicClock.seconds() + seconds
        var buffer = [UInt8](repeating: 0, count: 65536)
        while MonotonicClock.seconds() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { break }
        }
    }

    deinit { close(fd) }
}
