import Foundation
import TensorIO

/// One pipeline inside the daemon: its ingest socket and thread, and its three stages
/// (decode/validate → reconstruct on a worker pool → encode/publish), each a
/// ``BoundedStage``.
///
/// Every message read from the socket ends as exactly one frame or one error event.
public final class PipelineRuntime: @unchecked Sendable {
    public let interface: PipelineInterface
    public let configuration: PipelineRuntimeConfiguration
    private let publisher: Publisher
    private let decoder: MessageDecoder

    private struct Job: Sendable {
        var frame: InboundFrame
        var index: UInt64
    }

    private enum Outcome {
        case frame(InboundFrame, ProcessedFrame, startedAt: Double, finishedAt: Double)
        case failure(ErrorEvent)
    }

    private var decodeStage: BoundedStage<RawMessage>!
    private var reconstructStage: BoundedStage<Job>!
    private var encodeStage: BoundedStage<Outcome>!
    private var reorderer: Reorderer<Outcome>!
    private var processors: [any FrameProcessor] = []

    private let lock = NSLock()
    private var nextIndex: [String: UInt64] = [:]
    private var inFlight: [String: Job] = [:]   // key: stream/index
    private var counters = PipelineCounters()
    private var stopRequested = false
    private var ingestFinished = DispatchSemaphore(value: 1)
    /// The ingest endpoint actually bound (wildcard ports resolved).
    public private(set) var endpoint = ""

    /// Builds the stages (one processor per worker) and starts the ingest thread.
    public init(backend: any PipelineBackend, configuration: PipelineRuntimeConfiguration,
                context: ZMQContext, publisher: Publisher, security: SocketSecurity = .plain) throws {
        interface = backend.interface
        self.configuration = configuration
        self.publisher = publisher
        decoder = MessageDecoder(interface: interface)
        processors = try (0..<configuration.workers).map { _ in try backend.makeProcessor() }
        if let directory = configuration.pngDirectory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let name = interface.name
        encodeStage = BoundedStage(name: "\(name).encode", capacity: max(2, configuration.workers)) { [unowned self] _, outcome in
            self.publish(outcome)
        }
        reorderer = Reorderer(enabled: configuration.reorder) { [unowned self] outcome in
            // Blocking here pushes back on the workers when publishing falls behind.
            _ = self.encodeStage.submit(outcome)
        }
        reconstructStage = BoundedStage(name: "\(name).reconstruct", capacity: configuration.reconstructInbox,
                                        workers: configuration.workers) { [unowned self] worker, job in
            self.reconstruct(job, worker: worker)
        }
        decodeStage = BoundedStage(name: "\(name).decode", capacity: configuration.inbox) { [unowned self] _, raw in
            self.decode(raw)
        }
        try startIngest(context: context, security: security)
    }

    // MARK: Stages

    private func decode(_ raw: RawMessage) {
        switch decoder.decode(raw.parts, receivedAt: raw.receivedAt) {
        case .failure(let rejection):
            publishError(rejection.event)
        case .success(.ping(let ping)):
            publisher.publish([Array(WireProtocol.topic(.pong, stream: ping.stream).utf8),
                               WireJSON.encode(Pong(stream: ping.stream, seq: ping.seq, pipeline: interface.name))])
            lock.lock()
            counters.pings += 1
            lock.unlock()
        case .success(.frame(let frame)):
            lock.lock()
            let stream = frame.header.stream
            let index = nextIndex[stream, default: 0]
            nextIndex[stream] = index + 1
            let job = Job(frame: frame, index: index)
            inFlight["\(stream)/\(index)"] = job
            lock.unlock()
            // Lossless hand-over: waits while the workers are saturated.
            if !reconstructStage.submit(job) {
                abandon(job, reason: "the daemon stopped before this frame reached a worker")
            }
        }
    }

    private func reconstruct(_ job: Job, worker: Int) {
        let started = Clock.now()
        let outcome: Outcome
        do {
            let result = try processors[worker].process(job.frame)
            outcome = .frame(job.frame, result, startedAt: started, finishedAt: Clock.now())
        } catch let failure as FrameFailure {
            outcome = .failure(event(for: job.frame, failure.code, failure.message))
        } catch {
            outcome = .failure(event(for: job.frame, .reconstructionFailed, "\(error)"))
        }
        finish(job, outcome)
    }

    private func finish(_ job: Job, _ outcome: Outcome) {
        lock.lock()
        let wasInFlight = inFlight.removeValue(forKey: "\(job.frame.header.stream)/\(job.index)") != nil
        lock.unlock()
        guard wasInFlight else { return }  // already reported at a drain timeout
        reorderer.complete(stream: job.frame.header.stream, index: job.index, outcome)
    }

    private func abandon(_ job: Job, reason: String) {
        finish(job, .failure(event(for: job.frame, .drainTimeout, reason)))
    }

    private func event(for frame: InboundFrame, _ code: ErrorCode, _ message: String) -> ErrorEvent {
        ErrorEvent(stream: frame.header.stream, seq: frame.header.seq, pipeline: interface.name, code: code, message: message)
    }

