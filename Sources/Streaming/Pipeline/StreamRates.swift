import Foundation
import Metrics
import TensorIO
import Support

/// Per-stream rate and latency of one pipeline: frames per second over the last
/// ``rateWindow`` seconds and the p50/p99 of the last ``latencyWindow`` frames' latencies
/// (receipt to publication). A stream is one object or scanner, so this is what its user sees.
/// Kept for the ``capacity`` most recently published streams (senders choose stream ids; the
/// least recently published is forgotten first, with its Prometheus series), so memory and
/// the metrics' label count stay bounded.
final class StreamRates: @unchecked Sendable {  // safe: `state` is a Locked box; metric handles are thread-safe
    static let capacity = 64
    static let rateWindow = 10.0
    static let latencyWindow = 256

    private struct Window {
        /// Monotonic publication times within the rate window, oldest first.
        var published: [Double] = []
        var firstPublished: Double
        /// The last `latencyWindow` latencies (ms), a ring.
        var latencies: [Double] = []
        var next = 0
        var frames = 0
        var gauges: (rate: Gauge, p50: Gauge, p99: Gauge)
    }

    private struct State {
        var windows: [String: Window] = [:]
        /// Stream ids, least recently published first.
        var order: [String] = []
    }

    private let pipeline: String
    private let factory: MetricsFactory
    private let state = Locked(State())

    init(pipeline: String, factory: MetricsFactory) {
        self.pipeline = pipeline
        self.factory = factory
    }

    /// A frame of `stream` was published `latencyMs` after it was received.
    func published(stream: String, latencyMs: Double, at now: Double) {
        let evicted: Window? = state.withLock { s in
            var evicted: Window? = nil
            if s.windows[stream] == nil {
                let d = [("pipeline", pipeline), ("stream", stream)]
                s.windows[stream] = Window(firstPublished: now, gauges: (
                    Gauge(label: "lpnd_stream_frames_per_second", dimensions: d, factory: factory),
                    Gauge(label: "lpnd_stream_latency_p50_seconds", dimensions: d, factory: factory),
                    Gauge(label: "lpnd_stream_latency_p99_seconds", dimensions: d, factory: factory)))
                if s.order.count >= Self.capacity { evicted = s.windows.removeValue(forKey: s.order.removeFirst()) }
            } else {
                s.order.removeAll { $0 == stream }
            }
            s.order.append(stream)
            Self.record(&s.windows[stream]!, latencyMs: latencyMs, at: now)
            return evicted
        }
        if let evicted {
            evicted.gauges.rate.destroy()
            evicted.gauges.p50.destroy()
            evicted.gauges.p99.destroy()
        }
    }

    /// Adds one frame to a stream's window, in place.
    private static func record(_ w: inout Window, latencyMs: Double, at now: Double) {
        w.frames += 1
        w.published.append(now)
        w.published.removeAll { $0 <= now - rateWindow }
        if w.latencies.count < latencyWindow { w.latencies.append(latencyMs) } else { w.latencies[w.next] = latencyMs }
        w.next = (w.next + 1) % latencyWindow
    }

    /// Every kept stream's numbers at `now` (most recently published last); sets the gauges.
    func snapshot(at now: Double) -> [StreamStats] {
        let windows = state.withLock { s in s.order.compactMap { id in s.windows[id].map { (id, $0) } } }
        return windows.map { id, w in
            let recent = w.published.filter { $0 > now - Self.rateWindow }
            // Over the window, or since the stream's first frame when that is more recent.
            let span = min(Self.rateWindow, max(now - w.firstPublished, 1e-3))
            let rate = recent.count > 1 || now - w.firstPublished >= Self.rateWindow ? Double(recent.count) / span : 0
            let sorted = w.latencies.sorted()
            let stats = StreamStats(stream: id, frames: w.frames, framesPerSecond: rate,
                                    latencyP50Ms: percentile(ofSorted: sorted, 50), latencyP99Ms: percentile(ofSorted: sorted, 99))
            w.gauges.rate.record(rate)
            w.gauges.p50.record((stats.latencyP50Ms ?? 0) / 1e3)
            w.gauges.p99.record((stats.latencyP99Ms ?? 0) / 1e3)
            return stats
        }
    }
}

/// One stream's numbers in the stats reply (docs/PROTOCOL.md §6) and the live view.
public struct StreamStats: Codable, Sendable, Equatable {
    public var stream: String
    /// Frames published since the stream was first seen (or since it was last forgotten).
    public var frames: Int
    /// Frames published in the last 10 s, per second.
    public var framesPerSecond: Double
    public var latencyP50Ms: Double?
    public var latencyP99Ms: Double?

    enum CodingKeys: String, CodingKey {
        case stream, frames
        case framesPerSecond = "frames_per_second", latencyP50Ms = "latency_p50_ms", latencyP99Ms = "latency_p99_ms"
    }
}
