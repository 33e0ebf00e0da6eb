import Foundation
import Reconstruction
import Streaming
import TensorIO
import StreamingTestSupport
import Testing

/// What a hostile or broken sender can do to the `lpnd` process: parts of 1 GB, and the exit
/// statuses a service manager sees for configuration and socket errors.
@Suite(.serialized) struct DaemonLimitsTests {
    /// Peak and current resident memory of a process, in bytes (/proc/PID/status).
    static func memory(of pid: Int32) -> (peak: Int, now: Int) {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func kB(_ key: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return (kB("VmHWM"), kB("VmRSS"))
    }

    @Test func gigabytePartsAreRefusedUnreadAndTheDaemonKeepsServing() throws {
        let daemon = try DaemonProcessTests.startDaemon()
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        let pid = daemon.process.processIdentifier
        let before = Self.memory(of: pid)
        let inputs = try DaemonProcessTests.measurements(4)
        let huge = [UInt8](unsafeUninitializedCapacity: 1 << 30) { _, count in count = 1 << 30 }
        for i in 0..<2 {
            // A valid header with a 1 GB measurement part, then a good frame.
            try peer.sender.send([inputs[2 * i].header, huge])
            // The connection is dropped at the oversized part and comes back by itself; ping until
            // it is up again, then the good frame must go through.
            #expect(try peer.handshake(timeout: 30))
            try peer.sender.send(inputs[2 * i + 1].parts)
            let frames = try peer.collect(2, timeout: 30).filter { $0.kind == "frame" }
            #expect(frames.compactMap(\.seq) == [UInt64(2 * i + 1)])
        }
        let after = Self.memory(of: pid)
        #expect(after.peak < before.peak + (64 << 20),
                "peak resident memory went from \(before.peak >> 20) MiB to \(after.peak >> 20) MiB")
        let stats = try #require(try DaemonProcessTests.stats(daemon))
        #expect(stats.pipelines.first?.errors == 0, "the oversized messages were never accepted")
        let (status, _) = daemon.stop()
        #expect(status == 0)
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonProcessTests.executable)
        process.arguments = arguments
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    @Test func configurationAndSocketErrorsHaveTheirOwnExitStatus() throws {
        let dir = NSTemporaryDirectory() + "lpnd-exit-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // A pipeline file that does not load: configuration error, 78, naming the key.
        let missing = dir + "/missing.yaml"
        try "publish: ipc://\(dir)/o\npipelines:\n  - file: nope.yaml\n    ingest: {endpoint: ipc://\(dir)/i}\n"
            .write(toFile: missing, atomically: true, encoding: .utf8)
        let (configStatus, configLog) = try Self.run(["run", "--config", missing])
        #expect(configStatus == 78, "\(configLog)")
        #expect(configLog.contains(missing) && configLog.contains("'pipelines[0].file'"), "\(configLog)")
        #expect(!configLog.contains("Usage"), "\(configLog)")

        // A publish endpoint already bound by someone else: 69, naming the file and the key.
        let context = ZMQContext()
        let squatter = try ZMQSocket(context: context, kind: .pub)
        try squatter.bind("tcp://127.0.0.1:*")
        let taken = squatter.lastEndpoint
        let busy = dir + "/busy.yaml"
        try "publish: \(taken)\npipelines:\n  - file: \(DaemonProcessTests.pipelinePath)\n    ingest: {endpoint: ipc://\(dir)/i2}\n"
            .write(toFile: busy, atomically: true, encoding: .utf8)
        let (bindStatus, bindLog) = try Self.run(["run", "--config", busy])
        #expect(bindStatus == 69, "\(bindLog)")
        #expect(bindLog.contains(busy) && bindLog.contains("'publish'") && bindLog.contains(taken), "\(bindLog)")
        #expect(!bindLog.contains("Usage"), "\(bindLog)")
        // Before the sockets, the start-up line: `workers` left out is auto, a worker per core for a
        // pipeline that does not warm-start, and frame_threads auto shares the cores out over them.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(bindLog.contains("\(cores) cores: 1 pipeline(s), \(cores) worker(s), 1 thread(s) per frame (frame_threads: auto)"),
                "\(bindLog)")
        squatter.close(linger: 0)

