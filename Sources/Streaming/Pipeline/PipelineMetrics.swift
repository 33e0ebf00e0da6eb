import Foundation

/// A pipeline's counters and recent latencies, updated by its stages and read by the stats
/// call. Once idle, `received = frames + errors + pings`.
final class PipelineMetrics: @unchecked Sendable {  // safe: `state` is only touched under `lock`
    struct Counts: Sendable {
        var received = 0
        var frames = 0
        var errors = 0
        var dropped = 0
        var pings = 0
        var errorCodes: [String: Int] = [:]
    }

    private struct State {
        var counts = Counts()
        /// The last `window` frame latencies (ms), a ring.
        var latencies: [Double] = []
        var next = 0
    }

    static let window = 1024
    private let lock = NSLock()
    private var state = State()

    func received() { update { $0.counts.received += 1 } }
    func ping() { update { $0.counts.pings += 1 } }

    func error(_ code: ErrorCode) {
        update {
            $0.counts.errors += 1
            $0.counts.errorCodes[code.rawValue, default: 0] += 1
            if code == .dropped { $0.counts.dropped += 1 }
        }
    }

    func frame(latencyMs: Double) {
        update {
            $0.counts.frames += 1
            if $0.latencies.count < Self.window { $0.latencies.append(latencyMs) } else { $0.latencies[$0.next] = latencyMs }
            $0.next = ($0.next + 1) % Self.window
        }
    }

    /// The counts and the p50/p99 latency of the window.
    func snapshot() -> (counts: Counts, p50: Double?, p99: Double?) {
        let (counts, latencies) = update { ($0.counts, $0.latencies) }
        let sorted = latencies.sorted()
        return (counts, percentile(ofSorted: sorted, 50), percentile(ofSorted: sorted, 99))
    }

    private func update<R>(_ body: (inout State) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }
}
