import Foundation
import Streaming
import TensorIO
import Support

/// What a sender learns from the daemon's PUB socket about the messages it pushed
/// (docs/PROTOCOL.md §7):
///
/// - ``require(through:timeout:)``: a ping sent after the last message comes back as a pong
///   only once every earlier message on that connection was read. Without it a sender that
///   exits at once can lose its last messages: libzmq drops what the receiver had not yet
///   taken from a connection that closes, whatever the sender's linger.
/// - ``answers(for:through:idleTimeout:)``: every measurement the daemon accepted ends as one
///   frame or one error event of its stream and seq. A message that never arrived (a
///   connection the daemon closed, e.g. at a part over its read limit, or a CURVE client it
///   refused) has neither, so a sender that waits for the answers can say exactly which of its
///   messages the daemon did not take.
final class DeliveryCheck {  // used by one thread: the sender's
    let listener: ZMQSocket
    let stream: String
    let endpoint: String
    private var pingSeq: UInt64 = 0
    /// Frames and error events read while waiting for a pong.
    private var pending: [(parts: [[UInt8]], at: Double)] = []

    /// Subscribes to the stream's pongs (and, with `answers`, its frames and error events)
    /// before anything is sent.
    init(context: ZMQContext, publish endpoint: String, stream: String, curve: CurveClient?, answers: Bool = false) throws {
        listener = try ZMQSocket(context: context, kind: .sub)
        try curve?.apply(to: listener)
        try listener.setOption(ZMQ_RCVHWM_, 100_000)
        for kind in answers ? [OutputKind.pong, .frame, .error] : [.pong] { try listener.subscribe("\(kind.rawValue)/\(stream)/") }
        try listener.connect(endpoint)
        self.stream = stream
        self.endpoint = endpoint
    }

    func close() { listener.close(linger: 0) }

    /// ``confirm(through:timeout:)``, throwing when no pong came: the message names the
    /// endpoint, the stream and the wait.
    func require(through socket: ZMQSocket, timeout: Double = 30) throws {
        guard try confirm(through: socket, timeout: timeout) else {
            throw ValidationErrorText("the daemon did not confirm delivery on \(endpoint) within \(Int(timeout)) s (no pong for stream '\(stream)')")
        }
    }

    /// Pings on `socket` until a pong arrives (true) or `timeout` seconds pass (false). Frames
    /// and error events that arrive meanwhile are kept for ``answers(for:through:idleTimeout:)``.
    func confirm(through socket: ZMQSocket, timeout: Double = 30) throws -> Bool {
        let deadline = MonotonicClock.seconds() + timeout
        while MonotonicClock.seconds() < deadline {
            // A ping per interval: the first may be published before the subscription is live.
            _ = try socket.send(WireProtocol.pingMessage(stream: stream, seq: pingSeq))
            pingSeq += 1
            guard try listener.poll(timeoutMs: 200) else { continue }
            while let parts = try listener.receive(dontWait: true) {
                if case .pong = try? OutboundDecoder.decode(parts) { return true }
                pending.append((parts, MonotonicClock.seconds()))
            }
        }
        return false
    }

    /// The daemon's answer to each message of `seqs`.
    struct Answers {
        var frames: [UInt64] = []
        /// Error events by seq: their codes.
        var errors: [UInt64: String] = [:]
        /// Messages with neither a frame nor an error event: the daemon never accepted them.
        var missing: [UInt64] = []
        var seconds: Double = 0
        /// Per frame answered: the daemon's latency (receipt to publication, ms) and PSNR (with a reference).
        var latenciesMs: [Double] = []
        var psnrs: [Double] = []
        /// When the first and the last frame arrived (monotonic seconds).
        var firstFrameAt: Double?, lastFrameAt: Double?

        /// Frames per second between the first frame answered and the last.
        var framesPerSecond: Double? {
            guard frames.count > 1, let first = firstFrameAt, let last = lastFrameAt, last > first else { return nil }
            return Double(frames.count - 1) / (last - first)
        }

        /// Rate, latency percentiles and mean PSNR of the frames answered (empty without frames).
        var performance: String {
            var parts: [String] = []
            if let rate = framesPerSecond { parts.append(String(format: "%.2f frames/s", rate)) }
            let sorted = latenciesMs.sorted()
            if let p50 = percentile(ofSorted: sorted, 50), let p99 = percentile(ofSorted: sorted, 99) {
                parts.append(String(format: "latency p50 %.1f ms, p99 %.1f ms", p50, p99))
            }
            if !psnrs.isEmpty { parts.append(String(format: "mean PSNR %.2f dB", psnrs.reduce(0, +) / Double(psnrs.count))) }
            return parts.joined(separator: "; ")
        }

        /// One line: how many were reconstructed, refused (by code) and never accepted.
        var summary: String {
            var line = "\(frames.count) reconstructed"
            if !errors.isEmpty {
                let codes = Dictionary(grouping: errors.values, by: { $0 }).map { "\($1.count) \($0)" }.sorted()
                line += ", \(errors.count) refused (\(codes.joined(separator: ", ")))"
            }
            if !missing.isEmpty { line += ", \(missing.count) not accepted (seq \(Self.ranges(missing)))" }
            return line
        }

        /// `0-3, 7, 9-10`.
        static func ranges(_ seqs: [UInt64]) -> String {
            var parts: [String] = []
            var start = seqs.first, previous = seqs.first
            for seq in seqs.dropFirst() + [UInt64.max] {
                if let p = previous, seq == p &+ 1 { previous = seq; continue }
                if let s = start, let p = previous { parts.append(s == p ? "\(s)" : "\(s)-\(p)") }
                start = seq
                previous = seq
            }
            return parts.joined(separator: ", ")
        }
    }

    /// After the last message: a pong (the daemon has read everything that reached it), then
    /// the frames and error events of `seqs` until each has one or `idleTimeout` seconds pass
    /// without any. The rest are `missing`.
    func answers(for seqs: [UInt64], through socket: ZMQSocket, idleTimeout: Double) throws -> Answers {
        let start = MonotonicClock.seconds()
        var waiting = Set(seqs)
        var answers = Answers()
        func take(_ parts: [[UInt8]], at now: Double = MonotonicClock.seconds()) {
            switch try? OutboundDecoder.decode(parts) {
            case .frame(let header, _, _):  // not the pongs of later pings
                guard waiting.remove(header.seq) != nil else { return }
                answers.frames.append(header.seq)
                answers.firstFrameAt = answers.firstFrameAt ?? now
                answers.lastFrameAt = now
                answers.latenciesMs.append(header.timings.totalMs)
                if let psnr = header.psnr { answers.psnrs.append(psnr) }
            case .error(let event):
                guard let seq = event.seq, waiting.remove(seq) != nil else { return }
                answers.errors[seq] = event.code.rawValue
            default:
                return
            }
        }
        let confirmed = try confirm(through: socket, timeout: idleTimeout)
        for (parts, at) in pending { take(parts, at: at) }
        pending = []
        var lastAnswer = MonotonicClock.seconds()
        while confirmed && !waiting.isEmpty && MonotonicClock.seconds() - lastAnswer < idleTimeout {
            guard try listener.poll(timeoutMs: 100) else { continue }
            while let parts = try listener.receive(dontWait: true) {
                let before = waiting.count
                take(parts)
                if waiting.count < before { lastAnswer = MonotonicClock.seconds() }
            }
        }
        answers.missing = waiting.sorted()
        answers.frames.sort()
        answers.seconds = MonotonicClock.seconds() - start
        return answers
    }
}
