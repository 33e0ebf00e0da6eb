import Foundation
import Logging
import TensorIO
import Support

/// What a running pipeline reports: the stats reply (docs/PROTOCOL.md §6) and the gauges
/// read at a metrics scrape.
extension PipelineRuntime {
    /// Seconds the longest-running reconstruction has been running; nil when every worker is idle.
    public var oldestReconstructionSeconds: Double? {
        let oldest = update { $0.workerStarted.compactMap { $0 }.min() }
        return oldest.map { MonotonicClock.seconds() - $0 }
    }

    /// Sets the in-flight and stage gauges to the current values (call before a metrics scrape).
    public func refreshGauges() {
        metrics.refresh(inFlight: ledger.openCount, stages: [decodeStage.stats, reconstructStage.stats, encodeStage.stats])
    }

    public var stats: PipelineStats {
        let (c, p50, p99) = metrics.snapshot()
        return PipelineStats(
            pipeline: interface.name, endpoint: endpoint, socket: configuration.socket.rawValue,
            received: c.received, frames: c.frames, errors: c.errors, dropped: c.dropped, pings: c.pings, errorCodes: c.errorCodes,
            inFlight: ledger.openCount, latencyP50Ms: p50, latencyP99Ms: p99,
            stages: [decodeStage.stats, reconstructStage.stats, encodeStage.stats],
            streams: metrics.streams.snapshot(at: MonotonicClock.seconds()),
            priorChoices: c.choices.isEmpty ? nil : c.choices, priorSwitches: c.choices.isEmpty ? nil : c.switches)
    }
}
