import Foundation
import Logging
import Support

/// One connection to the MRD endpoint: a client streaming a scan and reading back its images
/// (docs/PROTOCOL.md §9). Two threads: the reader owns the socket's input and the session's
/// ``MRDFrameAssembler``; the writer sends what the reader and the pipeline queue.
///
///     client ─▶ reader: MRDStreamReader → MRDMessage → MRDFrameAssembler
///                 │ frame (waits while `maxInFlight` frames are unanswered or as many
///                 │        replies unsent: the client's writes then block, TCP's backpressure)
///                 ▼
///               PipelineRuntime.submitAssembled ─▶ workers ─▶ encode ─▶ PUB (as every stream)
///                                                                 │ StreamReplySink
///     client ◀─ writer ◀── image (id 1022) / text (id 5) ◀───────────┘
///
/// A close (id 4) from the client ends the session once every frame it completed is answered:
/// then lpnd sends close and closes the connection. A message that cannot be read, a header or
/// line that does not fit the pipeline, silence longer than the idle timeout, or the daemon
/// stopping end it at once: a text message says why, then close.
final class MRDSession: StreamReplySink, @unchecked Sendable {  // safe: mutable state shared with the writer and the encode stage is in `state`; `runtime` and the assembler are touched only by the reader thread
    struct Settings: Sendable {
        var idleTimeout: Double
        var maxInFlight = 4
        var drainTimeout: Double
        var maxMessageBytes: Int
    }

    private struct State {
        var outbox: [[UInt8]] = []
        var submitted = 0
        var answered = 0
        /// No more messages will be queued: the writer ends once the outbox is empty.
        var finished = false
        var broken = false
        /// The close is queued: later replies are dropped (the client has been told it ended).
        var closeQueued = false
        /// The daemon is stopping: waits for room end, the reader's input is shut.
        var stopping = false
    }

    let stream: String
    private let socket: TCPSocket
    private let settings: Settings
    private let logger: Logger
    private let choose: @Sendable (String?) -> PipelineRuntime?
    private let state = LockedCondition(State())
    let ended = Completion()
    private var runtime: PipelineRuntime?
    private var assembler: MRDFrameAssembler?

    /// `choose`: the pipeline a config name selects (nil: the endpoint's default).
    init(stream: String, socket: TCPSocket, settings: Settings, logger: Logger,
         choose: @escaping @Sendable (String?) -> PipelineRuntime?) {
        self.stream = stream
        self.socket = socket
        self.settings = settings
        self.logger = logger
        self.choose = choose
    }

    func start(onEnd: @escaping @Sendable () -> Void) {
        let writer = Thread { [self] in writeLoop() }
        writer.name = "lpnd.mrd.\(stream).writer"
        writer.start()
        let reader = Thread { [self] in
            readLoop()
            runtime?.detach(stream: stream)
            state.withLock { $0.finished = true }
            onEnd()
        }
        reader.name = "lpnd.mrd.\(stream).reader"
        reader.start()
    }

    /// The daemon is stopping: wakes a wait for room and a blocked read (the input side only:
    /// queued replies and the close still go out, within the write timeout).
    func stop() {
        state.withLock { $0.stopping = true }
        socket.shutdownReading()
    }

    // MARK: Reader

    private func readLoop() {
        socket.setTimeouts(read: settings.idleTimeout, write: settings.idleTimeout)
        let reader = MRDStreamReader<TCPSocket.ReadEnd>(maxMessageBytes: settings.maxMessageBytes) { [socket] count throws(TCPSocket.ReadEnd) in
            try socket.read(exactly: count)
        }
        while true {
            let outcome: MRDStreamReader<TCPSocket.ReadEnd>.Outcome
            do { outcome = try reader.next() } catch {
                return end(reading: error)
            }
            switch outcome {
            case .problem(let problem): return fail(.malformedMessage, problem)
            case .message(let bytes):
                switch MRDMessage.decode(bytes) {
                case .failure(let problem): return fail(.malformedMessage, problem.description)
                case .success(let message):
                    guard handle(message) else { return }
                    if case .close = message { return finishGracefully() }
                }
            }
        }
    }

