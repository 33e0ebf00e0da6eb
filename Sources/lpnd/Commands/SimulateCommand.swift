import ArgumentParser
import Foundation
import LPN
import Reconstruction
import TensorIO

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Make a measurement y = A x + noise from an image with a pipeline's operator.",
        discussion: "Writes .npy: float32, or complex64 for MRI. Noise and seed default to the pipeline's `simulation` section.")

    @Option(help: "Pipeline file (.yaml).") var pipeline: String
    @Option(help: "Image: .png (grayscale), .npy [H,W] float32 in [0,1], or BART .cfl (magnitude).") var input: String
    @Option(help: "Measurement output: .npy, or BART .cfl/.hdr (complex k-space; multi-coil as BART's (X, Y, 1, C)).") var output: String
    @Option(help: "Noise standard deviation (default: the pipeline's simulation.noise).") var noise: Float?
    @Option(help: "Noise seed (default: the pipeline's simulation.seed).") var seed: UInt64?

    func run() throws {
        let p = try Pipeline.load(path: pipeline)
        let image = try readImage(input)
        let m = try p.simulate(image: image, noise: noise ?? Float(p.simulationNoise), seed: seed ?? p.simulationSeed)
        try MeasurementFile.write(m, path: output)
    }
}
