import ArgumentParser
import Foundation
import Prometheus
import ServiceLifecycle
import LPN
import Reconstruction
import Streaming
import Support

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
