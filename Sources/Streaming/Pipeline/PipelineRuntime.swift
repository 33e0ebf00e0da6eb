import Foundation
import Logging
import Metrics
import TensorIO
import Support

/// One pipeline inside the daemon: the wiring of its stages, declared below in the order data
/// flows. Each arrow is a typed hand-over; each box a ``BoundedStage`` (or a thread) whose
/// inbox bounds memory:
///
///     ingest thread (owns the socket)
///        │ RawMessage            PULL: waits while `decode` is full (ZeroMQ pushes back)
///        ▼                       SUB:  drops by policy, each drop an error event
///     decode (1 worker, `inbox`) ─── rejection ─▶ error event ─┐
///        │ FrameLedger.Entry  ─── ping ──────▶ pong ──────────┤
///        ▼                                                     │
///     reconstruct (`workers`, `reconstruct_inbox`)             │
///        │ Outcome (frame or failure)                          │
///        ▼                                                     │
///     reorder (per stream, arrival order)                      │
///        │ Outcome                                             │
///        ▼                                                     │
///     encode (1 worker: PNG, JSON) ── Message ─────────────────┴─▶ publisher (PUB thread)
///
/// Every message read from the socket ends as exactly one frame, one error event or one pong
/// (``FrameLedger`` tracks the frames in between). No lock is held while handing over to a
/// stage that can block.
public final class PipelineRuntime: @unchecked Sendable {  // safe: mutable state is in the `state` box; stages, assembler and endpoint are set once in init
    public let interface: PipelineInterface
    public let configuration: PipelineRuntimeConfiguration
    /// The ingest endpoint actually bound (wildcard ports resolved).
    public private(set) var endpoint = ""

    enum Outcome: Sendable {
        case frame(FrameLedger.Entry, ProcessedFrame, startedAt: Double, finishedAt: Double)
        case failure(FrameLedger.Entry, ErrorEvent)

        var entry: FrameLedger.Entry {
            switch self {
            case .frame(let entry, _, _, _), .failure(let entry, _): entry
            }
        }
    }

    struct State {
        var stopRequested = false
        /// The configuration generation new frames get, and the processors (one per worker) of
        /// every generation that still has frames (docs/DEPLOY.md, "Reload").
        var generation = 1
        var processors: [Int: [any FrameProcessor]] = [:]
        /// When each worker's current reconstruction started (nil: idle).
        var workerStarted: [Double?] = []
    }

    private let decoder: MessageDecoder
    private let encoder: FrameEncoder
    private let publisher: Publisher
    let logger: Logger
    private let frameObserver: (@Sendable (PublishedFrame) -> Void)?
    let ledger = FrameLedger()
    let metrics: PipelineMetrics
    var decodeStage: BoundedStage<RawMessage>!
    /// MRD input: assembles acquisitions into frames; used only by the decode stage's one worker.
    private var mrdAssembler: MRDFrameAssembler?
    var reconstructStage: BoundedStage<FrameLedger.Entry>!
    private var reorderer: Reorderer<Outcome>!
    var encodeStage: BoundedStage<Outcome>!
    private let state = Locked(State())
    var ingestFinished = Completion()
    /// Streams whose outcomes also go to a session (MRD TCP), by stream id.
    let replySinks = Locked<[String: any StreamReplySink]>([:])