    /// One message; false when it ended the session.
    private func handle(_ message: MRDMessage) -> Bool {
        if case .configFile(let name) = message, runtime == nil {
            runtime = choose(name)
            if runtime == nil { runtime = choose(nil) }
            logger.info("MRD session \(stream): config '\(name)' → pipeline \(runtime?.interface.name ?? "none")")
        }
        if runtime == nil { runtime = choose(nil) }
        guard let runtime, let expectation = runtime.interface.mrd else {
            fail(.unknownPipeline, "no pipeline with input: mrd serves this endpoint")
            return false
        }
        if assembler == nil {
            assembler = MRDFrameAssembler(pipeline: runtime.interface.name, expectation: expectation)
            runtime.attach(stream: stream, sink: self)
        }
        for output in assembler!.accept(stream: stream, message: message, receivedAt: MonotonicClock.seconds()) {
            switch output {
            case .ignored(let kind): runtime.countIgnored(kind: kind)
            case .error(let event):
                runtime.report(event)
                if event.code == .mrdHeader || event.code == .mrdAcquisition {
                    finish(with: Self.text(event.code, event.message))
                    return false
                }
                enqueue(MRDMessage.encodeText(Self.text(event.code, event.message)))
            case .frame(var frame):
                // Room: fewer than maxInFlight frames unanswered and replies unsent. A reconstruction
                // that never ends must not hold the session (and its connection slot) forever.
                let max = settings.maxInFlight, deadline = MonotonicClock.seconds() + settings.idleTimeout + settings.drainTimeout
                let room = state.wait(until: { ($0.submitted - $0.answered < max && $0.outbox.count < max) || $0.broken || $0.stopping },
                                      deadline: deadline) { s, ready in
                    guard ready, !s.broken, !s.stopping else { return false }
                    s.submitted += 1
                    return true
                }
                frame.replyTo = stream
                guard room, runtime.submitAssembled(frame) else {
                    finish(with: Self.text(.drainTimeout, "the daemon is stopping, or earlier frames were not answered in time"))
                    return false
                }
            }
        }
        return true
    }

    /// The client sent close: wait for every frame's answer, then close.
    private func finishGracefully() {
        let deadline = MonotonicClock.seconds() + settings.drainTimeout
        let all = state.wait(until: { $0.answered >= $0.submitted || $0.broken }, deadline: deadline) { s, ready in ready && !s.broken }
        finish(with: all ? nil : Self.text(.drainTimeout, "not every frame was answered within \(settings.drainTimeout) s"))
    }

    private func end(reading error: TCPSocket.ReadEnd) {
        switch error {
        case .closed(let got):
            if state.withLock({ $0.stopping }) { return finish(with: Self.text(.drainTimeout, "the daemon is stopping")) }
            logger.warning("MRD session \(stream): the client closed the connection \(got > 0 ? "in the middle of a message" : "without a close message")")
            finish(with: nil, sendClose: false)
        case .timedOut:
            fail(.malformedMessage, "no message for \(settings.idleTimeout) s (idle_timeout): closing the session")
        case .failed(let reason):
            logger.warning("MRD session \(stream): read failed: \(reason)")
            finish(with: nil, sendClose: false)
        }
    }

    private func fail(_ code: ErrorCode, _ message: String) {
        let event = ErrorEvent(stream: stream, seq: nil, pipeline: runtime?.interface.name, code: code, message: message)
        runtime?.report(event)
        if runtime == nil { logger.warning("MRD session \(stream): \(code.rawValue): \(message)") }
        finish(with: Self.text(code, message))
    }

    /// What a text message to the client says: `lpnd <code>: <what>`.
    static func text(_ code: ErrorCode, _ message: String) -> String { "lpnd \(code.rawValue): \(message)" }

    /// Queues the last text (if any) and the close; the writer sends them and closes.
    private func finish(with text: String?, sendClose: Bool = true) {
        if let text { enqueue(MRDMessage.encodeText(text)) }
        if sendClose {
            enqueue(MRDMessage.encodeClose())
            state.withLock { $0.closeQueued = true }
        }
    }

    private func enqueue(_ message: [UInt8]) {
        state.withLock { if !$0.broken && !$0.closeQueued { $0.outbox.append(message) } }
    }

    // MARK: Replies (the encode stage's worker)

    func frame(_ frame: InboundFrame, _ result: ProcessedFrame) {
        let message = MRDReply.image(frame, result, pipeline: frame.header.pipeline)
        state.withLock {
            $0.answered += 1
            if !$0.broken && !$0.closeQueued { $0.outbox.append(message) }
        }
    }

    func error(_ event: ErrorEvent) {
        state.withLock {
            $0.answered += 1
            if !$0.broken && !$0.closeQueued { $0.outbox.append(MRDMessage.encodeText("lpnd \(event.code.rawValue) seq \(event.seq.map(String.init) ?? "-"): \(event.message)")) }
        }
    }

    // MARK: Writer

    private func writeLoop() {
        defer { ended.finish() }
        while true {
            let next: [UInt8]? = state.wait(until: { !$0.outbox.isEmpty || $0.finished || $0.broken }) { s, _ in
                s.outbox.isEmpty ? nil : s.outbox.removeFirst()
            }
            guard let next else { break }
            if !socket.write(next) {
                logger.warning("MRD session \(stream): the client stopped reading; the session ends")
                state.withLock { $0.broken = true; $0.outbox = [] }
                socket.shutdown()  // wakes the reader
                return
            }
        }
        socket.finishWriting(drainingFor: 2)
    }
}
