import Foundation
import TensorIO
import Support

/// What a pipeline remembers of each stream: where its last frame left the solver (a warm
/// start's source) and its `check` record (chosen prior, frames until the next check). Shared
/// by the workers of one pipeline, so a stream's frames find it whichever worker takes them.
/// Holds at most `capacity` streams, the least recently used forgotten first, so memory stays
/// bounded whatever stream ids senders make up; a reload builds a new store (every stream
/// starts cold and is checked again).
public final class StreamStates: Sendable {
    /// One stream's record.
    public struct Entry: Sendable {
        /// `solver.warm_start`: the solver's state after the stream's last frame, when the
        /// pipeline's own prior reconstructed it (nil otherwise: the next frame starts cold).
        public var solver: SolverState?
        /// ‖A x − y‖/‖y‖ that frame ended with on its own data.
        public var residual: Double
        public var seq: UInt64?
        /// `check`: the stream's chosen prior (`choose`; nil before its first check), frames
        /// until its next check, and whether the next frame is checked whatever the count.
        public var choice: PriorCandidate?
        public var framesUntilCheck = 0
        public var recheck = false
        /// `prior.check_every`: the stream's warm frames until its next prior check.
        public var framesUntilPriorCheck = 0

        public init(solver: SolverState? = nil, residual: Double = .nan, seq: UInt64? = nil) {
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
