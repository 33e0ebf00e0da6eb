import Foundation
import Streaming
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
        let pipeline = (stats["pipelines"] as? [[String: Any]])?.first
        #expect(pipeline?["errors"] as? Int == 0, "the oversized messages were never accepted")
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
        // Before the sockets, the start-up line: frame_threads auto shares the cores out over the workers.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(bindLog.contains("\(cores) cores: 1 pipeline(s), 1 worker(s), \(cores) thread(s) per frame (frame_threads: auto)"),
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
}
