import ArgumentParser
import Foundation
import Prometheus
import ServiceLifecycle
import LPN
import Reconstruction
import Streaming
import Support

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
        let observer = Locked<LiveView?>(nil)
        let daemon = try Daemon(
            settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", drainTimeout: 60, logger: .errorsOnly,
                                      frameObserver: { observer.get()?.observe($0) }),
            pipelines: [Daemon.PipelineSpec(backend: ReconstructionBackend(pipeline: loaded, threads: frameThreads),
                                            configuration: PipelineRuntimeConfiguration(endpoint: "tcp://127.0.0.1:*", workers: workers))])
        let runtime = daemon.pipelines[0]
        print("lpnd demo: pipeline '\(loaded.name)' (\(pipeline)), ingest \(runtime.endpoint), publish \(daemon.publisher.endpoint)")
        let liveView = try await startLiveView(daemon: daemon, observer: observer)
        let context = ZMQContext()
        let seen = Locked(false)
        let listener = FrameListener(endpoint: daemon.publisher.endpoint, stream: nil, outputDirectory: output, count: frames,
                                     idleTimeout: 120, probeStream: "probe", probeSeen: seen)
        let result = Locked<Result<FrameListener.Report, Error>?>(nil)
        let done = Completion()
        Thread {
            result.set(Result { try listener.run(context: context) })
            done.finish()
        }.start()
        // Handshake (PROTOCOL.md §7): pings until a pong reaches the listener, so no frame is
        // published before the subscription is in place.
        let probe = try ZMQSocket(context: context, kind: .push)
        try probe.connect(runtime.endpoint)
        let deadline = MonotonicClock.seconds() + 10
        while !seen.get() && MonotonicClock.seconds() < deadline {
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
        _ = await onOwnThread { done.wait(timeout: nil) }  // the listener ends by itself: all frames, or 120 s without one
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
    private func startLiveView(daemon: Daemon, observer: Locked<LiveView?>) async throws -> (ServiceGroup, Task<Void, Never>)? {
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
