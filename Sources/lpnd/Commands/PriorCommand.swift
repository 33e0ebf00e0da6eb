import ArgumentParser
import Foundation
import LPN
import TensorIO
import Support

struct PriorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prior",
        abstract: "Evaluate the learned regularizer φ(x) per image (prints JSON).",
        discussion: """
            φ needs f inverted first (find y with f(y) = x, by L-BFGS on ψ(y) − ⟨x,y⟩); the \
            output reports, per image, φ, the inversion's relative residual ‖f(y) − x‖/‖x‖, its \
            iteration count and whether it reached the tolerance. Any frame size: φ is that of \
            the whole-frame potential ψ_frame (with --padding none on an N×N image, the model's).
            """)

    @Option(help: "Model file (.safetensors).") var model: String
    @Option(help: "Input .npy ([H,W], [C,H,W] or [B,C,H,W]) or .png.") var input: String
    @Option(help: "Whole-frame padding: zero, reflect, circular or none (default: the model's).") var padding: FramePadding?
    @Option(help: "The prox's symmetry (none, mirror, flips, dihedral): φ of the symmetrised prior.")
    var symmetry: FrameSymmetry = .identity
    @Option(help: "Relative residual at which the inversion stops.") var tolerance: Double = 1e-5
    @Option(help: "Iteration limit of the inversion.") var maxIterations: Int = 500
    @Option(help: FrameThreads.help) var threads: Int = 1

    func run() throws {
        let threads = FrameThreads.take(threads)
        let lpn = try LPNModel(path: model)
        let prior = try LearnedPrior(model: lpn, padding: padding, symmetry: symmetry, tolerance: tolerance,
                                     maxIterations: maxIterations, threads: threads)
        let results = try prior.evaluate(try TensorFiles.read(input))
        print(String(decoding: try JSONWriter.encode(["images": results], pretty: true), as: UTF8.self))
    }
}
