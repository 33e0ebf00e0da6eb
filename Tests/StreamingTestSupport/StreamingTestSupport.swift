import Foundation
import Logging
import Streaming

extension Logger {
    /// A logger that drops everything (tests that provoke errors on purpose).
    public static let quiet = Logger(label: "lpnd.test") { _ in SwiftLogNoOpLogHandler() }
}

/// A gate workers wait at until the test opens it (a condition, not a sleep).
public final class Gate: @unchecked Sendable {
    public init() {}
    private let condition = NSCondition()
    private var isOpen = false
    public func open() { condition.lock(); isOpen = true; condition.broadcast(); condition.unlock() }
    public func pass() { condition.lock(); while !isOpen { condition.wait() }; condition.unlock() }
}

public final class Counter: @unchecked Sendable {
    public init() {}
    private let condition = NSCondition()
    private var value = 0
    public func increment() { condition.lock(); value += 1; condition.broadcast(); condition.unlock() }
    public var current: Int { condition.lock(); defer { condition.unlock() }; return value }
    /// Waits until the count reaches `target`; false after `timeout` seconds (a failure guard).
    public func wait(for target: Int, timeout: Double = 20) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock(); defer { condition.unlock() }
        while value < target { if !condition.wait(until: deadline) { return value >= target } }
        return true
    }
}

/// Polls a condition on the daemon's state (stats) until true; false after `timeout`.
public func eventually(timeout: Double = 20, _ predicate: () -> Bool) -> Bool {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while Date() < deadline {
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
        let deadline = Date(timeIntervalSinceNow: timeout)
        while Date() < deadline {
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
public struct Output {
    public let topic: String
    public let json: [String: Any]
    public let parts: [[UInt8]]

    public init(_ parts: [[UInt8]]) {
        self.parts = parts
        topic = String(decoding: parts[0], as: UTF8.self)
        json = (try? JSONSerialization.jsonObject(with: Data(parts[1]))) as? [String: Any] ?? [:]
    }

    public var kind: String { String(topic.prefix { $0 != "/" }) }
    public var seq: UInt64? { (json["seq"] as? NSNumber)?.uint64Value }
    public var stream: String? { json["stream"] as? String }
    public var code: String? { json["code"] as? String }
    public var isProbe: Bool { stream == "probe" }
    public var image: [Float] {
        WireProtocol.floats(parts[2])
    }
}

