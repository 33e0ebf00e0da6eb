import ArgumentParser
import Foundation
import LPN
import TensorIO

struct ProxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prox",
        abstract: "Apply the learned proximal operator f = ∇ψ to an image or a batch.",
        discussion: """
            Input and output: .npy float32 [H,W], [C,H,W] or [B,C,H,W], or 8/16-bit grayscale \
            .png (values in [0,1]). Frames larger than the model's N×N input are processed in \
            overlapping patches whose overlaps are averaged.
            """)

    @Option(help: "Model file (.safetensors).") var model: String
    @Option(help: "Input .npy or .png.") var input: String
    @Option(help: "Output .npy or .png.") var output: String
    @Option(help: "Patch stride for frames larger than the model (default N/2).") var patchStride: Int?
    @Option(help: "How patch overlaps are averaged: uniform (the paper's) or hann.") var patchWeighting: PatchWeighting = .uniform
    @Option(help: "Bit depth of PNG output (8 or 16).") var pngBits: Int = 8
    @Option(help: "OpenBLAS threads.") var threads: Int = 1

    func run() throws {
        BLASThreads.set(threads)
        let lpn = try LPNModel(path: model)
        let prox = try LPNProx(model: lpn, patchStride: patchStride, weighting: patchWeighting)
        let x = try TensorFiles.read(input)
        let y = try prox.apply(x)
        try TensorFiles.write(y, to: output, pngBits: pngBits)
    }
}

struct PriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prior",
        abstract: "Evaluate the learned regularizer φ(x) per image (prints JSON).",
        discussion: """
            φ needs f inverted first (find y with f(y) = x, by L-BFGS on ψ(y) − ⟨x,y⟩); the \
            output reports, per image, φ, the inversion's relative residual ‖f(y) − x‖/‖x‖, its \
            iteration count and whether it reached the tolerance. Images must be N×N.
            """)

    @Option(help: "Model file (.safetensors).") var model: String
    @Option(help: "Input .npy ([H,W], [C,H,W] or [B,C,H,W]) or .png.") var input: String
    @Option(help: "Relative residual at which the inversion stops.") var tolerance: Double = 1e-5
    @Option(help: "Iteration limit of the inversion.") var maxIterations: Int = 500
    @Option(help: "OpenBLAS threads.") var threads: Int = 1

    func run() throws {
        BLASThreads.set(threads)
        let lpn = try LPNModel(path: model)
        let prior = LearnedPrior(model: lpn, tolerance: tolerance, maxIterations: maxIterations)
        let results = try prior.evaluate(try TensorFiles.read(input))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(["images": results]), as: UTF8.self))
    }
}

extension PatchWeighting: ExpressibleByArgument {}
