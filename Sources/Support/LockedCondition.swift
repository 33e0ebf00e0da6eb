import Foundation

/// One lock and one condition variable over one value: ``Locked`` plus waiting until the value
/// says so. Every ``withLock(_:)`` wakes the waiters afterwards (the value may have changed), so a
/// waiter only ever re-checks its predicate. Bodies run with the lock held and must not block;
/// only ``wait(until:deadline:then:)`` sleeps, and it releases the lock while it does.
public final class LockedCondition<Value>: @unchecked Sendable {  // safe: `value` is only touched under `condition`
    private let condition = NSCondition()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return try body(&value)
    }

    /// Waits until `ready(value)` holds or `deadline` (``MonotonicClock`` seconds; nil: no
    /// deadline) passes, then runs `body` under the lock with whether `ready` held.
    public func wait<R>(until ready: (Value) -> Bool, deadline: Double? = nil,
                        then body: (inout Value, _ ready: Bool) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        while !ready(value) {
            if let deadline {
                let left = deadline - MonotonicClock.seconds()
                if left <= 0 { return try body(&value, false) }
                _ = condition.wait(until: Date(timeIntervalSinceNow: left))
            } else {
                condition.wait()
            }
        }
        return try body(&value, true)
    }
}

/// A one-shot event: something finished (a thread, a session). Waiting takes a deadline, so no
/// join waits forever unless its caller says so.
public final class Completion: Sendable {
    private let done = LockedCondition(false)

    public init() {}

    public func finish() { done.withLock { $0 = true } }

    /// - Returns: whether it finished before `timeout` seconds (nil: waits as long as it takes).
    @discardableResult
    public func wait(timeout: Double?) -> Bool {
        done.wait(until: { $0 }, deadline: timeout.map { MonotonicClock.seconds() + $0 }) { _, ready in ready }
    }
}