    // MARK: Publishing

    private func publish(_ outcome: Outcome) {
        switch outcome {
        case .failure(let event):
            publishError(event)
        case .frame(let frame, let result, let started, let finished):
            var png: [UInt8]?
            if configuration.publishPNG || configuration.pngDirectory != nil {
                png = try? PNGImage.encode(Tensor(shape: result.imageShape, data: result.image))
            }
            if let directory = configuration.pngDirectory, let png {
                let path = "\(directory)/\(frame.header.stream)-\(frame.header.seq).png"
                if !FileManager.default.createFile(atPath: path, contents: Data(png)) {
                    Log.warning("\(interface.name): cannot write \(path)")
                }
            }
            let now = Clock.now()
            let header = FrameHeader(
                stream: frame.header.stream, seq: frame.header.seq, pipeline: interface.name,
                timestamp: frame.header.timestamp, shape: result.imageShape, png: configuration.publishPNG && png != nil,
                timings: FrameTimings(queueMs: 1e3 * (started - frame.receivedAt), reconstructMs: 1e3 * (finished - started),
                                      totalMs: 1e3 * (now - frame.receivedAt)),
                convergence: result.convergence, psnr: result.psnr, ssim: result.ssim, flags: result.flags,
                prior: result.prior)
            var parts = [Array(WireProtocol.topic(.frame, stream: frame.header.stream).utf8),
                         WireJSON.encode(header), WireProtocol.bytes(result.image)]
            if configuration.publishPNG, let png { parts.append(png) }
            publisher.publish(parts)
            publisher.publish([Array(WireProtocol.topic(.diagnostics, stream: frame.header.stream).utf8),
                               diagnosticsBody(frame, result)])
            lock.lock()
            counters.frames += 1
            counters.latencies.record(1e3 * (now - frame.receivedAt))
            lock.unlock()
        }
    }

    private func diagnosticsBody(_ frame: InboundFrame, _ result: ProcessedFrame) -> [UInt8] {
        // {"lpnd":1,"type":"diagnostics","stream":…,"seq":…,"pipeline":…,"diagnostics":<record>}
        let prefix = WireJSON.encode(DiagnosticsEnvelope(stream: frame.header.stream, seq: frame.header.seq, pipeline: interface.name))
        return Array(prefix.dropLast()) + Array(",\"diagnostics\":".utf8) + result.diagnosticsJSON + [UInt8(ascii: "}")]
    }

    private func publishError(_ event: ErrorEvent) {
        let stream = event.stream.flatMap { WireProtocol.isValidStreamID($0) ? $0 : nil } ?? WireProtocol.unknownStream
        publisher.publish([Array(WireProtocol.topic(.error, stream: stream).utf8), WireJSON.encode(event)])
        lock.lock()
        counters.errors += 1
        counters.errorCodes[event.code.rawValue, default: 0] += 1
        lock.unlock()
        if event.code != .dropped {
            Log.warning("\(interface.name): \(event.code.rawValue) stream=\(event.stream ?? "?") seq=\(event.seq.map(String.init) ?? "?"): \(event.message)")
        }
    }

    // MARK: Ingest

