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

extension PatchWeighting: ExpressibleByArgument {}
extension FramePadding: ExpressibleByArgument {}
extension FrameSymmetry: ExpressibleByArgument {}
extension FrameProcessing.Kind: ExpressibleByArgument {}
