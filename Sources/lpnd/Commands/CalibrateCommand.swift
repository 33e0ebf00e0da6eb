import ArgumentParser
import Foundation
import LPN
import TensorIO
import Support

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
        print(String(decoding: try JSONWriter.encode(calibration, pretty: true), as: UTF8.self))
    }
}
