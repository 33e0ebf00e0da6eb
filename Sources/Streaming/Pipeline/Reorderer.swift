import Foundation
import Support

/// Restores per-stream arrival order after a worker pool: outcome k of a stream is released
/// only after outcomes 0…k−1. Every index the decoder hands out must be completed exactly once
/// (by a result, an error, or an abandonment at shutdown), so the order never stalls.
///
/// Released outcomes go to `emit` in order and one at a time, without the lock held (`emit`
/// may block on a full stage): the completing thread that finds nobody emitting becomes the
/// emitter and drains the released queue; the others queue and return, or wait while more
/// than `capacity` outcomes are queued (backpressure on the workers).
public final class Reorderer<Outcome>: @unchecked Sendable {  // safe: `state` is a lock box; `emit` is called by one thread at a time (the emitter)
    private struct StreamState {
        var next: UInt64 = 0
        var pending: [UInt64: Outcome] = [:]
    }

    private struct State {
        var streams: [String: StreamState] = [:]
        var released: [Outcome] = []
        var emitting = false
    }

    private let state = LockedCondition(State())
    private let enabled: Bool
    private let capacity: Int
    private let emit: (Outcome) -> Void

    public init(enabled: Bool, capacity: Int, emit: @escaping (Outcome) -> Void) {
        self.enabled = enabled
        self.capacity = max(1, capacity)
        self.emit = emit
    }

    /// Records outcome `index` of `stream` and releases every outcome now in order.
    /// An index completed twice (a late result after abandonment) is ignored.
    public func complete(stream: String, index: UInt64, _ outcome: Outcome) {
        let enabled = enabled, capacity = capacity
        let recorded: Bool = state.withLock { s in
            guard enabled else {
                s.released.append(outcome)
                return true
            }
            var st = s.streams[stream] ?? StreamState()
            guard index >= st.next, st.pending[index] == nil else { return false }
            st.pending[index] = outcome
            while let ready = st.pending.removeValue(forKey: st.next) {
                s.released.append(ready)
                st.next += 1
            }
            s.streams[stream] = st
            return true
        }
        guard recorded else { return }
        // Wait while an emitter is busy and too much is queued; become the emitter if there is none.
        let emitter = state.wait(until: { !$0.emitting || $0.released.count <= capacity }) { s, _ -> Bool in
            guard !s.emitting else { return false }
            s.emitting = true
            return true
        }
        guard emitter else { return }
        while let next = state.withLock({ s -> Outcome? in
            guard !s.released.isEmpty else {
                s.emitting = false
                return nil
            }
            return s.released.removeFirst()
        }) {
            emit(next)  // without the lock: it may block on a full stage
        }
    }

    /// Outcomes waiting for an earlier one, per stream.
    public var pendingCount: Int {
        state.withLock { $0.streams.values.reduce(0) { $0 + $1.pending.count } }
    }
}
