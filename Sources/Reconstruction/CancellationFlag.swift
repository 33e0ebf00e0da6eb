import Foundation

/// A flag one thread sets and another polls (a solver, once per iteration).
final class CancellationFlag: @unchecked Sendable {  // safe: the one Bool is only touched under `lock`
    private let lock = NSLock()
    private var value = false

    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}
