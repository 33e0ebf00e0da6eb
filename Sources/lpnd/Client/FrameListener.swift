import Foundation
import Streaming
import TensorIO
import Support

/// `lpnd listen`'s engine: subscribes to frames, diagnostics and errors, writes PNGs and
/// diagnostics JSON, and reports per-frame latency (now − acquisition timestamp) and PSNR.
struct FrameListener {
    var endpoint: String
    var stream: String?
    var outputDirectory: String?
    /// Stop after this many frames + errors (nil: run until the timeout passes with no message).
    var count: Int?
    var idleTimeout: Double = 30
    var printEach = true
    /// Messages of this stream are handshake probes: not counted, they only set `probeSeen`.
    var probeStream: String?
    var probeSeen: Locked<Bool>?
    var curve: CurveClient?
    /// Append each MRD image message (pipelines with `mrd_images: true`) to this file.
    var mrdFile: MRDImageFile?

    struct FrameRecord {
        var seq: UInt64
        var stream: String
        var latencyMs: Double
        var iterations: Int
        var converged: Bool
        var psnr: Double?
        /// When the listener received it (monotonic seconds).
        var receivedAt: Double
    }

    struct Report {
        var frames: [FrameRecord] = []
        var errors: [String] = []
        var diagnostics = 0
        var mrdImages = 0

        /// Frames per second between the first frame received and the last (nil below 2 frames).
        var framesPerSecond: Double? {
            guard frames.count > 1, let first = frames.first?.receivedAt, let last = frames.last?.receivedAt, last > first else { return nil }
            return Double(frames.count - 1) / (last - first)
        }
    }

    /// Runs until done; `ready` is called once subscribed.
    func run(context: ZMQContext = ZMQContext(), ready: (() -> Void)? = nil) throws -> Report {
        let socket = try ZMQSocket(context: context, kind: .sub)
        defer { socket.close(linger: 0) }
        try socket.setOption(ZMQ_RCVHWM_, 100_000)
        if let stream {
            for kind in ["frame", "diagnostics", "error", "mrd"] { try socket.subscribe("\(kind)/\(stream)/") }
        } else {
            try socket.subscribe("")
        }
        try curve?.apply(to: socket)
        try socket.connect(endpoint)
        if let directory = outputDirectory {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        ready?()
        var report = Report()
        var lastMessage = MonotonicClock.seconds()
        // Done when `count` frames + errors arrived and every frame's diagnostics (which
        // directly follows it) too, and with --mrd its MRD image (which follows those).
        func done() -> Bool {
            guard let count else { return false }
            return report.frames.count + report.errors.count >= count && report.diagnostics >= report.frames.count
                && (mrdFile == nil || report.mrdImages >= report.frames.count)
        }
        while !done() {
            guard try socket.poll(timeoutMs: 100), let parts = try socket.receive(dontWait: true) else {
                if (MonotonicClock.seconds() - lastMessage) > idleTimeout { break }
                continue
            }
            lastMessage = MonotonicClock.seconds()
            try handle(parts, into: &report)
        }
        return report
    }

    private func handle(_ parts: [[UInt8]], into report: inout Report) throws {
        let message = try OutboundDecoder.decode(parts)
        let stream = message.stream ?? "?", seq = message.seq ?? 0
        if let probe = probeStream, stream == probe {
            probeSeen?.set(true)
            return
        }
        let name = "\(stream)-\(String(format: "%06d", seq))"
        switch message {
        case .frame(let header, let image, let png):
            let latency = 1e3 * (Date().timeIntervalSince1970 - header.timestamp)  // sender's clock to ours
            report.frames.append(FrameRecord(seq: seq, stream: stream, latencyMs: latency, iterations: header.convergence.iterations,
                                             converged: header.convergence.converged, psnr: header.psnr,
                                             receivedAt: MonotonicClock.seconds()))
            if let directory = outputDirectory {
                let bytes = try png ?? PNGImage.encode(Tensor(shape: header.shape, data: image))
                _ = FileManager.default.createFile(atPath: "\(directory)/\(name).png", contents: Data(bytes))
            }
            if printEach {
                print(String(format: "frame %@ #%llu  latency %7.1f ms  iterations %3d (%@)%@%@%@", stream, seq, latency,
                             header.convergence.iterations, header.convergence.stopReason,
                             header.psnr.map { String(format: "  PSNR %.2f dB", $0) } ?? "",
                             Self.verdict(header.check, header.choice),
                             header.flags.isEmpty ? "" : "  flags " + header.flags.joined(separator: ",")))
            }
        case .diagnostics(_, let body):
            report.diagnostics += 1
            if let directory = outputDirectory {
                _ = FileManager.default.createFile(atPath: "\(directory)/\(name).json", contents: Data(body))
            }
        case .error(let event):
            let text = "\(event.code.rawValue) stream=\(stream) seq=\(seq): \(event.message)"
            report.errors.append(text)
            if printEach { print("error \(text)") }
        case .mrdImage(_, let message):
            report.mrdImages += 1
            try mrdFile?.append(message: message)
        case .pong:
            break
        }
    }
}

extension FrameListener {
    /// The check and the choice in words: which prior predicts the held-out measurements
    /// better and by how much, and which prior made the frame (docs/PIPELINES.md "check").
    static func verdict(_ check: CheckSummary?, _ choice: ChoiceSummary?) -> String {
        var words = ""
        if let check {
            words += check.differenceDB > 0
                ? String(format: "  check: TV predicts unseen data %.2f dB better", check.differenceDB)
                : String(format: "  check: the learned prior predicts unseen data %.2f dB better", -check.differenceDB)
        }
        if let choice {
            words += "  made by " + (choice.prior == "tv" ? "TV" : "the learned prior") + (choice.switched ? " (switched here)" : "")
        }
        return words
    }
}
