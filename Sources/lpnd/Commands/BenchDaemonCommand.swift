import ArgumentParser
import Foundation
import Support
import LPN
import Reconstruction
import Streaming
import TensorIO

/// `lpnd bench daemon`: the daemon against offline reconstruction on the same frames, and the
/// daemon's ingest path against raw ZeroMQ, each pair measured in the same run.
struct BenchDaemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Daemon throughput and latency vs offline reconstruction; ingest rate vs raw ZeroMQ.")

    @Option(help: "Pipeline file.") var pipeline: String = "pipelines/mri-4x.yaml"
    @Option(help: "Frames for the throughput comparison.") var frames: Int = 20
    @Option(help: "Tiny messages for the ingest comparison.") var messages: Int = 50_000
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        openBLASSetThreads(1)
        let loaded = try Pipeline.load(path: pipeline)
        let simulator = AcquisitionSimulator(pipeline: loaded, endpoint: "", count: frames, attachReference: false, seed: 11)
        let images = try simulator.images()
        let measurements = try images.enumerated().map { i, image in
            try loaded.simulate(image: image, noise: Float(loaded.simulationNoise), seed: 500 + UInt64(i))
        }

        // Offline: the same Reconstructor code on the same frames, one after another.
        let reconstructor = try loaded.makeReconstructor()
        _ = try reconstructor.reconstruct(measurements[0], reference: nil)  // warm-up (plans, buffers)
        let offlineStart = MonotonicClock.seconds()
        for i in 0..<frames { _ = try reconstructor.reconstruct(measurements[i % measurements.count], reference: nil) }
        let offlineSeconds = (MonotonicClock.seconds() - offlineStart)

        // Daemon: one worker, frames pushed as fast as accepted (throughput; latency then
        // includes queueing), then paced at 80% of the offline rate (latency without a queue).
        let daemonRun = try measureDaemon(loaded, measurements, rate: nil)
        let pacedRun = try measureDaemon(loaded, measurements, rate: 0.8 * Double(frames) / offlineSeconds)

        // Ingest: tiny messages through the daemon (decode → null processor → publish) vs a raw
        // PUSH → PULL loop, same message, same process.
        let rawRate = try rawZeroMQRate()
        let daemonRate = try daemonIngestRate()

        let result: [String: Double] = [
            "offline_frames_per_s": Double(frames) / offlineSeconds,
            "daemon_frames_per_s": daemonRun.framesPerSecond,
            "daemon_vs_offline": daemonRun.framesPerSecond / (Double(frames) / offlineSeconds),
            "saturated_latency_p50_ms": daemonRun.p50, "saturated_latency_p99_ms": daemonRun.p99,
            "paced_latency_p50_ms": pacedRun.p50, "paced_latency_p99_ms": pacedRun.p99,
            "raw_zeromq_messages_per_s": rawRate, "daemon_ingest_messages_per_s": daemonRate,
            "ingest_vs_raw": daemonRate / rawRate,
        ]
        if json {
            print(String(decoding: try JSONWriter.encode(result), as: UTF8.self))
        } else {
            print(String(format: "pipeline %@, %d frames, 1 worker, 1 BLAS thread", loaded.name, frames))
            print(String(format: "  offline reconstruct: %.2f frames/s", result["offline_frames_per_s"]!))
            print(String(format: "  daemon end to end:   %.2f frames/s (%.1f%% of offline); latency p50 %.1f ms, p99 %.1f ms (saturated)",
                         daemonRun.framesPerSecond, 100 * result["daemon_vs_offline"]!, daemonRun.p50, daemonRun.p99))
            print(String(format: "  daemon paced at 80%% of offline rate: latency p50 %.1f ms, p99 %.1f ms", pacedRun.p50, pacedRun.p99))
            print(String(format: "  tiny messages: raw ZeroMQ PUSH→PULL %.0f msg/s, daemon ingest→publish %.0f msg/s (%.1f%%)",
                         rawRate, daemonRate, 100 * daemonRate / rawRate))
        }
    }

    struct DaemonRun { var framesPerSecond: Double; var p50: Double; var p99: Double }

    private func measureDaemon(_ pipeline: Pipeline, _ measurements: [Reconstruction.Measurement], rate: Double?) throws -> DaemonRun {
        let daemon = try Daemon(
            settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", logger: .errorsOnly),
            pipelines: [Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: pipeline),
                                            configuration: PipelineRuntimeConfiguration(endpoint: "tcp://127.0.0.1:*", publishPNG: false))])
        defer { daemon.shutdown() }
        guard let runtime = daemon.pipelines.first else { throw ValidationErrorText("pipeline did not start") }
        let context = ZMQContext()
        let push = try ZMQSocket(context: context, kind: .push)
        try push.connect(runtime.endpoint)
        let sub = try ZMQSocket(context: context, kind: .sub)
        try sub.subscribe("frame/")
        try sub.subscribe("error/")
        try sub.connect(daemon.publisher.endpoint)
        try handshake(push, sub)
        let batch: [[[UInt8]]] = try (0...frames).map { i in
            let m = measurements[i % measurements.count]
            let header = MeasurementHeader(stream: "bench", seq: UInt64(i), timestamp: Date().timeIntervalSince1970,
                                           pipeline: pipeline.name, shape: m.shape,
                                           dtype: m.type == .complex64 ? .complex64 : .float32)
            return try WireProtocol.measurementMessage(header, measurement: m.values)
        }
        try push.send(batch[0])  // warm-up frame
        _ = try sub.receive()
        let start = MonotonicClock.seconds()
        try Self.sendInBackground(context: context, endpoint: runtime.endpoint, Array(batch[1...]), rate: rate)
        var latencies: [Double] = []
        while latencies.count < frames {
            guard let parts = try sub.receive() else { continue }
            switch try OutboundDecoder.decode(parts) {
            case .frame(let header, _, _): latencies.append(header.timings.totalMs)
            case .error(let event): throw ValidationErrorText("error event during the benchmark: \(event.code.rawValue): \(event.message)")
            default: continue
            }
        }
        let seconds = (MonotonicClock.seconds() - start)
        push.close(linger: 0)
        sub.close(linger: 0)
        latencies.sort()
        return DaemonRun(framesPerSecond: Double(frames) / seconds, p50: latencies[latencies.count / 2],
                         p99: latencies[min(latencies.count - 1, Int(0.99 * Double(latencies.count)))])
    }

    /// Sends `messages` from a thread that owns its own PUSH socket (sockets stay on one thread).
    private static func sendInBackground(context: ZMQContext, endpoint: String, _ messages: [[[UInt8]]],
                                         rate: Double? = nil) throws {
        _ = try SocketThread.start(name: "lpnd.bench.sender", setup: {
            let push = try ZMQSocket(context: context, kind: .push)
            try push.connect(endpoint)
            return push
        }, run: { push in
            let start = MonotonicClock.seconds()
            for (i, parts) in messages.enumerated() {
                if let rate {
                    let wait = start + Double(i) / rate - MonotonicClock.seconds()
                    if wait > 0 { usleep(useconds_t(wait * 1e6)) }  // pacing, not synchronisation
                }
                _ = try? push.send(parts)
            }
            push.close(linger: 5000)
        })
    }

    /// Pings until the listener sees a pong (PUB/SUB slow-joiner guard, PROTOCOL.md §7).
    private func handshake(_ push: ZMQSocket, _ sub: ZMQSocket) throws {
        try sub.subscribe("pong/probe/")
        let deadline = MonotonicClock.seconds() + 10
        while MonotonicClock.seconds() < deadline {
            try push.send(WireProtocol.pingMessage())
            if try sub.poll(timeoutMs: 20) {
                _ = try sub.receive()
                return
            }
        }
        throw ValidationErrorText("no subscription after 10 s")
    }

    private static let tinyHeader = MeasurementHeader(stream: "tiny", seq: 0, timestamp: 0, pipeline: "null",
                                                      shape: [1], dtype: .float32)

    private func rawZeroMQRate() throws -> Double {
        let context = ZMQContext()
        let pull = try ZMQSocket(context: context, kind: .pull)
        try pull.bind("tcp://127.0.0.1:*")
        let parts = try WireProtocol.measurementMessage(Self.tinyHeader, measurement: [0])
        let count = messages
        let start = MonotonicClock.seconds()
        try Self.sendInBackground(context: context, endpoint: pull.lastEndpoint, Array(repeating: parts, count: count))
        for _ in 0..<count { _ = try pull.receive() }
        let rate = Double(count) / (MonotonicClock.seconds() - start)
        pull.close(linger: 0)
        return rate
    }

    private func daemonIngestRate() throws -> Double {
        let daemon = try Daemon(
            settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", logger: .errorsOnly),
            pipelines: [Daemon.PipelineSpec(backend: NullBackend(),
                                            configuration: PipelineRuntimeConfiguration(
                                                endpoint: "tcp://127.0.0.1:*", receiveHighWaterMark: 1000, inbox: 256,
                                                reconstructInbox: 256, publishPNG: false))])
        defer { daemon.shutdown() }
        let runtime = daemon.pipelines[0]
        let context = ZMQContext()
        let push = try ZMQSocket(context: context, kind: .push)
        try push.connect(runtime.endpoint)
        let sub = try ZMQSocket(context: context, kind: .sub)
        try sub.subscribe("frame/")
        try sub.connect(daemon.publisher.endpoint)
        try handshake(push, sub)
        let parts = try WireProtocol.measurementMessage(Self.tinyHeader, measurement: [0])
        let count = messages
        let start = MonotonicClock.seconds()
        try Self.sendInBackground(context: context, endpoint: runtime.endpoint, Array(repeating: parts, count: count))
        var received = 0
        while received < count { if try sub.receive() != nil { received += 1 } }
        let rate = Double(count) / (MonotonicClock.seconds() - start)
        push.close(linger: 0)
        sub.close(linger: 0)
        return rate
    }
}
