import Foundation
import Streaming

/// A pipeline whose "reconstruction" doubles the measurement; it can be held at a gate (to
/// make it slow without sleeping) and made to fail for chosen sequence numbers.
final class FakeBackend: PipelineBackend, @unchecked Sendable {
    let interface: PipelineInterface
    let gate = Gate()
    let failing: Set<UInt64>
    /// Called as each frame starts processing (seq).
    let started = Counter()

    init(name: String = "fake", failing: Set<UInt64> = [], gated: Bool = false) {
        interface = PipelineInterface(name: name, measurementShape: [4, 4], measurementDType: .float32, imageShape: [4, 4])
        self.failing = failing
        if !gated { gate.open() }
    }

    func makeProcessor() throws -> any FrameProcessor { FakeProcessor(backend: self) }
}

final class FakeProcessor: FrameProcessor {
    let backend: FakeBackend
    init(backend: FakeBackend) { self.backend = backend }

    func process(_ frame: InboundFrame) throws -> ProcessedFrame {
        backend.started.increment()
        backend.gate.pass()
        if backend.failing.contains(frame.header.seq) {
            throw FrameFailure(.diverged, "fake divergence at seq \(frame.header.seq)")
        }
        let summary = ConvergenceSummary(iterations: 3, converged: true, stopReason: "tolerance",
                                         finalRelativeChange: 1e-6, finalResidual: 0.01)
        return ProcessedFrame(image: frame.measurement.map { 2 * $0 }, imageShape: [4, 4], convergence: summary,
                              diagnosticsJSON: Array("{\"iterations\":3}".utf8))
    }
}

/// A gate workers wait at until the test opens it (a condition, not a sleep).
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var isOpen = false
    func open() { condition.lock(); isOpen = true; condition.broadcast(); condition.unlock() }
    func pass() { condition.lock(); while !isOpen { condition.wait() }; condition.unlock() }
}

final class Counter: @unchecked Sendable {
    private let condition = NSCondition()
    private var value = 0
    func increment() { condition.lock(); value += 1; condition.broadcast(); condition.unlock() }
    var current: Int { condition.lock(); defer { condition.unlock() }; return value }
    /// Waits until the count reaches `target`; false after `timeout` seconds (a failure guard).
    func wait(for target: Int, timeout: Double = 20) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock(); defer { condition.unlock() }
        while value < target { if !condition.wait(until: deadline) { return value >= target } }
        return true
    }
}

/// Polls a condition on the daemon's state (stats) until true; false after `timeout`.
func eventually(timeout: Double = 20, _ predicate: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
        if predicate() { return true }
        usleep(1000)  // a poll interval, not a synchronisation: the predicate decides
    }
    return predicate()
}

/// The test's side of the wire: a PUSH or PUB sender and a SUB listener.
final class TestPeer {
    let context = ZMQContext()
    let sender: ZMQSocket
    let listener: ZMQSocket

    init(ingest: String, publish: String, senderKind: ZMQSocket.Kind = .push, senderHighWaterMark: Int32 = 1000) throws {
        sender = try ZMQSocket(context: context, kind: senderKind)
        try sender.setOption(ZMQ_SNDHWM_, senderHighWaterMark)
        try sender.connect(ingest)
        listener = try ZMQSocket(context: context, kind: .sub)
        try listener.setOption(ZMQ_RCVHWM_, 100_000)
        try listener.subscribe("")
        try listener.connect(publish)
    }

    deinit {
        sender.close(linger: 0)
        listener.close(linger: 0)
        context.terminate()
    }

    static func header(seq: UInt64, stream: String = "s0", pipeline: String = "fake", shape: [Int] = [4, 4],
                       reference: Bool = false) -> [UInt8] {
        let h = MeasurementHeader(stream: stream, seq: seq, timestamp: 1000 + Double(seq), pipeline: pipeline,
                                  shape: shape, dtype: .float32, reference: reference)
        return [UInt8](try! JSONEncoder().encode(h))
    }

    static func payload(seq: UInt64, count: Int = 16) -> [UInt8] {
        (0..<count).map { Float(seq) + Float($0) / 100 }.withUnsafeBytes { [UInt8]($0) }
    }

    func sendFrame(seq: UInt64, stream: String = "s0", pipeline: String = "fake", dontWait: Bool = false) throws -> Bool {
        try sender.send([Self.header(seq: seq, stream: stream, pipeline: pipeline), Self.payload(seq: seq)], dontWait: dontWait)
    }

    /// Sends probes (malformed messages of stream "probe") until one's error event comes back:
    /// then both connections are up and nothing later is lost to ZeroMQ's slow-joiner effect.
    func handshake(timeout: Double = 20) throws -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
            try sender.send([Array("{\"lpnd\":1,\"stream\":\"probe\"}".utf8), []], dontWait: true)
            if try listener.poll(timeoutMs: 20) {
                while let message = try listener.receive(dontWait: true) {
                    if Output(message).isProbe { return true }
                }
            }
        }
        return false
    }

    /// Collects outputs (probes excluded) until `count` arrived or `timeout` passed.
    func collect(_ count: Int, timeout: Double = 30) throws -> [Output] {
        var outputs: [Output] = []
        let deadline = Date(timeIntervalSinceNow: timeout)
        while outputs.count < count && Date() < deadline {
            guard try listener.poll(timeoutMs: 50) else { continue }
            while let message = try listener.receive(dontWait: true) {
                let output = Output(message)
                if !output.isProbe { outputs.append(output) }
            }
        }
        return outputs
    }
}

/// One published message, parsed.
struct Output {
    let topic: String
    let json: [String: Any]
    let parts: [[UInt8]]

    init(_ parts: [[UInt8]]) {
        self.parts = parts
        topic = String(decoding: parts[0], as: UTF8.self)
        json = (try? JSONSerialization.jsonObject(with: Data(parts[1]))) as? [String: Any] ?? [:]
    }

    var kind: String { String(topic.prefix { $0 != "/" }) }
    var seq: UInt64? { (json["seq"] as? NSNumber)?.uint64Value }
    var stream: String? { json["stream"] as? String }
    var code: String? { json["code"] as? String }
    var isProbe: Bool { stream == "probe" }
    var image: [Float] {
        var values = [Float](repeating: 0, count: parts[2].count / 4)
        values.withUnsafeMutableBytes { $0.copyBytes(from: parts[2]) }
        return values
    }
}

func makeDaemon(_ backends: [(any PipelineBackend, PipelineRuntimeConfiguration)], drainTimeout: Double = 20) throws -> Daemon {
    Log.quiet = true
    return try Daemon(settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", controlEndpoint: "tcp://127.0.0.1:*",
                                                drainTimeout: drainTimeout),
                      pipelines: backends.map { Daemon.PipelineSpec(backend: $0.0, configuration: $0.1) })
}

func ingestConfig(_ socket: PipelineRuntimeConfiguration.SocketKind = .pull, inbox: Int = 4, reconstructInbox: Int = 4,
                  workers: Int = 1, policy: BoundedStage<RawMessage>.DropPolicy = .dropOldest) -> PipelineRuntimeConfiguration {
    PipelineRuntimeConfiguration(endpoint: "tcp://127.0.0.1:*", socket: socket, dropPolicy: policy, receiveHighWaterMark: 1,
                                 inbox: inbox, reconstructInbox: reconstructInbox, workers: workers, publishPNG: true)
}
