import Foundation
import Support

/// A flag one thread sets and another polls (a solver, once per iteration).
final class CancellationFlag: Sendable {
    private let value = Locked(false)

    var isSet: Bool { value.get() }

    func set() { value.set(true) }
}
