import Foundation

/// Minimal line logger to stderr (journald adds its own timestamps under systemd).
public enum Log {
    nonisolated(unsafe) public static var quiet = false
    private static let lock = NSLock()

    public static func info(_ message: @autoclosure () -> String) { write("info", message()) }
    public static func warning(_ message: @autoclosure () -> String) { write("warning", message()) }
    public static func error(_ message: @autoclosure () -> String) { write("error", message()) }

    private static func write(_ level: String, _ message: String) {
        guard !quiet || level == "error" else { return }
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data("lpnd \(level): \(message)\n".utf8))
    }
}
