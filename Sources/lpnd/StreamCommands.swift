import ArgumentParser
import Foundation
import Prometheus
import ServiceLifecycle
import LPN
import Reconstruction
import Streaming

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Acquisition simulator: images → measurements through the pipeline's operator → the daemon.")

    @Option(help: "Pipeline file (its operator makes the measurements).") var pipeline: String
    @Option(help: "The daemon's ingest endpoint.") var endpoint: String = "tcp://127.0.0.1:5555"
    @Flag(help: "Bind instead of connecting.") var bind = false
    @Flag(help: "Use PUB (for a daemon ingesting with SUB) instead of PUSH.") var pub = false
    @Option(help: "Folder of .png/.npy images of the pipeline's image size (default: generated phantoms).") var images: String?
    @Option(help: "Frames to send.") var count: Int = 10
    @Option(help: "Frames per second (default: as fast as the daemon accepts).") var rate: Double?
    @Flag(inversion: .prefixedNo, help: "Attach the ground-truth image as a reference part (for PSNR).") var reference = true
    @Option(help: "Stream id.") var stream: String = "s0"
    @Option(help: "Measurement noise σ (default: the pipeline's simulation noise).") var noise: Float?
    @Option(help: "Seed of phantoms and noise.") var seed: UInt64 = 1
    @Option(help: "Stream this MRD/ISMRMRD HDF5 file line by line instead (the pipeline needs input: mrd).") var mrd: String?
    @Option(help: "The MRD file's group.") var dataset: String = "dataset"
    @Option(help: "The daemon's PUB endpoint: wait for its answer to every frame (a frame or an error event; with --mrd, a ping's pong) and fail when any frame was refused or never accepted.") var publish: String?
    @Option(help: "With --publish: seconds without any answer after which the unanswered frames count as not accepted.") var timeout: Double = 120
    @Flag(help: "A dynamic sequence: the first image (phantom or --images) moves and deforms a little from frame to frame (docs/BENCHMARKS.md, 'Real-time streams').") var dynamic = false
    @Option(help: "With --dynamic, single-coil MRI: fixed (the pipeline's mask), interleaved or golden (golden-ratio lines): the frame's rows travel in its header's 'lines'.") var sampling: String = "fixed"
    @OptionGroup var curve: CurveOptions

    func validate() throws {
        guard DynamicSequence.Sampling(rawValue: sampling) != nil else {
            throw ValidationError("--sampling '\(sampling)': expected one of \(DynamicSequence.Sampling.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if sampling != "fixed" && !dynamic { throw ValidationError("--sampling \(sampling) needs --dynamic") }
        guard WireProtocol.isValidStreamID(stream) else {
            throw ValidationError("--stream \(escapingControlCharacters(stream.debugDescription, limit: 80)): a stream id is 1–64 characters of A–Z, a–z, 0–9, '_', '.' and '-', not starting with '_' (docs/PROTOCOL.md §1); the daemon would refuse every message")
        }
    }

    func run() throws {
        if let mrd {
            let loaded = try Pipeline.load(path: pipeline)
            guard loaded.input == .mrd else {
                throw ValidationErrorText("--mrd: pipeline '\(loaded.name)' (\(pipeline)) does not take MRD input (add input: mrd)")
            }
            let sender = MRDFileSender(path: mrd, group: dataset, pipeline: loaded.name, stream: stream, endpoint: endpoint,
                                       bind: bind, pubSocket: pub, curve: try curve.load(), publish: publish)
            let report = try sender.run()
            print(String(format: "sent %d MRD acquisitions (+ header, close) in %.2f s, %.2f MB/s", report.acquisitions,
                         report.seconds, Double(report.bytes) / max(report.seconds, 1e-9) / 1e6))
            return
        }
        let simulator = AcquisitionSimulator(
            pipeline: try Pipeline.load(path: pipeline), endpoint: endpoint, bind: bind, publish: pub, stream: stream,
            count: count, rate: rate, attachReference: reference, noise: noise, seed: seed, imageDirectory: images,
            curve: try curve.load(), confirm: publish, answerTimeout: timeout,
            dynamic: dynamic ? DynamicSequence.Sampling(rawValue: sampling)! : nil)
        let report = try simulator.run()
        var line = String(format: "sent %d frames in %.2f s: %.1f frames/s, %.2f MB/s", report.sent, report.seconds,
                          report.framesPerSecond, Double(report.bytes) / report.seconds / 1e6)
        if let answers = report.answers {
            line += "; the daemon answered: \(answers.summary)"
            if !answers.performance.isEmpty { line += "\n" + answers.performance }
        }
        print(line)
        if let answers = report.answers, !answers.missing.isEmpty || !answers.errors.isEmpty {
            if !answers.missing.isEmpty {
                FileHandle.standardError.write(Data("lpnd send: \(answers.missing.count) of \(report.sent) frames were never accepted by the daemon (no frame or error event within \(Int(timeout)) s of the last answer): seq \(DeliveryCheck.Answers.ranges(answers.missing))\n".utf8))
            }
            throw ExitCode.failure
        }
    }
}

struct ListenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Subscribe to reconstructed frames, diagnostics and errors; write PNGs and JSON.")

    @Option(help: "The daemon's PUB endpoint.") var endpoint: String = "tcp://127.0.0.1:5556"
    @Option(help: "Only this stream.") var stream: String?
    @Option(help: "Write <stream>-<seq>.png and .json here.") var output: String?
    @Option(help: "Stop after this many frames + errors.") var count: Int?
    @Option(help: "Stop after this many seconds without a message.") var timeout: Double = 30
    @OptionGroup var curve: CurveOptions

    func run() throws {
        let listener = FrameListener(endpoint: endpoint, stream: stream, outputDirectory: output, count: count, idleTimeout: timeout,
                                     curve: try curve.load())
        let report = try listener.run()
        printSummary(report)
    }
}

