import Foundation

/// Restores per-stream arrival order after a worker pool: outcome k of a stream is released
/// only after outcomes 0…k−1. Every index the decoder hands out must be completed exactly once
/// (by a result, an error, or an abandonment at shutdown), so the order never stalls.
final class Reorderer<Outcome>: @unchecked Sendable {
    private struct StreamState {
        var next: UInt64 = 0
        var pending: [UInt64: Outcome] = [:]
    }

    private let lock = NSLock()
    private var streams: [String: StreamState] = [:]
    private let enabled: Bool
    private let emit: (Outcome) -> Void

    /// - Parameter emit: called in order, one call at a time (under the reorderer's lock).
    init(enabled: Bool, emit: @escaping (Outcome) -> Void) {
        self.enabled = enabled
        self.emit = emit
    }

    /// Records outcome `index` of `stream` and releases every outcome now in order.
    /// An index completed twice (a late result after abandonment) is ignored.
    func complete(stream: String, index: UInt64, _ outcome: Outcome) {
        lock.lock()
        defer { lock.unlock() }
        guard enabled else {
            emit(outcome)
            return
        }
        var state = streams[stream] ?? StreamState()
        guard index >= state.next, state.pending[index] == nil else { return }
        state.pending[index] = outcome
        while let ready = state.pending.removeValue(forKey: state.next) {
            emit(ready)
            state.next += 1
        }
        streams[stream] = state
    }

    /// Outcomes waiting for an earlier one, per stream.
    var pendingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return streams.values.reduce(0) { $0 + $1.pending.count }
    }
}