        // frame_threads (here by its older name) neither auto nor 1…256: configuration error
        // naming the key and value.
        let threads = dir + "/threads.yaml"
        try "publish: ipc://\(dir)/o3\nblas_threads: many\npipelines:\n  - file: \(DaemonProcessTests.pipelinePath)\n    ingest: {endpoint: ipc://\(dir)/i3}\n"
            .write(toFile: threads, atomically: true, encoding: .utf8)
        let (threadsStatus, threadsLog) = try Self.run(["run", "--config", threads])
        #expect(threadsStatus == 78, "\(threadsLog)")
        #expect(threadsLog.contains("'blas_threads'") && threadsLog.contains("'many'"), "\(threadsLog)")
        context.terminate()
    }
}

/// `lpnd keygen`, a daemon with `curve:` in its configuration, and `lpnd send`/`lpnd listen`
/// with `--server-key`/`--key`: frames flow, and no key appears in the log.
@Suite(.serialized) struct DaemonCurveTests {
    @Test func keygenCurveConfigurationAndClientCommandsWorkTogether() throws {
        let dir = NSTemporaryDirectory() + "lpnd-curve-" + UUID().uuidString.prefix(8)
        for name in ["server", "clients/camera", "viewer"] {
            let (status, log) = try DaemonLimitsTests.run(["keygen", "\(dir)/keys/\(name)"])
            #expect(status == 0, "\(log)")
        }
        // The viewer's public key is allowed too: the clients directory holds both.
        try FileManager.default.copyItem(atPath: "\(dir)/keys/viewer.key", toPath: "\(dir)/keys/clients/viewer.key")
        let server = try CurveKeyPair.load(secretFile: "\(dir)/keys/server.key_secret")
        let viewer = try CurveKeyPair.load(secretFile: "\(dir)/keys/viewer.key_secret")
        let daemon = try DaemonProcessTests.startDaemon(
            extra: "curve: {secret_key: \(dir)/keys/server.key_secret, clients: \(dir)/keys/clients}",
            curve: (server.publicKey, viewer))
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: DaemonProcessTests.executable)
        listener.arguments = ["listen", "--endpoint", daemon.publish, "--count", "3", "--timeout", "60",
                              "--server-key", "\(dir)/keys/server.key", "--key", "\(dir)/keys/viewer.key_secret"]
        let listened = Pipe()
        listener.standardOutput = listened
        try listener.run()
        // The listener subscribes asynchronously: send until it has its three frames.
        var sends = 0
        while listener.isRunning && sends < 20 {
            let (status, log) = try DaemonLimitsTests.run(
                ["send", "--pipeline", DaemonProcessTests.pipelinePath, "--endpoint", daemon.ingest, "--count", "3",
                 "--server-key", "\(dir)/keys/server.key", "--key", "\(dir)/keys/clients/camera.key_secret"])
            #expect(status == 0, "\(log)")
            sends += 1
        }
        listener.waitUntilExit()
        let text = String(decoding: listened.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("received 3 frames"), "\(text)")
        let (status, log) = daemon.stop()
        #expect(status == 0)
        for key in [server.secretKey, server.publicKey, viewer.secretKey, viewer.publicKey] {
            #expect(!log.contains(key), "a key appears in the log")
        }
    }

    /// `lpnd keygen` keys: server and one listed client, in a fresh folder.
    static func keys() throws -> (dir: String, server: CurveKeyPair, client: CurveKeyPair) {
        let dir = NSTemporaryDirectory() + "lpnd-curve-" + UUID().uuidString.prefix(8)
        for name in ["server", "clients/scanner"] {
            let (status, log) = try DaemonLimitsTests.run(["keygen", "\(dir)/keys/\(name)"])
            #expect(status == 0, "\(log)")
        }
        return (dir, try CurveKeyPair.load(secretFile: "\(dir)/keys/server.key_secret"),
                try CurveKeyPair.load(secretFile: "\(dir)/keys/clients/scanner.key_secret"))
    }

    /// The documented recipe with the shipped `mri-4x` (131,072-byte measurement parts, above
    /// the 64 KiB header limit): `lpnd send --publish` reports both frames reconstructed.
    @Test func aListedClientsFullSizeFramesAreReconstructed() throws {
        let (dir, server, client) = try Self.keys()
        let daemon = try DaemonProcessTests.startDaemon(
            pipeline: DaemonStopTests.lpnPipeline,
            extra: "curve: {secret_key: \(dir)/keys/server.key_secret, clients: \(dir)/keys/clients}",
            curve: (server.publicKey, client))
        let send = Process()
        send.executableURL = URL(fileURLWithPath: DaemonProcessTests.executable)
        send.arguments = ["send", "--pipeline", DaemonStopTests.lpnPipeline, "--endpoint", daemon.ingest, "--count", "2",
                          "--publish", daemon.publish, "--server-key", "\(dir)/keys/server.key",
                          "--key", "\(dir)/keys/clients/scanner.key_secret"]
        let out = Pipe()
        send.standardOutput = out
        try send.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        send.waitUntilExit()
        #expect(send.terminationStatus == 0, "\(text)")
        #expect(text.contains("sent 2 frames") && text.contains("the daemon answered: 2 reconstructed"), "\(text)")
        let (status, log) = daemon.stop()
        #expect(status == 0)
        #expect(log.contains("frames 2, errors 0"), "\(log)")
    }

    /// Every shipped pipeline that takes measurement messages, served under CURVE: a listed
    /// client's message of full size (measurement and reference) is read and accepted.
    @Test func everyShippedPipelineAcceptsFullSizeMessagesUnderCurve() throws {
        let (dir, server, client) = try Self.keys()
        let shipped = URL(fileURLWithPath: DaemonProcessTests.root + "/../../pipelines").standardized.path
        let files = try FileManager.default.contentsOfDirectory(atPath: shipped).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { shipped + "/" + $0 }
        let pipelines = try files.map { try Pipeline.load(path: $0) }.filter { $0.input != .mrd }
        #expect(pipelines.count >= 9)
        let config = dir + "/lpnd.yaml"
        var text = "publish: ipc://\(dir)/out\ncontrol: ipc://\(dir)/ctl\ndrain_timeout: 0.5\nstats_interval: 0\nhttp: off\n"
        text += "curve: {secret_key: \(dir)/keys/server.key_secret, clients: \(dir)/keys/clients}\npipelines:\n"
        for (i, pipeline) in pipelines.enumerated() {
            text += "  - file: \(shipped)/\(pipeline.name).yaml\n    ingest: {endpoint: ipc://\(dir)/in\(i), socket: pull}\n"
        }
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcessTests.launch(config: config, ingest: "", publish: "ipc://\(dir)/out", control: "ipc://\(dir)/ctl",
                                                   curve: (server.publicKey, client), timeout: 120)
        var listeners: [TestPeer] = []
        for (i, pipeline) in pipelines.enumerated() {
            let peer = try TestPeer(ingest: "ipc://\(dir)/in\(i)", publish: daemon.publish) { socket in
                try socket.makeCurveClient(serverKey: server.publicKey, keys: client)
            }
            #expect(try peer.handshake(), "\(pipeline.name): no pong")
            let n = pipeline.imageShape.reduce(1, *)
            let m = try pipeline.simulate(image: Tensor(shape: pipeline.imageShape, data: [Float](repeating: 0.5, count: n)),
                                          noise: 0, seed: 1)
            let header = MeasurementHeader(stream: "full", seq: UInt64(i), timestamp: 0, pipeline: pipeline.name, shape: m.shape,
                                           dtype: m.type == .complex64 ? .complex64 : .float32)
            try peer.sender.send(try WireProtocol.measurementMessage(header, measurement: m.values,
                                                                     reference: [Float](repeating: 0.5, count: n)))
            listeners.append(peer)
        }
        // Each pipeline read its message (beyond the handshake's pings) and refused nothing.
        #expect(eventually(timeout: 30) {
            let stats = (try? DaemonProcessTests.stats(daemon))?.pipelines ?? []
            return stats.count == pipelines.count && stats.allSatisfy { $0.received - $0.pings == 1 }
        })
        let (status, log) = daemon.stop()
        #expect(status == 0, "\(log)")
        let outputs = try listeners[0].collect(pipelines.count * 2, timeout: 10)
        let refused = outputs.filter { $0.kind == "error" && $0.code != "drain_timeout" }
        #expect(refused.isEmpty, "\(refused.map { "\($0.event?.pipeline ?? "?"): \($0.code ?? "?") \($0.event?.message ?? "")" })")
        #expect(outputs.count >= pipelines.count, "every message ended as a frame or a drain_timeout event: \(outputs.map(\.topic))")
    }
}