    /// Builds the stages (one processor per worker) and starts the ingest thread.
    public init(backend: any PipelineBackend, configuration: PipelineRuntimeConfiguration,
                context: ZMQContext, publisher: Publisher, security: SocketSecurity = .plain,
                logger: Logger = Logger(label: "lpnd"), metrics factory: MetricsFactory = MetricsSystem.factory,
                frameObserver: (@Sendable (PublishedFrame) -> Void)? = nil) throws {
        interface = backend.interface
        self.frameObserver = frameObserver
        self.logger = logger
        metrics = PipelineMetrics(pipeline: backend.interface.name, stages: ["decode", "reconstruct", "encode"], factory: factory)
        self.configuration = configuration
        self.publisher = publisher
        decoder = MessageDecoder(interface: interface)
        encoder = FrameEncoder(pipeline: interface.name, attachPNG: configuration.publishPNG)
        let processors = try (0..<configuration.workers).map { _ in try backend.makeProcessor() }
        state.withLock { s in
            s.processors[1] = processors
            s.workerStarted = Array(repeating: nil, count: configuration.workers)
        }
        if let directory = configuration.pngDirectory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let name = interface.name
        // Built from the end of the flow back, so each stage's successor exists.
        encodeStage = BoundedStage(name: "\(name).encode", capacity: max(2, configuration.workers)) { [unowned self] _, outcome in
            for message in self.encode(outcome) { self.publisher.publish(message) }
        }
        reorderer = Reorderer(enabled: configuration.reorder, capacity: max(2, configuration.workers)) { [unowned self] outcome in
            _ = self.encodeStage.submit(outcome)  // waits while encoding falls behind
        }
        reconstructStage = BoundedStage(name: "\(name).reconstruct", capacity: configuration.reconstructInbox,
                                        workers: configuration.workers) { [unowned self] worker, entry in
            self.complete(self.reconstruct(entry, worker: worker))
        }
        mrdAssembler = interface.mrd.map { MRDFrameAssembler(pipeline: name, expectation: $0) }
        decodeStage = BoundedStage(name: "\(name).decode", capacity: configuration.inbox) { [unowned self] _, raw in
            for entry in self.decode(raw) {
                // Lossless hand-over: waits while the workers are saturated.
                if !self.reconstructStage.submit(entry) {
                    self.complete(.failure(entry, self.event(for: entry, .drainTimeout, "the daemon stopped before this frame reached a worker")))
                }
            }
        }
        try startIngest(context: context, security: security)
    }

    // MARK: 1. Ingest

