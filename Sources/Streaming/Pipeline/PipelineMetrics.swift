import Foundation
import Metrics
import TensorIO
import Support

/// A pipeline's counters, latencies and gauges. Every event goes to swift-metrics (the HTTP
/// endpoint serves them as Prometheus text, docs/DEPLOY.md "Metrics"), and the counts and the
/// last 1024 latencies are also kept here for the stats reply (docs/PROTOCOL.md §6). Once idle,
/// `received = frames + errors + pings`.
final class PipelineMetrics: @unchecked Sendable {  // safe: `state` is a lock box; metric handles are thread-safe
    struct Counts: Sendable {
        var received = 0
        var frames = 0
        var errors = 0
        var dropped = 0
        var pings = 0
        var errorCodes: [String: Int] = [:]
        /// `check.choose`: frames per prior that reconstructed them, and the checks that switched a stream's prior.
        var choices: [String: Int] = [:]
        var switches = 0
    }

    private struct State {
        var counts = Counts()
        /// The last `window` frame latencies (ms), a ring.
        var latencies: [Double] = []
        var next = 0
    }

    static let window = 1024
    private let state = Locked(State())

    private let receivedCounter, framesCounter, droppedCounter, pingsCounter: Counter
    private let errorCounters: [ErrorCode: Counter]
    /// `check.choose`: frames per prior ("lpn", "tv") and switches.
    private let choiceCounters: [String: Counter]
    private let switchesCounter: Counter
    /// MRD input: messages accepted and not used, per kind (config, text, waveform, …).
    private let ignoredCounters: [String: Counter]
    static let ignoredKinds = ["config_file", "config_text", "text", "image", "waveform", "ndarray"]
    private let latency, queueWait, reconstruction, proxTime: Metrics.Timer
    private let iterations: Recorder
    private let inFlight: Gauge
    private let stageGauges: [String: (depth: Gauge, busy: Gauge, capacity: Gauge)]
    /// Per-stream frames/s and latency percentiles.
    let streams: StreamRates

    init(pipeline: String, stages: [String], factory: MetricsFactory) {
        let p = [("pipeline", pipeline)]
        choiceCounters = Dictionary(uniqueKeysWithValues: ["lpn", "tv"].map {
            ($0, Counter(label: "lpnd_prior_choices_total", dimensions: p + [("prior", $0)], factory: factory))
        })
        switchesCounter = Counter(label: "lpnd_prior_switches_total", dimensions: p, factory: factory)
        ignoredCounters = Dictionary(uniqueKeysWithValues: Self.ignoredKinds.map {
            ($0, Counter(label: "lpnd_mrd_ignored_messages_total", dimensions: p + [("kind", $0)], factory: factory))
        })
        streams = StreamRates(pipeline: pipeline, factory: factory)
        receivedCounter = Counter(label: "lpnd_messages_received_total", dimensions: p, factory: factory)
        framesCounter = Counter(label: "lpnd_frames_total", dimensions: p, factory: factory)
        droppedCounter = Counter(label: "lpnd_dropped_total", dimensions: p, factory: factory)
        pingsCounter = Counter(label: "lpnd_pings_total", dimensions: p, factory: factory)
        errorCounters = Dictionary(uniqueKeysWithValues: ErrorCode.allCases.map {
            ($0, Counter(label: "lpnd_errors_total", dimensions: p + [("code", $0.rawValue)], factory: factory))
        })
        latency = Metrics.Timer(label: "lpnd_frame_latency_seconds", dimensions: p, preferredDisplayUnit: .seconds, factory: factory)
        queueWait = Metrics.Timer(label: "lpnd_queue_seconds", dimensions: p, preferredDisplayUnit: .seconds, factory: factory)
        reconstruction = Metrics.Timer(label: "lpnd_reconstruct_seconds", dimensions: p, preferredDisplayUnit: .seconds, factory: factory)
        proxTime = Metrics.Timer(label: "lpnd_prox_seconds", dimensions: p, preferredDisplayUnit: .seconds, factory: factory)
        iterations = Recorder(label: "lpnd_iterations", dimensions: p, aggregate: true, factory: factory)
        inFlight = Gauge(label: "lpnd_in_flight", dimensions: p, factory: factory)
        stageGauges = Dictionary(uniqueKeysWithValues: stages.map { stage in
            let d = p + [("stage", stage)]
            return (stage, (Gauge(label: "lpnd_queue_depth", dimensions: d, factory: factory),
                            Gauge(label: "lpnd_busy_workers", dimensions: d, factory: factory),
                            Gauge(label: "lpnd_queue_capacity", dimensions: d, factory: factory)))
        })
    }

    func received() {
        receivedCounter.increment()
        update { $0.counts.received += 1 }
    }

    /// An MRD message accepted and not used.
    func ignored(kind: String) { ignoredCounters[kind]?.increment() }

    func ping() {
        pingsCounter.increment()
        update { $0.counts.pings += 1 }
    }

    func error(_ code: ErrorCode) {
        errorCounters[code]?.increment()
        if code == .dropped { droppedCounter.increment() }
        update {
            $0.counts.errors += 1
            $0.counts.errorCodes[code.rawValue, default: 0] += 1
            if code == .dropped { $0.counts.dropped += 1 }
        }
    }

    func frame(_ timings: FrameTimings, iterations count: Int, proxSeconds: Double?, stream: String, at now: Double) {
        streams.published(stream: stream, latencyMs: timings.totalMs, at: now)
        framesCounter.increment()
        latency.recordSeconds(timings.totalMs / 1e3)
        queueWait.recordSeconds(timings.queueMs / 1e3)
        reconstruction.recordSeconds(timings.reconstructMs / 1e3)
        if let proxSeconds { proxTime.recordSeconds(proxSeconds) }
        iterations.record(count)
        update {
            $0.counts.frames += 1
            if $0.latencies.count < Self.window { $0.latencies.append(timings.totalMs) } else { $0.latencies[$0.next] = timings.totalMs }
            $0.next = ($0.next + 1) % Self.window
        }
    }

    /// A frame of a pipeline with `check.choose`: which prior reconstructed it, and whether its
    /// check switched the stream's choice.
    func choice(_ choice: ChoiceSummary) {
        choiceCounters[choice.prior]?.increment()
        if choice.switched { switchesCounter.increment() }
        update {
            $0.counts.choices[choice.prior, default: 0] += 1
            if choice.switched { $0.counts.switches += 1 }
        }
    }

    /// Sets the gauges from the stages' current state (before a scrape).
    func refresh(inFlight count: Int, stages: [StageStats]) {
        inFlight.record(count)
        _ = streams.snapshot(at: MonotonicClock.seconds())  // sets the per-stream gauges
        for stage in stages {
            guard let gauges = stageGauges[stage.name.split(separator: ".").last.map(String.init) ?? stage.name] else { continue }
            gauges.depth.record(stage.depth)
            gauges.busy.record(stage.busyWorkers)
            gauges.capacity.record(stage.capacity)
        }
    }

    /// The counts and the p50/p99 latency of the window.
    func snapshot() -> (counts: Counts, p50: Double?, p99: Double?) {
        let (counts, latencies) = update { ($0.counts, $0.latencies) }
        let sorted = latencies.sorted()
        return (counts, percentile(ofSorted: sorted, 50), percentile(ofSorted: sorted, 99))
    }

    private func update<R>(_ body: (inout State) -> R) -> R {
        state.withLock(body)
    }
}