    private func startIngest(context: ZMQContext, security: SocketSecurity) throws {
        let configuration = configuration, interface = interface
        ingestFinished = try SocketThread.start(name: "lpnd.\(interface.name).ingest", setup: { [unowned self] in
            let socket = try ZMQSocket(context: context, kind: configuration.socket == .pull ? .pull : .sub)
            try socket.setOption(ZMQ_RCVHWM_, configuration.receiveHighWaterMark)
            try socket.limitPartSize(interface.maxPartBytes)
            try security.apply(to: socket)
            if configuration.socket == .sub { try socket.subscribe("") }
            if configuration.bind { try socket.bind(configuration.endpoint) } else { try socket.connect(configuration.endpoint) }
            self.endpoint = socket.lastEndpoint
            return socket
        }, run: { [unowned self] socket in
            self.ingestLoop(socket)
            socket.close(linger: 0)
        })
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    private func ingestLoop(_ socket: ZMQSocket) {
        while !shouldStop {
            do {
                guard try socket.poll(timeoutMs: 50) else { continue }
                // Read everything already queued before polling again (one poll per burst).
                while !shouldStop, let parts = try socket.receive(dontWait: true) {
                    accept(parts)
                }
            } catch let error as ZMQError where error.isTerminated {
                return
            } catch {
                Log.error("\(interface.name): ingest: \(error)")
            }
        }
    }

    /// Hands one message read from the socket to the decode stage (the message is accepted).
    private func accept(_ parts: [[UInt8]]) {
        lock.lock()
        counters.received += 1
        lock.unlock()
        let raw = RawMessage(parts: parts, receivedAt: Clock.now())
        switch configuration.socket {
        case .pull:
            // Stop reading while the inbox is full: ZeroMQ's high-water marks then block the sender.
            if !decodeStage.submit(raw) { reportUnprocessed(raw, reason: "the daemon stopped before this message was decoded") }
        case .sub:
            if let dropped = decodeStage.offer(raw, policy: configuration.dropPolicy) {
                reportUnprocessed(dropped, code: .dropped,
                                  reason: "inbox full (capacity \(configuration.inbox)); dropped by policy \(configuration.dropPolicy.rawValue)")
            }
        }
    }

    /// Error event for a raw message that will not be decoded, naming its stream and seq when readable.
    private func reportUnprocessed(_ raw: RawMessage, code: ErrorCode = .drainTimeout, reason: String) {
        let (stream, seq) = MessageDecoder.identification(of: raw.parts)
        if code == .dropped {
            lock.lock()
            counters.dropped += 1
            lock.unlock()
        }
        publishError(ErrorEvent(stream: stream, seq: seq, pipeline: interface.name, code: code, message: reason))
    }

    // MARK: Shutdown and stats

    /// Seconds a cancelled reconstruction has to reach its next cancellation point.
    static let cancelGrace = 10.0

    /// Stops reading from the socket; messages already read continue through the stages.
    public func stopAccepting() {
        lock.lock()
        stopRequested = true
        lock.unlock()
        ingestFinished.wait()
        ingestFinished.signal()  // idempotent for later callers
    }

    /// Waits for every accepted message to be published, until `deadline`; then reports
    /// whatever is left (queued or still on a worker) as `drain_timeout` error events.
    /// - Returns: true when everything finished in time.
    @discardableResult
    public func drain(until deadline: Date) -> Bool {
        stopAccepting()
        var clean = decodeStage.waitUntilIdle(deadline: deadline)
        clean = clean && reconstructStage.waitUntilIdle(deadline: deadline)
        clean = clean && encodeStage.waitUntilIdle(deadline: deadline)
        if clean { return true }
        decodeStage.close()
        reconstructStage.close()
        for raw in decodeStage.removeAll() {
            reportUnprocessed(raw, reason: "drain timeout: not decoded before shutdown")
        }
        for job in reconstructStage.removeAll() {
            abandon(job, reason: "drain timeout: not reconstructed before shutdown")
        }
        lock.lock()
        let running = inFlight.values.sorted { $0.index < $1.index }
        lock.unlock()
        for job in running { abandon(job, reason: "drain timeout: reconstruction still running at shutdown") }
        // Stop the workers at their next iteration and join them: nothing may still compute
        // (inside BLAS) while the process exits.
        for processor in processors { processor.cancel() }
        if !reconstructStage.waitUntilIdle(deadline: Date(timeIntervalSinceNow: Self.cancelGrace)) {
            Log.error("\(interface.name): a reconstruction did not stop within \(Self.cancelGrace) s of its cancellation")
        }
        _ = encodeStage.waitUntilIdle(deadline: Date(timeIntervalSinceNow: 5))
        return false
    }

    public var stats: PipelineStats {
        lock.lock()
        let c = counters
        let running = inFlight.count
        lock.unlock()
        return PipelineStats(
            pipeline: interface.name, endpoint: endpoint, socket: configuration.socket.rawValue,
            received: c.received, frames: c.frames, errors: c.errors, dropped: c.dropped, pings: c.pings, errorCodes: c.errorCodes,
            inFlight: running, latencyP50Ms: c.latencies.percentile(50), latencyP99Ms: c.latencies.percentile(99),
            stages: [decodeStage.stats, reconstructStage.stats, encodeStage.stats])
    }
}

private struct DiagnosticsEnvelope: Encodable {
    var lpnd = WireProtocol.version
    var type = "diagnostics"
    var stream: String
    var seq: UInt64
    var pipeline: String
}

struct PipelineCounters {
    var received = 0
    var frames = 0
    var errors = 0
    var dropped = 0
    var pings = 0
    var errorCodes: [String: Int] = [:]
    var latencies = LatencyWindow()
}

/// The last 1024 frame latencies, for p50/p99 in the stats.
struct LatencyWindow {
    private var values: [Double] = []
    private var next = 0

    mutating func record(_ value: Double) {
        if values.count < 1024 { values.append(value) } else { values[next] = value }
        next = (next + 1) % 1024
    }

    func percentile(_ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))]
    }
}

/// A pipeline's counters and stage depths, as reported by the stats call.
public struct PipelineStats: Codable, Sendable {
    public var pipeline: String
    public var endpoint: String
    public var socket: String
    /// Messages read from the ingest socket.
    public var received: Int
    public var frames: Int
    /// Error events published (drops included).
    public var errors: Int
    public var dropped: Int
    /// Pings answered (docs/PROTOCOL.md §7); received = frames + errors + pings once idle.
    public var pings: Int
    public var errorCodes: [String: Int]
    public var inFlight: Int
    public var latencyP50Ms: Double?
    public var latencyP99Ms: Double?
    public var stages: [StageStats]

    enum CodingKeys: String, CodingKey {
        case pipeline, endpoint, socket, received, frames, errors, dropped, pings, stages
        case errorCodes = "error_codes", inFlight = "in_flight"
        case latencyP50Ms = "latency_p50_ms", latencyP99Ms = "latency_p99_ms"
    }
}

enum Clock {
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }
}