    private func startIngest(context: ZMQContext, security: SocketSecurity) throws {
        let configuration = configuration, interface = interface
        ingestFinished = try SocketThread.start(name: "lpnd.\(interface.name).ingest", setup: { [unowned self] in
            let socket = try ZMQSocket(context: context, kind: configuration.socket == .pull ? .pull : .sub)
            try socket.setOption(ZMQ_RCVHWM_, configuration.receiveHighWaterMark)
            try socket.limitPartSize(security.wireSize(ofPart: interface.maxReadPartBytes))
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

    private var shouldStop: Bool { update { $0.stopRequested } }

    func update<R>(_ body: (inout State) -> R) -> R {
        state.withLock(body)
    }

    private func ingestLoop(_ socket: ZMQSocket) {
        while !shouldStop {
            do {
                guard try socket.poll(timeoutMs: 50) else { continue }
                // Read everything already queued before polling again (one poll per burst).
                while !shouldStop, let parts = try socket.receive(dontWait: true) {
                    accept(RawMessage(parts: parts, receivedAt: MonotonicClock.seconds()))
                }
            } catch let error as ZMQError where error.isTerminated {
                return
            } catch {
                logger.error("\(interface.name): ingest: \(error)")
            }
        }
    }

    /// Hands one message read from the socket to the decode stage (the message is accepted).
    private func accept(_ raw: RawMessage) {
        metrics.received()
        switch configuration.socket {
        case .pull:
            // Stop reading while the inbox is full: ZeroMQ's high-water marks then block the sender.
            if !decodeStage.submit(raw) { reject(raw, .drainTimeout, "the daemon stopped before this message was decoded") }
        case .sub:
            if let dropped = decodeStage.offer(raw, policy: configuration.dropPolicy) {
                reject(dropped, .dropped, "inbox full (capacity \(configuration.inbox)); dropped by policy \(configuration.dropPolicy.rawValue)")
            }
        }
    }

    // MARK: 2. Decode: RawMessage → entries (or a rejection or a pong, published at once)

    /// One entry per frame: a measurement message is one; an MRD acquisition completes at most
    /// one, an MRD message that abandons an open frame may also publish an error event.
    private func decode(_ raw: RawMessage) -> [FrameLedger.Entry] {
        switch decoder.decode(raw.parts, receivedAt: raw.receivedAt) {
        case .failure(let rejection):
            var event = rejection.event
            event.generation = currentGeneration
            publishError(event)
            return []
        case .success(.ping(let ping)):
            publisher.publish(encoder.pong(ping, generation: currentGeneration))
            metrics.ping()
            return []
        case .success(.frame(let frame)):
            return [ledger.enter(frame, generation: currentGeneration)]
        case .success(.mrd(let stream, let message)):
            guard let mrdAssembler else { return [] }  // the decoder rejects MRD for other pipelines
            var entries: [FrameLedger.Entry] = []
            for output in mrdAssembler.accept(stream: stream, message: message, receivedAt: raw.receivedAt) {
                switch output {
                case .frame(let frame): entries.append(ledger.enter(frame, generation: currentGeneration))
                case .ignored(let kind): metrics.ignored(kind: kind)
                case .error(var event):
                    event.generation = currentGeneration
                    publishError(event)
                }
            }
            return entries
        }
    }

    // MARK: 3. Reconstruct: entry → Outcome

    private func reconstruct(_ entry: FrameLedger.Entry, worker: Int) -> Outcome {
        let started = MonotonicClock.seconds()
        update { $0.workerStarted[worker] = started }
        defer { update { $0.workerStarted[worker] = nil } }
        do {
            let processor = update { $0.processors[entry.generation]![worker] }
            let result = try processor.process(entry.frame)
            return .frame(entry, result, startedAt: started, finishedAt: MonotonicClock.seconds())
        } catch let failure as FrameFailure {
            return .failure(entry, event(for: entry, failure.code, failure.message))
        } catch {
            return .failure(entry, event(for: entry, .reconstructionFailed, "\(error)"))
        }
    }

    // MARK: 4. Reorder: settles the entry, releases outcomes in each stream's arrival order

    func complete(_ outcome: Outcome) {
        let entry = outcome.entry
        guard ledger.settle(entry) else { return }  // already reported at a drain timeout
        retireOldGenerations()
        reorderer.complete(stream: entry.frame.header.stream, index: entry.index, outcome)
    }

    // MARK: 5. Encode: Outcome → messages (frame + diagnostics, or an error event)

    private func encode(_ outcome: Outcome) -> [FrameEncoder.Message] {
        switch outcome {
        case .failure(let entry, let event):
            count(event)
            replySink(for: entry.frame.replyTo)?.error(event)
            return [encoder.error(event)]
        case .frame(let entry, let result, let started, let finished):
            let frame = entry.frame
            let png = configuration.publishPNG || configuration.pngDirectory != nil ? FrameEncoder.png(of: result) : nil
            if let directory = configuration.pngDirectory, let png {
                let path = "\(directory)/\(frame.header.stream)-\(frame.header.seq).png"
                if !FileManager.default.createFile(atPath: path, contents: Data(png)) {
                    logger.warning("\(interface.name): cannot write \(path)")
                }
            }
            let now = MonotonicClock.seconds()
            let timings = FrameTimings(queueMs: 1e3 * (started - frame.receivedAt), reconstructMs: 1e3 * (finished - started),
                                       totalMs: 1e3 * (now - frame.receivedAt))
            metrics.frame(timings, iterations: result.convergence.iterations, proxSeconds: result.proxSeconds,
                          stream: frame.header.stream, at: now)
            if let choice = result.choice { metrics.choice(choice) }
            var messages = encoder.frame(frame, result, timings: timings, png: png, generation: entry.generation)
            if configuration.publishMRD { messages.append(encoder.mrdImage(frame, result)) }
            frameObserver?(PublishedFrame(pipeline: interface.name, stream: frame.header.stream, header: messages[0][1],
                                          png: png, result: result))
            replySink(for: frame.replyTo)?.frame(frame, result)
            return messages
        }
    }

    // MARK: Errors outside the flow (rejections, drops, abandonment)

    func event(for entry: FrameLedger.Entry, _ code: ErrorCode, _ message: String) -> ErrorEvent {
        ErrorEvent(stream: entry.frame.header.stream, seq: entry.frame.header.seq, pipeline: interface.name, code: code,
                   message: message, generation: entry.generation)
    }

    /// Error event for a raw message that will not be decoded, naming its stream and seq when readable.
    func reject(_ raw: RawMessage, _ code: ErrorCode, _ reason: String) {
        let (stream, seq) = MessageDecoder.identification(of: raw.parts)
        publishError(ErrorEvent(stream: stream, seq: seq, pipeline: interface.name, code: code, message: reason,
                                generation: currentGeneration))
    }

    func publishError(_ event: ErrorEvent) {
        count(event)
        publisher.publish(encoder.error(event))
    }

    private func count(_ event: ErrorEvent) {
        metrics.error(event.code)
        if event.code != .dropped {
            logger.warning("\(interface.name): \(event.code.rawValue) stream=\(event.stream ?? "?") seq=\(event.seq.map(String.init) ?? "?"): \(event.message)")
        }
    }
}