/// `lpnd send --publish` says what the daemon did with every frame, and never counts as sent a
/// frame the daemon did not accept; `--stream` takes only ids the daemon accepts.
@Suite(.serialized) struct SendConfirmationTests {
    /// The fixture pipeline's name with another image size.
    static func impostor(size: Int) throws -> String {
        let text = try String(contentsOfFile: DaemonProcessTests.pipelinePath, encoding: .utf8)
            .replacingOccurrences(of: "shape: [32, 32]", with: "shape: [\(size), \(size)]")
        let path = NSTemporaryDirectory() + "lpnd-impostor-\(size)-\(UUID().uuidString.prefix(8)).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `lpnd send` with these arguments: its status and its output (stdout and stderr).
    static func send(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try MRDProcessTests.run(DaemonProcessTests.executable, ["send"] + arguments)
    }

    @Test func refusedAndLostFramesMakeSendFail() throws {
        let daemon = try DaemonProcessTests.startDaemon()
        // 48×48: parts within the read limit, refused by shape (error events).
        let refused = try Self.send(["--pipeline", try Self.impostor(size: 48), "--endpoint", daemon.ingest, "--count", "3",
                                     "--publish", daemon.publish, "--timeout", "10"])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.output.contains("0 reconstructed, 3 refused (3 shape_mismatch)"), "\(refused.output)")
        // 256×256: every measurement part is over the read limit; the daemon closes the
        // connection unread each time, and the frames are reported as never accepted.
        let lost = try Self.send(["--pipeline", try Self.impostor(size: 256), "--endpoint", daemon.ingest, "--count", "3",
                                  "--publish", daemon.publish, "--timeout", "3"])
        #expect(lost.status == 1, "\(lost.output)")
        #expect(lost.output.contains("3 not accepted (seq 0-2)") && lost.output.contains("never accepted"), "\(lost.output)")
        // The real pipeline: all reconstructed, exit 0.
        let good = try Self.send(["--pipeline", DaemonProcessTests.pipelinePath, "--endpoint", daemon.ingest, "--count", "3",
                                  "--publish", daemon.publish])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("the daemon answered: 3 reconstructed"), "\(good.output)")
        let (status, _) = daemon.stop()
        #expect(status == 0)
    }

    @Test(arguments: ["a\"b", "a\\b", "new\nline", "ok\",\"x\":\""])
    func streamIDsTheDaemonWouldRefuseAreRefusedByName(id: String) throws {
        let (status, output) = try Self.send(["--pipeline", DaemonProcessTests.pipelinePath, "--endpoint", "ipc:///nonexistent",
                                              "--stream", id])
        #expect(status == 64, "\(output)")
        #expect(output.contains("--stream") && output.contains("stream id is 1–64 characters"), "\(output)")
    }
}
