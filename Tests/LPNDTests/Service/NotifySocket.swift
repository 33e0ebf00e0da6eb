import Foundation

/// A datagram socket standing in for systemd's notify socket (NOTIFY_SOCKET), for the tests of
/// readiness, watchdog and reload notifications.
final class NotifySocket {
    let path = NSTemporaryDirectory() + "lpnd-notify-" + UUID().uuidString.prefix(8)
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)

    init() {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(fd >= 0 && bound == 0, "cannot bind the fake notify socket at \(path)")
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd); unlink(path) }

    /// The next notification; nil after 30 s of silence.
    func next() -> String? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    /// Reads notifications until one satisfies `predicate`; nil after 30 s of silence.
    func waitFor(_ predicate: (String) -> Bool) -> String? {
        while let message = next() {
            if predicate(message) { return message }
        }
        return nil
    }

    /// Reads notifications until one contains `text`.
    func waitFor(_ text: String) -> String? { waitFor { $0.contains(text) } }
}
