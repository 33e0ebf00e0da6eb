import ArgumentParser
import Foundation
import LPN
import TensorIO

/// The options that choose ``FrameProcessing``, shared by `prox` and `bench prox`.
struct FrameProcessingOptions: ParsableArguments {
    @Option(help: "whole (one exact prox of the frame, default) or patches (N×N patches, blended).")
    var processing: FrameProcessing.Kind = .whole
    @Option(help: "Whole-frame padding: zero, reflect, circular or none (default: the model's frame_padding).")
    var padding: FramePadding?
    @Option(help: "Whole frame: average f over the frame's mirror images: none (default), mirror, flips or dihedral (square frames).")
    var symmetry: FrameSymmetry = .identity
    @Option(help: "Patch stride (processing patches; default N/2).") var patchStride: Int?
    @Option(help: "How patch overlaps are averaged (processing patches): uniform or hann.")
    var patchWeighting: PatchWeighting = .hann

    func validate() throws {
        if processing == .patches, symmetry != .identity {
            throw ValidationError("--symmetry needs --processing whole (patches are blended, not one frame prox)")
        }
    }

    func resolve(for model: LPNModel) -> FrameProcessing {
        switch processing {
        case .whole: return .whole(padding: padding ?? model.configuration.framePadding, symmetry: symmetry)
        case .patches: return .patches(stride: patchStride, weighting: patchWeighting)
        }
    }
}

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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(["images": results]), as: UTF8.self))
    }
}

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure the prior's range on its training images and store it in the model.",
        discussion: """
            For each image x of --images: φ(f(x)) per pixel and the RMS displacement \
            ‖f(x) − x‖/√pixels, with whole-frame processing and --padding. Their [min, max] is \
            written into the model's metadata (calibration_phi, calibration_displacement, \
            calibration_images, calibration_size) with frame_padding, the padding lpnd then serves the \
            model with by default; reconstructions above the range are flagged \
            outside_prior (docs/PROTOCOL.md). Prints the ranges as JSON.
            """)

    @Option(help: "Model file (.safetensors).") var model: String
    @Option(help: "Training images: .npy [B,H,W] or [B,1,H,W] in [0, 1].") var images: String
    @Option(help: "Where to write the calibrated model (default: over --model).") var output: String?
    @Option(help: "The model's default whole-frame padding, stored with the calibration (default: the model's current one).")
    var padding: FramePadding?
    @Option(help: FrameThreads.help) var threads: Int = 1

    func run() throws {
        let threads = FrameThreads.take(threads)
        let lpn = try LPNModel(path: model)
        var x = try TensorFiles.read(images)
        if x.shape.count == 3 { x = Tensor(shape: [x.shape[0], 1, x.shape[1], x.shape[2]], data: x.data) }
        let (batch, c, h, w) = try lpn.configuration.batchShape(of: x.shape)
        if let (i, v) = x.firstNonFinite { throw ValidationError("\(images): value \(v) at flat index \(i) is not finite") }
        let padding = padding ?? lpn.configuration.framePadding
        let frame = try WholeFrameProx(model: lpn, height: h, width: w, padding: padding, threads: threads)
        var scratch = [Float](repeating: 0, count: c * h * w)
        let measured = x.data.withUnsafeBufferPointer { src in
            scratch.withUnsafeMutableBufferPointer { f in
                (0..<batch).map { PriorStatistics.measure(src.baseAddress! + $0 * c * h * w, frame: frame, scratch: f.baseAddress!) }
            }
        }
        let calibration = PriorCalibration(measured: measured, height: h, width: w)
        let file = try SafeTensorsFile(path: model)
        var metadata = file.metadata
        for (key, value) in calibration.metadata { metadata[key] = value }
        metadata["frame_padding"] = padding.rawValue
        try SafeTensorsFile(metadata: metadata, tensors: file.tensors).write(to: output ?? model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(calibration), as: UTF8.self))
    }
}

extension PatchWeighting: ExpressibleByArgument {}
extension FramePadding: ExpressibleByArgument {}
extension FrameSymmetry: ExpressibleByArgument {}
extension FrameProcessing.Kind: ExpressibleByArgument {}
