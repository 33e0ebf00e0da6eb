import ArgumentParser
import Foundation
import Prometheus
import ServiceLifecycle
import LPN
import Reconstruction
import Streaming
import Support

struct ListenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Subscribe to reconstructed frames, diagnostics and errors; write PNGs and JSON.")

    @Option(help: "The daemon's PUB endpoint.") var endpoint: String = "tcp://127.0.0.1:5556"
    @Option(help: "Only this stream.") var stream: String?
    @Option(help: "Write <stream>-<seq>.png and .json here.") var output: String?
    @Option(help: "Stop after this many frames + errors.") var count: Int?
    @Option(help: "Append the MRD image messages (pipelines with mrd_images: true) to this ISMRMRD HDF5 file (group dataset, images).") var mrd: String?
    @Option(help: "Stop after this many seconds without a message.") var timeout: Double = 30
    @OptionGroup var curve: CurveOptions

    func run() throws {
        var listener = FrameListener(endpoint: endpoint, stream: stream, outputDirectory: output, count: count, idleTimeout: timeout,
                                     curve: try curve.load())
        listener.mrdFile = try mrd.map { try MRDImageFile(path: $0) }
        let report = try listener.run()
        printSummary(report)
        if let file = listener.mrdFile { print("wrote \(file.count) MRD image(s) to \(file.path)") }
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
