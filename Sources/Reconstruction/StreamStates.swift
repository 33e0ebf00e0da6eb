import Foundation

/// Where each stream's last frame left its solver (a warm start's source): shared by the
/// workers of one pipeline, so a stream's frames warm-start whichever worker takes them.
/// Holds at most `capacity` streams, the least recently used forgotten first, so memory stays
/// bounded whatever stream ids senders make up; a reload builds a new store (every stream
/// starts cold again).
public final class StreamStates: @unchecked Sendable {  // safe: `state` is only touched under `lock`
    /// One stream's last frame.
    public struct Entry: Sendable {
        public var solver: SolverState
        /// ‖A x − y‖/‖y‖ that frame ended with on its own data.
        public var residual: Double
        public var seq: UInt64?

        public init(solver: SolverState, residual: Double, seq: UInt64?) {
            (self.solver, self.residual, self.seq) = (solver, residual, seq)
        }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Stream ids, least recently used first.
        var order: [String] = []
    }

    public let capacity: Int
    private let lock = NSLock()
    private var state = State()

    public init(capacity: Int = 64) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The stream's last frame, if one was kept (a copy: workers never share arrays).
    public func entry(for stream: String) -> Entry? {
        lock.lock()
        defer { lock.unlock() }
        return state.entries[stream]
    }

    /// Keeps `entry` as the stream's last frame.
    public func store(_ entry: Entry, for stream: String) {
        lock.lock()
        defer { lock.unlock() }
        if state.entries.updateValue(entry, forKey: stream) != nil { state.order.removeAll { $0 == stream } }
        state.order.append(stream)
        if state.order.count > capacity { state.entries[state.order.removeFirst()] = nil }
    }

    /// Streams kept.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return state.entries.count
    }
}
