import Foundation
import TensorIO

/// Where each stream's last frame left its solver (a warm start's source): shared by the
/// workers of one pipeline, so a stream's frames warm-start whichever worker takes them.
/// Holds at most `capacity` streams, the least recently used forgotten first, so memory stays
/// bounded whatever stream ids senders make up; a reload builds a new store (every stream
/// starts cold again).
public final class StreamStates: Sendable {
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
    private let state = Locked(State())

    public init(capacity: Int = 64) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// The stream's last frame, if one was kept (a copy: workers never share arrays).
    public func entry(for stream: String) -> Entry? {
        state.withLock { $0.entries[stream] }
    }

    /// Keeps `entry` as the stream's last frame.
    public func store(_ entry: Entry, for stream: String) {
        state.withLock { s in
            if s.entries.updateValue(entry, forKey: stream) != nil { s.order.removeAll { $0 == stream } }
            s.order.append(stream)
            if s.order.count > capacity { s.entries[s.order.removeFirst()] = nil }
        }
    }

    /// Streams kept.
    public var count: Int { state.withLock { $0.entries.count } }
}
