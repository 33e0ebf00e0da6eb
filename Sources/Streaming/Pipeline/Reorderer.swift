import Foundation

/// Restores per-stream arrival order after a worker pool: outcome k of a stream is released
/// only after outcomes 0…k−1. Every index the decoder hands out must be completed exactly once
/// (by a result, an error, or an abandonment at shutdown), so the order never stalls.
///
/// Released outcomes go to `emit` in order and one at a time, without the lock held (`emit`
/// may block on a full stage): the completing thread that finds nobody emitting becomes the
/// emitter and drains the released queue; the others queue and return, or wait while more
/// than `capacity` outcomes are queued (backpressure on the workers).
public final class Reorderer<Outcome>: @unchecked Sendable {  // safe: `state` is only touched under `condition`
    private struct StreamState {
        var next: UInt64 = 0
        var pending: [UInt64: Outcome] = [:]
    }

    private struct State {
        var streams: [String: StreamState] = [:]
        var released: [Outcome] = []
        var emitting = false
    }

    private let condition = NSCondition()
    private var state = State()
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
        condition.lock()
        if enabled {
            var s = state.streams[stream] ?? StreamState()
            guard index >= s.next, s.pending[index] == nil else {
                condition.unlock()
                return
            }
            s.pending[index] = outcome
            while let ready = s.pending.removeValue(forKey: s.next) {
                state.released.append(ready)
                s.next += 1
            }
            state.streams[stream] = s
        } else {
            state.released.append(outcome)
        }
        while state.emitting && state.released.count > capacity { condition.wait() }
        guard !state.emitting else {
            condition.unlock()
            return
        }
        state.emitting = true
        while !state.released.isEmpty {
            let next = state.released.removeFirst()
            condition.broadcast()
            condition.unlock()
            emit(next)
            condition.lock()
        }
        state.emitting = false
        condition.broadcast()
        condition.unlock()
    }

    /// Outcomes waiting for an earlier one, per stream.
    public var pendingCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return state.streams.values.reduce(0) { $0 + $1.pending.count }
    }
}
