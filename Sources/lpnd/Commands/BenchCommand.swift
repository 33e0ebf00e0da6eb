import ArgumentParser
import Foundation
import LPN
import TensorIO
import Support

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks.", subcommands: [BenchProx.self, BenchDaemon.self, BenchStream.self])
}

struct BenchProx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prox",
        abstract: "Time f = ∇ψ and compare with this machine's sgemm throughput, in the same run.")

    @Option(help: "Model file; without it, a random non-negative LPN of --hidden is built.") var model: String?
    @Option(help: "Hidden channels of the random model.") var hidden: Int = 32
    @Option(help: "Image size (the random model's N; must equal a model file's N).") var size: Int = 128
    @Option(help: "Images per call.") var batch: Int = 1
    @Option(help: "Timed repetitions (median reported).") var repetitions: Int = 20
    @Option(help: FrameThreads.help) var threads: Int = 1
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let threads = FrameThreads.take(threads)
        let lpn = try model.map { try LPNModel(path: $0) }
            ?? RandomLPN.make(hidden: hidden, size: size, inChannels: 1, seed: 7)
        let n = lpn.configuration.size
        guard n == size else { throw ValidationError("--size \(size) differs from the model's N = \(n)") }
        // The model itself on N×N images (no padding), as PyTorch runs it.
        let prox = try LPNProx(model: lpn, processing: .whole(padding: .unpadded), threads: threads)
        let c = lpn.configuration.inChannels
        var generator = SplitMix64(seed: 1)
        let x = Tensor(shape: [batch, c, n, n], data: (0..<(batch * c * n * n)).map { _ in Float(generator.nextUnit()) })
        _ = try prox.apply(x)
        var times: [Double] = []
        for _ in 0..<repetitions {
            let start = MonotonicClock.seconds()
            _ = try prox.apply(x)
            times.append(MonotonicClock.seconds() - start)
        }
        times.sort()
        let median = times[times.count / 2] / Double(batch)
        // One forward plus one input-gradient pass: 2 × forward multiply-adds, 2 flops each.
        let flops = 4 * Double(lpn.forwardMultiplyAdds)
        let gflops = flops / median / 1e9
        let sgemm = measureSgemmGFLOPS()
        let result: [String: Double] = [
            "ms_per_prox": median * 1e3, "gflops": gflops, "sgemm_gflops": sgemm,
            "fraction_of_sgemm": gflops / sgemm, "hidden": Double(lpn.configuration.hidden),
            "size": Double(n), "batch": Double(batch), "threads": Double(threads),
        ]
        if json {
            print(String(decoding: try JSONWriter.encode(result), as: UTF8.self))
        } else {
            print(String(format: "prox  hidden %d  %d×%d  batch %d  threads %d: %.2f ms/prox, %.1f GFLOP/s (%.0f%% of sgemm %.1f GFLOP/s)",
                         lpn.configuration.hidden, n, n, batch, threads, median * 1e3, gflops, 100 * gflops / sgemm, sgemm))
        }
    }
}

