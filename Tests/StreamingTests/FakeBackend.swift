import Foundation
import Logging
import Streaming
import StreamingTestSupport

/// A pipeline whose "reconstruction" doubles the measurement; it can be held at a gate (to
/// make it slow without sleeping) and made to fail for chosen sequence numbers. Odd sequence
/// numbers come out flagged `outside_prior` with prior statistics, even ones unflagged.
final class FakeBackend: PipelineBackend, @unchecked Sendable {
    let interface: PipelineInterface
    let gate = Gate()
    let failing: Set<UInt64>
    /// Called as each frame starts processing (seq).
    let started = Counter()

    init(name: String = "fake", shape: [Int] = [4, 4], failing: Set<UInt64> = [], gated: Bool = false) {
        interface = PipelineInterface(name: name, measurementShape: shape, measurementDType: .float32, imageShape: shape)
        self.failing = failing
        if !gated { gate.open() }
    }

    func makeProcessor() throws -> any FrameProcessor { FakeProcessor(backend: self) }
}

final class FakeProcessor: FrameProcessor {
    let backend: FakeBackend
    init(backend: FakeBackend) { self.backend = backend }

    /// Cooperative cancellation: a frame held at the gate goes on (and is discarded by the daemon).
    func cancel() { backend.gate.open() }

    func process(_ frame: InboundFrame) throws -> ProcessedFrame {
        backend.started.increment()
        backend.gate.pass()
        if backend.failing.contains(frame.header.seq) {
            throw FrameFailure(.diverged, "fake divergence at seq \(frame.header.seq)")
        }
        let summary = ConvergenceSummary(iterations: 3, converged: true, stopReason: "tolerance",
                                         finalRelativeChange: 1e-6, finalResidual: 0.01)
        let odd = frame.header.seq % 2 == 1
        return ProcessedFrame(image: frame.measurement.map { 2 * $0 }, imageShape: backend.interface.imageShape, convergence: summary,
                              diagnosticsJSON: Array("{\"iterations\":3}".utf8), flags: odd ? ["outside_prior"] : [],
                              prior: PriorSummary(phi: odd ? 0.5 : -0.1, displacement: 0.02, phiRange: [-0.2, -0.05],
                                                  displacementRange: [0.01, 0.03]),
                              check: frame.header.seq % 4 == 0
                                  ? CheckSummary(folds: 4, differenceDB: -1.5, marginDB: 0, priorError: 1e-4, referenceError: 1.4e-4) : nil)
    }
}

func makeDaemon(_ backends: [(any PipelineBackend, PipelineRuntimeConfiguration)], drainTimeout: Double = 20) throws -> Daemon {
    return try Daemon(settings: Daemon.Settings(publishEndpoint: "tcp://127.0.0.1:*", controlEndpoint: "tcp://127.0.0.1:*",
                                                drainTimeout: drainTimeout, logger: .quiet),
                      pipelines: backends.map { Daemon.PipelineSpec(backend: $0.0, configuration: $0.1) })
}

func ingestConfig(_ socket: PipelineRuntimeConfiguration.SocketKind = .pull, inbox: Int = 4, reconstructInbox: Int = 4,
                  workers: Int = 1, policy: BoundedStage<RawMessage>.DropPolicy = .dropOldest) -> PipelineRuntimeConfiguration {
    PipelineRuntimeConfiguration(endpoint: "tcp://127.0.0.1:*", socket: socket, dropPolicy: policy, receiveHighWaterMark: 1,
                                 inbox: inbox, reconstructInbox: reconstructInbox, workers: workers, publishPNG: true)
}
