import ArgumentParser
import Foundation
import LPN
import Reconstruction
import Streaming
import TensorIO
import Support

/// `lpnd bench stream`: one stream of a dynamic sequence reconstructed frame after frame, as a
/// worker of the daemon does (its stream's warm start included), with each frame's time,
/// iterations and PSNR. `benchmarks/realtime.py` runs it over the settings it compares.
struct BenchStream: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Reconstruct a dynamic sequence frame by frame (one stream); per-frame time, iterations and PSNR.")

    @Option(help: "Pipeline file.") var pipeline: String = "pipelines/mri-4x-stream.yaml"
    @Option(help: "Frames of the sequence.") var frames: Int = 40
    @Option(help: "Sampling of the sequence: fixed, interleaved or golden.") var sampling: String = "interleaved"
    @Option(help: "Folder whose first .npy/.png image (the pipeline's size) is the sequence's base (default: a generated phantom).") var images: String?
    @Option(help: "A scene cut every this many frames (another phantom or the next image): the warm start's safeguard must fall back.") var sceneCut: Int?
    @Option(help: "Seed of the phantom and the noise.") var seed: UInt64 = 1
    @Option(help: "Threads of the frame.") var threads: Int = 1
    @Option(help: "Frames skipped before timing (plans, buffers).") var warmup: Int = 1
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @Flag(help: "Also print every warm start's residuals.") var verbose = false

    func run() throws {
        openBLASSetThreads(1)
        guard let mode = DynamicSequence.Sampling(rawValue: sampling) else {
            throw ValidationError("--sampling '\(sampling)': expected fixed, interleaved or golden")
        }
        let loaded = try Pipeline.load(path: pipeline)
        var simulator = AcquisitionSimulator(pipeline: loaded, endpoint: "", count: frames, seed: seed)
        simulator.dynamic = mode
        simulator.imageDirectory = images
        simulator.sceneCut = sceneCut
        try run(loaded, simulator.frames())
    }

    private func run(_ loaded: Pipeline, _ frame: (Int) throws -> (Reconstruction.Measurement, Tensor)) throws {
        let reconstructor = try loaded.makeReconstructor(threads: threads)
        var seconds: [Double] = [], psnrs: [Double] = [], iterations: [Int] = [], warm = 0
        var ratios: [String] = []
        var stages: [String: Double] = [:]
        for i in 0..<frames {
            let (measurement, image) = try frame(i)
            let start = MonotonicClock.seconds()
            let result = try reconstructor.reconstruct(measurement, reference: image, stream: "bench", seq: UInt64(i))
            let elapsed = MonotonicClock.seconds() - start
            guard i >= warmup else { continue }
            seconds.append(elapsed)
            psnrs.append(result.diagnostics.psnr ?? .nan)
            iterations.append(result.diagnostics.iterations)
            if result.diagnostics.warmStart?.used == true { warm += 1 }
            stages.merge(result.diagnostics.stageSeconds) { $0 + $1 }
            if let w = result.diagnostics.warmStart {
                ratios.append(String(format: "%d:%.3f/%.3f%@", i, w.residual, w.previousResidual, w.used ? "" : "*"))
            }
        }
        let n = Double(seconds.count)
        let sorted = seconds.sorted()
        var summary: [String: Double] = [
            "frames": n, "mean_psnr": psnrs.reduce(0, +) / n, "min_psnr": psnrs.min() ?? .nan,
            "mean_seconds": seconds.reduce(0, +) / n,
            "p50_seconds": percentile(ofSorted: sorted, 50) ?? .nan, "p99_seconds": percentile(ofSorted: sorted, 99) ?? .nan,
            "frames_per_second": n / seconds.reduce(0, +), "mean_iterations": Double(iterations.reduce(0, +)) / n,
            "warm_frames": Double(warm),
        ]
        for (stage, total) in stages { summary["mean_\(stage)_seconds"] = total / n }
        if verbose { print("warm-start residuals (this frame's data / previous frame's own; * cold):", ratios.joined(separator: " ")) }
        if json {
            print(String(decoding: try JSONWriter.encode(summary), as: UTF8.self))
        } else {
            print(String(format: "%@: %d frames (%@ sampling), %d thread(s): %.2f frames/s (p50 %.0f ms, p99 %.0f ms), %.1f iterations, mean PSNR %.2f dB (min %.2f), %d warm-started",
                         loaded.name, Int(n), sampling, threads, summary["frames_per_second"]!, 1000 * summary["p50_seconds"]!,
                         1000 * summary["p99_seconds"]!, summary["mean_iterations"]!, summary["mean_psnr"]!, summary["min_psnr"]!, warm))
        }
    }
}
