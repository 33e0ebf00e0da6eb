import Foundation
import LPN
import TensorIO

/// The `prior` section of a pipeline file (docs/PIPELINES.md, "prior"): none, TV, or a
/// learned proximal network with its frame processing.
extension PipelineLoader {
    /// - Returns: the prior, its section (for errors found later) and `check_every`.
    static func prior(_ root: YAMLSection, _ frame: Frame) throws -> (PriorSpec, YAMLSection, checkEvery: Int) {
        let section = try root.required("prior", root.section)
        let type = try section.required("type", section.string)
        let prior: PriorSpec
        var checkEvery = 1
        switch type {
        case "none":
            prior = .none
        case "tv":
            let lambda = try section.required("lambda") { try section.double($0, min: 0) }
            let iterations = try section.int("iterations", range: 1...10_000) ?? 20
            prior = .tv(lambda: lambda, iterations: iterations)
        case "lpn":
            prior = try lpn(section, frame)
            checkEvery = try section.int("check_every", range: 1...1_000_000) ?? 1
        default:
            throw section.fail("type", "'\(type)' is not one of: lpn, tv, none")
        }
        try section.finish()
        if frame.imageType == .complex64, type != "none" {
            throw section.fail("type", "a complex64 image needs prior type none (lpn and tv act on real images)")
        }
        return (prior, section, checkEvery)
    }

    /// `type: lpn`: the model, its strength θ, and how it meets the frame (whole or patches).
    static func lpn(_ section: YAMLSection, _ frame: Frame) throws -> PriorSpec {
        let shape = frame.shape
        let modelPath = try section.required("model", section.string)
        let strength = try section.double("strength", min: 0, max: 1, exclusiveMin: true) ?? 1
        let mode = try section.choice("processing", FrameProcessing.Kind.self) ?? .whole
        let resolved = frame.resolve(modelPath)
        let model: LPNModel
        do { model = try LPNModel(path: resolved) } catch {
            throw section.fail("model", "cannot load \(resolved): \(error)")
        }
        let n = model.configuration.size
        guard model.configuration.inChannels == 1 else {
            throw section.fail("model", "the model has \(model.configuration.inChannels) channels; pipelines reconstruct one-channel images")
        }
        let processing: FrameProcessing
        switch mode {
        case .whole:
            for key in ["patch_stride", "patch_weighting"] where section.has(key) {
                throw section.fail(key, "only with processing: patches (this prior processes the whole frame)")
            }
            let padding = try section.choice("padding", FramePadding.self) ?? model.configuration.framePadding
            let symmetry = try section.choice("symmetry", FrameSymmetry.self) ?? .identity
            guard symmetry.accepts(height: shape[0], width: shape[1]) else {
                throw section.fail("symmetry", "\(symmetry.rawValue) needs a square image, not \(shape[0])×\(shape[1]) (use flips)")
            }
            processing = .whole(padding: padding, symmetry: symmetry)
        case .patches:
            for key in ["padding", "symmetry"] where section.has(key) {
                throw section.fail(key, "only with processing: whole")
            }
            let stride = try section.int("patch_stride", range: 1...4096)
            let weighting = try section.choice("patch_weighting", PatchWeighting.self) ?? .hann
            guard shape[0] >= n, shape[1] >= n else {
                throw section.fail("model", "the model's input is \(n)×\(n), larger than the \(shape[0])×\(shape[1]) image (patches need at least that; processing: whole pads)")
            }
            if let stride, stride > n { throw section.fail("patch_stride", "\(stride) exceeds the model size \(n)") }
            processing = .patches(stride: stride, weighting: weighting)
        }
        do { try LPNProx(model: model, processing: processing).validate(height: shape[0], width: shape[1]) } catch {
            throw section.fail("padding", "\(error)")
        }
        return .lpn(model: model, path: resolved, processing: processing, strength: strength)
    }
}
