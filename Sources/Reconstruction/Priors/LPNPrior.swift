import Foundation
import LPN

/// The learned proximal operator f = ∇ψ_frame on the whole frame (exact; or on patches, as
/// the frame processing says), optionally relaxed: z = θ·f(v) + (1 − θ)·v.
///
/// The relaxation keeps it an exact proximal operator: θf + (1 − θ)I = ∇(θψ + (1 − θ)½‖·‖²)
/// is the gradient of a convex function, hence the prox of a weaker regulariser. θ < 1 lets a
/// model trained at one noise level regularise less (an LPN's strength is fixed by its
/// training noise); docs/PIPELINES.md says what θ and ADMM's ρ each do.
public final class LPNPrior: ProximalPrior {
    public let name = "lpn"
    public let prox: LPNProx
    public let strength: Float
    let height: Int, width: Int
    /// f(x̂) of ``statistics(at:)``; the whole-frame prox that measures it under patch processing.
    private let scratch: FloatBuffer
    private var checkFrame: WholeFrameProx?

    /// `threads`: how many one whole-frame prox may use (``LPNEngine``).
    public init(model: LPNModel, processing: FrameProcessing? = nil, height: Int, width: Int,
                strength: Float = 1, threads: Int = 1) throws {
        prox = try LPNProx(model: model, processing: processing, threads: threads)
        try prox.validate(height: height, width: width)
        if prox.processing.isExact { _ = try prox.wholeFrame(height: height, width: width) }
        self.height = height
        self.width = width
        self.strength = strength
        scratch = FloatBuffer(height * width)
    }

    public func prox(_ v: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>) {
        do {
            try prox.apply(v, z, height: height, width: width)
        } catch {
            preconditionFailure("the frame size was validated at init: \(error)")
        }
        if strength != 1 {
            let t = strength, r = 1 - strength
            for i in 0..<(height * width) { z[i] = t * z[i] + r * v[i] }
        }
    }

    /// φ(f(x)) and ‖f(x) − x‖ per pixel at the image x (the model's f, θ = 1, without the
    /// symmetry, as it was calibrated; on the whole frame with the model's padding whatever
    /// the processing): one more evaluation of f.
    public func statistics(at x: UnsafePointer<Float>) -> PriorStatistics {
        let frame: WholeFrameProx
        if prox.processing.isExact, let made = try? prox.wholeFrame(height: height, width: width) {
            frame = made
        } else if let checkFrame {
            frame = checkFrame
        } else {
            // The padding modes but none accept every size; the init validated the frame.
            frame = try! WholeFrameProx(model: prox.model, height: height, width: width,
                                        padding: prox.model.configuration.framePadding == .unpadded ? .zero : nil,
                                        threads: prox.threads)
            checkFrame = frame
        }
        return PriorStatistics.measure(x, frame: frame, scratch: scratch.pointer)
    }
}
