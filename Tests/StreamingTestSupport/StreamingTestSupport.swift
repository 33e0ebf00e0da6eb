import Foundation
import Logging
import Streaming
import Support

extension Logger {
    /// A logger that drops everything (tests that provoke errors on purpose).
    public static let quiet = Logger(label: "lpnd.test") { _ in SwiftLogNoOpLogHandler() }
}

/// A gate workers wait at until the test opens it (a condition, not a sleep).
public final class Gate: Sendable {
    public init() {}
    private let isOpen = LockedCondition(false)
    public func open() { isOpen.withLock { $0 = true } }
    /// Waits until the gate opens; false after `timeout` seconds (a failure guard).
    @discardableResult
    public func pass(timeout: Double = 60) -> Bool {
        isOpen.wait(until: { $0 }, deadline: MonotonicClock.seconds() + timeout) { _, open in open }
    }
}

public final class Counter: Sendable {
    public init() {}
    private let value = LockedCondition(0)
    public func increment() { value.withLock { $0 += 1 } }
    public var current: Int { value.withLock { $0 } }
    /// Waits until the count reaches `target`; false after `timeout` seconds (a failure guard).
    public func wait(for target: Int, timeout: Double = 20) -> Bool {
        value.wait(until: { $0 >= target }, deadline: MonotonicClock.seconds() + timeout) { _, reached in reached }
    }
}

/// Polls a condition on the daemon's state (stats) until true; false after `timeout`.
public func eventually(timeout: Double = 20, _ predicate: () -> Bool) -> Bool {
    let deadline = MonotonicClock.seconds() + timeout
    while MonotonicClock.seconds() < deadline {
        if predicate() { return true }
        usleep(1000)  // a poll interval, not a synchronisation: the predicate decides
    }
    return predicate()
}

/// The test's side of the wire: a PUSH or PUB sender and a SUB listener.
public final class TestPeer {
    public let context = ZMQContext()
    public let sender: ZMQSocket
    public let listener: ZMQSocket

    /// `configure` runs on each socket before it connects (e.g. to make it a CURVE client).
    public init(ingest: String, publish: String, senderKind: ZMQSocket.Kind = .push, senderHighWaterMark: Int32 = 1000,
                configure: (ZMQSocket) throws -> Void = { _ in }) throws {
        sender = try ZMQSocket(context: context, kind: senderKind)
        try sender.setOption(ZMQ_SNDHWM_, senderHighWaterMark)
        try configure(sender)
        try sender.connect(ingest)
        listener = try ZMQSocket(context: context, kind: .sub)
        try listener.setOption(ZMQ_RCVHWM_, 100_000)
        try listener.subscribe("")
        try configure(listener)
        try listener.connect(publish)
    }

    deinit {
        sender.close(linger: 0)
        listener.close(linger: 0)
        context.terminate()
    }

    public static func header(seq: UInt64, stream: String = "s0", pipeline: String = "fake", shape: [Int] = [4, 4],
                       reference: Bool = false) -> [UInt8] {
        let h = MeasurementHeader(stream: stream, seq: seq, timestamp: 1000 + Double(seq), pipeline: pipeline,
                                  shape: shape, dtype: .float32, reference: reference)
        return [UInt8](try! JSONEncoder().encode(h))
    }

    public static func payload(seq: UInt64, count: Int = 16) -> [UInt8] {
        WireProtocol.bytes((0..<count).map { Float(seq) + Float($0) / 100 })
    }

    public func sendFrame(seq: UInt64, stream: String = "s0", pipeline: String = "fake", dontWait: Bool = false) throws -> Bool {
        try sender.send([Self.header(seq: seq, stream: stream, pipeline: pipeline), Self.payload(seq: seq)], dontWait: dontWait)
    }

    /// Sends pings of stream "probe" until a pong comes back: then both connections are up and
    /// nothing later is lost to ZeroMQ's slow-joiner effect (PROTOCOL.md §7).
    public func handshake(timeout: Double = 20) throws -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        while MonotonicClock.seconds() < deadline {
            try sender.send(WireProtocol.pingMessage(), dontWait: true)
            if try listener.poll(timeoutMs: 20) {
                while let message = try listener.receive(dontWait: true) {
                    if Output(message).isProbe { return true }
                }
            }
        }
        return false
    }

    /// Collects outputs (pongs excluded) until `count` arrived or `timeout` passed.
    public func collect(_ count: Int, timeout: Double = 30) throws -> [Output] {
        var outputs: [Output] = []
        let deadline = MonotonicClock.seconds() + timeout
        while outputs.count < count && MonotonicClock.seconds() < deadline {
            guard try listener.poll(timeoutMs: 50) else { continue }
            while let message = try listener.receive(dontWait: true) {
                let output = Output(message)
                if !output.isProbe { outputs.append(output) }
            }
        }
        return outputs
    }
}

/// One published message, read by lpnd's own typed decoder (``OutboundDecoder``); `message`
/// is nil when that decoder refused it (`failure` says why).
public struct Output {
    public let topic: String
    public let parts: [[UInt8]]
    public let message: OutboundMessage?
    public let failure: String?

    public init(_ parts: [[UInt8]]) {
        self.parts = parts
        topic = String(decoding: parts.first ?? [], as: UTF8.self)
        do { (message, failure) = (try OutboundDecoder.decode(parts), nil) } catch {
            (message, failure) = (nil, error.description)
        }
    }

    public var kind: String { message?.kind.rawValue ?? String(topic.prefix { $0 != "/" }) }
    public var seq: UInt64? { message?.seq }
    public var stream: String? { message?.stream }
    public var isProbe: Bool { stream == "probe" }
    /// A frame's header.
    public var header: FrameHeader? {
        if case .frame(let header, _, _) = message { header } else { nil }
    }
    /// A frame's image.
    public var image: [Float] {
        if case .frame(_, let image, _) = message { image } else { [] }
    }
    /// An error event.
    public var event: ErrorEvent? {
        if case .error(let event) = message { event } else { nil }
    }
    public var code: String? { event?.code.rawValue }
    public var generation: Int? {
        switch message {
        case .frame(let h, _, _): h.generation
        case .error(let e): e.generation
        case .pong(let p): p.generation
        default: nil
        }
    }
    /// A diagnostics message's record (docs/PROTOCOL.md §4; free-form JSON by design).
    public var diagnosticsRecord: [String: Any]? {
        guard case .diagnostics(_, let body) = message,
              let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        return object["diagnostics"] as? [String: Any]
    }
}

