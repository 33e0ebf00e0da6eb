import Foundation
import Reconstruction
import Streaming
import StreamingTestSupport
import TensorIO
import Testing

/// `check.choose` through the running daemon: a stream whose images change domain mid-stream
/// (soft phantoms, the phantom model's own kind, then hard-edged piecewise-constant ones)
/// switches from the learned prior to TV at its next check, and the frame headers, the stats
/// and /metrics say so.
@Suite struct PriorChoiceDaemonTests {
    static let pipeline = DaemonProcessTests.root + "/Fixtures/lpn-mri-choose.yaml"

    @Test func aStreamThatChangesDomainSwitchesPriorWithinOneCheckPeriod() throws {
        let p = try Pipeline.load(path: Self.pipeline)
        let soft = try NPY.read(path: DaemonProcessTests.root + "/Fixtures/phantom-soft64.npy")
        let hard = try NPY.read(path: DaemonProcessTests.root + "/Fixtures/phantom-hard64.npy")
        let port = DaemonServiceTests.freePort()
        let daemon = try DaemonProcessTests.startDaemon(pipeline: Self.pipeline, http: "127.0.0.1:\(port)")
        // `lpnd listen` prints the verdict in words (started first: it subscribes while the
        // handshake runs, well before the switch at frame 3 is published).
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: DaemonProcessTests.executable)
        listener.arguments = ["listen", "--endpoint", daemon.publish, "--count", "5", "--timeout", "120"]
        let listened = Pipe()
        listener.standardOutput = listened
        try listener.run()
        let peer = try TestPeer(ingest: daemon.ingest, publish: daemon.publish)
        #expect(try peer.handshake())
        // Frames 0–2 soft, 3–8 hard; the stream is checked at 0, 3 and 6.
        for seq in 0..<9 {
            let image = seq < 3 ? soft : hard
            let m = try p.simulate(image: image, noise: 0.01, seed: UInt64(seq))
            let header = MeasurementHeader(stream: "scanner", seq: UInt64(seq), timestamp: 0, pipeline: p.name, shape: m.shape,
                                           dtype: .complex64, reference: true)
            try peer.sender.send(try WireProtocol.measurementMessage(header, measurement: m.values, reference: image.data))
        }
        let frames = try peer.collect(18, timeout: 120).filter { $0.kind == "frame" }
        #expect(frames.map(\.seq) == (0..<9).map { Optional(UInt64($0)) })
        let choices = frames.map { $0.header?.choice }
        let priors = choices.map { $0?.prior ?? "?" }
        #expect(priors == ["lpn", "lpn", "lpn", "tv", "tv", "tv", "tv", "tv", "tv"], "\(choices)")
        #expect(choices.map { $0?.checked ?? false } == [true, false, false, true, false, false, true, false, false])
        #expect(choices.map { $0?.switched ?? false } == [false, false, false, true, false, false, false, false, false])
        // The switching frame carries both errors; the published prior is the better one, so no flag.
        let check = try #require(frames[3].header?.check)
        #expect(check.differenceDB > 0.3, "\(check)")
        let flags = frames[3].header?.flags ?? []
        #expect(!flags.contains("worse_than_reference"), "\(flags)")
        let stats = try #require(try DaemonProcessTests.stats(daemon))
        let entry = try #require(stats.pipelines.first)
        #expect(entry.priorChoices == ["lpn": 3, "tv": 6], "\(entry)")
        #expect(entry.priorSwitches == 1)
        let metrics = try #require(DaemonServiceTests.get(port, "metrics")).body
        #expect(DaemonServiceTests.sample(metrics, "lpnd_prior_choices_total{pipeline=\"lpn-mri-choose\",prior=\"tv\"}") == 6, "\(metrics)")
        #expect(DaemonServiceTests.sample(metrics, "lpnd_prior_switches_total{pipeline=\"lpn-mri-choose\"}") == 1)
        listener.waitUntilExit()
        let text = String(decoding: listened.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("check: TV predicts unseen data") && text.contains("made by TV (switched here)"), "\(text)")
        let (status, log) = daemon.stop()
        #expect(status == 0, "exit status \(status); log: \(log)")
    }
}
