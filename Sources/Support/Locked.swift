import Foundation

/// One lock over one value (in the spirit of NIOLockedBox): every read and write of the
/// value goes through ``withLock(_:)``. The body must not block (no socket, no wait, no call
/// into code that takes other locks and waits): the lock is held while it runs.
public final class Locked<Value>: @unchecked Sendable {  // safe: `value` is only touched under `lock`
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    public func get() -> Value { withLock { $0 } }
    public func set(_ newValue: Value) { withLock { $0 = newValue } }
}