func printSummary(_ report: FrameListener.Report) {
    let latencies = report.frames.map(\.latencyMs).sorted()
    let psnrs = report.frames.compactMap(\.psnr)
    var line = "received \(report.frames.count) frames, \(report.diagnostics) diagnostics, \(report.errors.count) errors"
    if let rate = report.framesPerSecond { line += String(format: "; %.2f frames/s", rate) }
    if let p50 = percentile(ofSorted: latencies, 50), let p99 = percentile(ofSorted: latencies, 99) {
        line += String(format: "; latency p50 %.1f ms, p99 %.1f ms", p50, p99)
    }
    if !psnrs.isEmpty { line += String(format: "; mean PSNR %.2f dB", psnrs.reduce(0, +) / Double(psnrs.count)) }
    print(line)
}

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Daemon + acquisition simulator + listener on loopback, with a shipped model.",
        discussion: "Writes the reconstructed PNGs and per-frame diagnostics JSON to --output.")

    @Option(help: "Pipeline file.") var pipeline: String = "pipelines/mri-4x-stream.yaml"
    @Option(help: "Frames to stream.") var frames: Int = 40
    @Option(help: "Reconstruction workers (default as lpnd run's workers: auto).") var workers: Int?
    @Option(help: "Output folder.") var output: String = "demo-out"
    @Option(help: "The live view's address (host:port, port 0: any free port), or off.") var http: String = "127.0.0.1:9464"

    func run() async throws {
        let loaded = try Pipeline.load(path: pipeline)
        // As lpnd run's `workers: auto`: one worker with every core for a warm-starting pipeline.
        let workers = self.workers ?? (loaded.solver.warmStart ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount))
        let frameThreads = FrameThreads.take(FrameThreads.automatic(workers: workers))
        let observer = LockedValue<LiveView?>(nil)
        let daemon = try Daemon(
            settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", drainTimeout: 60, logger: .errorsOnly,
                                      frameObserver: { observer.get()?.observe($0) }),
            pipelines: [Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: loaded, threads: frameThreads),
                                            configuration: PipelineRuntimeConfiguration(endpoint: "tcp://127.0.0.1:*", workers: workers))])
        let runtime = daemon.pipelines[0]
        print("lpnd demo: pipeline '\(loaded.name)' (\(pipeline)), ingest \(runtime.endpoint), publish \(daemon.publisher.endpoint)")
        let liveView = try await startLiveView(daemon: daemon, observer: observer)
        let context = ZMQContext()
        let seen = LockedValue(false)
        let listener = FrameListener(endpoint: daemon.publisher.endpoint, stream: nil, outputDirectory: output, count: frames,
                                     idleTimeout: 120, probeStream: "probe", probeSeen: seen)
        let result = LockedValue<Result<FrameListener.Report, Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            result.set(Result { try listener.run(context: context) })
            done.signal()
        }.start()
        // Handshake (PROTOCOL.md §7): pings until a pong reaches the listener, so no frame is
        // published before the subscription is in place.
        let probe = try ZMQSocket(context: context, kind: .push)
        try probe.connect(runtime.endpoint)
        let deadline = Date(timeIntervalSinceNow: 10)
        while !seen.get() && Date() < deadline {
            try probe.send(WireProtocol.pingMessage())
            usleep(20_000)  // probe interval; the listener's flag decides
        }
        probe.close(linger: 0)
        // A pipeline that warm-starts across a stream gets a dynamic sequence (per-frame lines
        // for single-coil MRI), as the streams it is made for.
        var simulator = AcquisitionSimulator(pipeline: loaded, endpoint: runtime.endpoint, count: frames, seed: 7)
        if loaded.solver.warmStart {
            if case .mri = loaded.operatorSpec { simulator.dynamic = .interleaved } else { simulator.dynamic = .fixed }
        }
        let sent = try simulator.run(context: context)
        print(String(format: "sent %d frames (%.1f frames/s accepted)", sent.sent, sent.framesPerSecond))
        await onOwnThread { done.wait() }
        daemon.shutdown()
        if let (group, task) = liveView {
            await group.triggerGracefulShutdown()
            await task.value
        }
        let report = try result.get()!.get()
        printSummary(report)
        print("wrote \(output)/s0-*.png and s0-*.json")
        if report.frames.count != frames { throw ExitCode.failure }
    }

    /// The live view (page and events) on `--http`; prints its URL once it listens. A port in
    /// use is reported and the demo goes on without it.
    private func startLiveView(daemon: Daemon, observer: LockedValue<LiveView?>) async throws -> (ServiceGroup, Task<Void, Never>)? {
        guard http != "off" else { return nil }
        guard let (host, port) = DaemonConfigFile.hostPort(http) else {
            throw ValidationError("--http '\(http)' is not host:port or off")
        }
        let live = LiveView(daemon: daemon)
        observer.set(live)
        let listening = AsyncStream<Int>.makeStream()
        let app = HTTPEndpoint.application(daemon: daemon, registry: PrometheusCollectorRegistry(), live: live, host: host,
                                           port: port, stallTimeout: 3600, logger: .errorsOnly) { port in
            listening.continuation.yield(port)
        }
        // Stopped in reverse order: the live view ends the pages' streams, then the server stops.
        let group = ServiceGroup(configuration: .bounded(services: [.init(service: app), .init(service: live)],
                                                         drainTimeout: 0, logger: .errorsOnly))
        let task = Task {
            do { try await group.run() } catch { print("live view not available on \(http): \(error)") }
            listening.continuation.finish()
        }
        for await bound in listening.stream {
            print("live view: http://\(host):\(bound)/  (open it in a browser while frames stream)")
            break
        }
        return (group, task)
    }
}
