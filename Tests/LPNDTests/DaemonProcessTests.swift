import Foundation
import Reconstruction
import Streaming
import StreamingTestSupport
import TensorIO
import Testing

/// The `lpnd` binary as users run it: `lpnd run` under signals, `lpnd demo`, config errors.
/// Endpoints are ipc:// in a fresh temporary directory.
@Suite(.serialized) struct DaemonProcessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    static let pipelinePath = root + "/Fixtures/tv-mri.yaml"

    /// The lpnd executable next to the test bundle (built by `swift test`).
    static var executable: String {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("lpnd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        return "lpnd-executable-not-found-near-\(Bundle.main.bundleURL.path)"
    }

    struct Running {
        let process: Process
        let stderr: Pipe
        let ingest: String
        let publish: String
        let control: String
        /// CURVE client settings for the control socket, when the daemon runs with `curve:`.
        var curve: (serverKey: String, keys: CurveKeyPair)? = nil

        func stop(signal: Int32 = SIGTERM) -> (status: Int32, log: String) {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            let log = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return (process.terminationStatus, log)
        }
    }

    static func startDaemon(pipeline: String = pipelinePath, inbox: Int = 4, drainTimeout: Double = 60, http: String = "off",
                            ingest upstream: String? = nil, connect: Bool = false, extra: String = "",
                            environment: [String: String] = [:],
                            curve: (serverKey: String, keys: CurveKeyPair)? = nil) throws -> Running {
        let dir = NSTemporaryDirectory() + "lpnd-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (ingest, publish, control) = (upstream ?? "ipc://\(dir)/in", "ipc://\(dir)/out", "ipc://\(dir)/ctl")
        let config = """
            publish: \(publish)
            control: \(control)
            drain_timeout: \(drainTimeout)
            stats_interval: 0
            http: \(http)
            pipelines:
              - file: \(pipeline)
                ingest: {endpoint: \(ingest), socket: pull, high_water_mark: 1, mode: \(connect ? "connect" : "bind")}
                inbox: \(inbox)
                reconstruct_inbox: \(inbox)
                workers: 1
            \(extra)
            """
        try config.write(toFile: dir + "/lpnd.yaml", atomically: true, encoding: .utf8)
        return try launch(config: dir + "/lpnd.yaml", ingest: ingest, publish: publish, control: control,
                          environment: environment, curve: curve)
    }

    /// `lpnd run --config <config>`, once it answers `stats` on `control` (within `timeout` s).
    static func launch(config: String, ingest: String, publish: String, control: String, environment: [String: String] = [:],
                       curve: (serverKey: String, keys: CurveKeyPair)? = nil, timeout: Double = 30) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["run", "--config", config]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        let running = Running(process: process, stderr: stderr, ingest: ingest, publish: publish, control: control, curve: curve)
        guard try stats(running, timeout: timeout) != nil else {
            let (_, log) = running.stop(signal: SIGKILL)
            throw ValidationFailure("daemon did not answer on its control socket: \(log)")
        }
        return running
    }

    /// The daemon's stats via its control socket (REQ/REP), nil on timeout.
    static func stats(_ daemon: Running, timeout: Double = 10) throws -> DaemonStats? {
        let context = ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, kind: .req)
        defer { socket.close(linger: 0) }
        if let curve = daemon.curve { try socket.makeCurveClient(serverKey: curve.serverKey, keys: curve.keys) }
        try socket.connect(daemon.control)
        try socket.send([Array("stats".utf8)])
        guard try socket.poll(timeoutMs: Int(timeout * 1000)), let reply = try socket.receive() else { return nil }
        return try OutboundDecoder.stats(reply[0])
    }

    static func received(_ daemon: Running) throws -> Int {
        try stats(daemon)?.pipelines.first?.received ?? -1
    }

    /// Measurements of phantoms through the pipeline's own operator, with the phantom as reference.
    static func measurements(_ count: Int, pipeline path: String = pipelinePath) throws -> [(header: [UInt8], parts: [[UInt8]], image: [Float])] {
        let pipeline = try Pipeline.load(path: path)
        let n = pipeline.imageShape[0], c = Double(n) / 2, r = Double(n) * 0.3
        return try (0..<count).map { i in
            var image = [Float](repeating: 0, count: n * n)
            for y in 0..<n { for x in 0..<n {
                let dx = Double(x) - c - Double(i % 5), dy = Double(y) - c + 1
                image[y * n + x] = dx * dx + dy * dy < r * r ? 0.8 : (abs(dx) < 1.2 * r && abs(dy) < 1.2 * r ? 0.3 : 0)
            } }
            let m = try pipeline.simulate(image: Tensor(shape: [n, n], data: image), noise: 0.01, seed: UInt64(i))
            let header = MeasurementHeader(stream: "cam", seq: UInt64(i), timestamp: Date().timeIntervalSince1970,
                                           pipeline: pipeline.name, shape: m.shape, dtype: .complex64, reference: true)
            let parts = try WireProtocol.measurementMessage(header, measurement: m.values, reference: image)
            return (parts[0], parts, image)
        }
    }

    @Test func framesGoInAndComeOutInOrderWithDiagnosticsAndPSNR() throws {
        let daemon = try Self.startDaemon()
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let inputs = try Self.measurements(12)
        for input in inputs { try peer.sender.send(input.parts) }
        let outputs = try peer.collect(24, timeout: 60)
        let frames = outputs.filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == (0..<12).map { Optional(UInt64($0)) })
        #expect(outputs.filter { $0.kind == "diagnostics" }.count == 12)
        for frame in frames {
            let psnr = frame.header?.psnr ?? 0
            #expect(psnr > 22, "seq \(frame.seq!): PSNR \(psnr) dB")
            #expect(frame.image.count == 32 * 32)
        }
        let (status, log) = daemon.stop()
        #expect(status == 0, "exit status \(status); log: \(log)")
    }

    /// A pipeline with `check`: a worker's first frame and every `every`-th carry the check in
    /// their frame header (and diagnostics), and its flag when the prior lost; the others not.
    @Test func checkedFramesCarryTheCheckInTheirHeader() throws {
        let path = Self.root + "/Fixtures/lpn-mri-check.yaml"
        let daemon = try Self.startDaemon(pipeline: path)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        for input in try Self.measurements(4, pipeline: path) { try peer.sender.send(input.parts) }
        let outputs = try peer.collect(8, timeout: 60)
        let frames = outputs.filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == (0..<4).map { Optional(UInt64($0)) })
        for frame in frames {
            let check = frame.header?.check
            #expect((check != nil) == (frame.seq! % 2 == 0), "seq \(frame.seq!): \(String(describing: check))")
            guard let check else { continue }
            #expect(check.folds == 2 && check.priorError > 0)
            #expect((frame.header?.flags ?? []).contains("worse_than_reference") == (check.differenceDB > 0))
        }
        let diagnostics = outputs.filter { $0.kind == "diagnostics" }.first { $0.seq == 0 }
        #expect(diagnostics?.diagnosticsRecord?["check"] != nil)
        let (status, log) = daemon.stop()
        #expect(status == 0, "exit status \(status); log: \(log)")
    }

    @Test func sigtermMidStreamPublishesEverythingAccepted() throws {
        let daemon = try Self.startDaemon(inbox: 8)
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let probesSoFar = try Self.received(daemon)
        let inputs = try Self.measurements(20)
        var sent = 0
        for input in inputs where try peer.sender.send(input.parts, dontWait: true) { sent += 1 }
        // Stop while frames are queued: the daemon has read some and not finished them.
        #expect(eventually { ((try? Self.received(daemon)) ?? 0) - probesSoFar >= 6 })
        let (status, log) = daemon.stop(signal: SIGTERM)
        #expect(status == 0, "exit status \(status)")
        // The final log line states what was accepted; every accepted frame must come out.
        let (received, frames, errors, pings) = try #require(Self.summary(log), "no summary line in log: \(log)")
        let outputs = try peer.collect(frames + errors, timeout: 10)
        let published = outputs.filter { $0.kind == "frame" }
        #expect(received - probesSoFar >= 6 && received == frames + errors + pings)
        #expect(published.count == frames, "daemon reported \(frames) frames, listener got \(published.count)")
        #expect(published.map(\.seq) == (0..<published.count).map { Optional(UInt64($0)) })
    }

    /// The counts of the daemon's final log line for test-mri: received, frames, errors, pings.
    static func summary(_ log: String) -> (received: Int, frames: Int, errors: Int, pings: Int)? {
        guard let line = log.split(separator: "\n").last(where: { $0.contains("pipeline test-mri: received") }) else { return nil }
        let n = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return n.count >= 4 ? (n[0], n[1], n[2], n[3]) : nil
    }

    @Test func tellsSystemdWhenReady() throws {
        let notify = NotifySocket()
        let daemon = try Self.startDaemon(environment: ["NOTIFY_SOCKET": notify.path])
        let ready = notify.next() ?? ""
        #expect(ready.hasPrefix("READY=1"), "got '\(ready)'")
        let (status, _) = daemon.stop()
        #expect(status == 0)
        #expect(notify.waitFor { $0.hasPrefix("STOPPING=1") } != nil)
    }

    @Test func demoRunsDaemonSenderAndListenerOnLoopback() throws {
        let out = NSTemporaryDirectory() + "lpnd-demo-" + UUID().uuidString.prefix(8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["demo", "--pipeline", Self.pipelinePath, "--frames", "3", "--output", out, "--http", "127.0.0.1:0"]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(files.filter { $0.hasSuffix(".png") }.count == 3)
        #expect(files.filter { $0.hasSuffix(".json") }.count == 3)
        #expect(text.contains("received 3 frames"))
        #expect(text.contains("live view: http://127.0.0.1:"), "the demo prints the live page's URL")
    }

    @Test func configErrorsNameTheKey() throws {
        let dir = NSTemporaryDirectory() + "lpnd-cfg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cases = [
            ("publish: ipc:///tmp/x\npipelines:\n  - file: p.yaml\n    ingest: {endpoint: ipc:///tmp/y}\n    wokers: 2\n", "pipelines[0].wokers"),
            ("publish: ipc:///tmp/x\npipelines:\n  - file: p.yaml\n    ingest: {endpoint: ipc:///tmp/y, socket: push}\n", "pipelines[0].ingest.socket"),
            ("pipelines: []\npublish: ipc:///tmp/x\n", "pipelines"),
            ("publish: ipc:///tmp/x\ndrain_timeout: soon\npipelines:\n  - file: p.yaml\n    ingest: {endpoint: ipc:///tmp/y}\n", "drain_timeout"),
            ("publish: ipc:///tmp/x\nmrd: {listen: nowhere}\npipelines:\n  - file: p.yaml\n    ingest: {endpoint: ipc:///tmp/y}\n", "mrd.listen"),
            ("publish: ipc:///tmp/x\nmrd: {listen: 127.0.0.1:0, max_connections: 0}\npipelines:\n  - file: p.yaml\n    ingest: {endpoint: ipc:///tmp/y}\n", "mrd.max_connections"),
        ]
        for (text, key) in cases {
            let path = dir + "/bad.yaml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.executable)
            process.arguments = ["run", "--config", path]
            let stderr = Pipe()
            process.standardError = stderr
            try process.run()
            process.waitUntilExit()
            let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 78)
            #expect(message.contains(path) && message.contains("'\(key)'"), "\(message)")
        }
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
