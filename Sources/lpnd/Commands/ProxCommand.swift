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
            .png (values in [0,1]). By default a frame of any size is processed whole: f is the \
            exact gradient of the model's potential on the padded frame (the model's frame_padding); \
            --processing patches blends N×N patches instead (docs/MATH.md §3).
            """)

    @Option(help: "Model file (.safetensors).") var model: String
    @Option(help: "Input .npy or .png.") var input: String
    @Option(help: "Output .npy or .png.") var output: String
    @OptionGroup var frame: FrameProcessingOptions
    @Option(help: "Bit depth of PNG output (8 or 16).") var pngBits: Int = 8
    @Option(help: FrameThreads.help) var threads: Int = 1

    func run() throws {
        let threads = FrameThreads.take(threads)
        let lpn = try LPNModel(path: model)
        let prox = try LPNProx(model: lpn, processing: frame.resolve(for: lpn), threads: threads)
        let x = try TensorFiles.read(input)
        let y = try prox.apply(x)
        try TensorFiles.write(y, to: output, pngBits: pngBits)
    }
}
