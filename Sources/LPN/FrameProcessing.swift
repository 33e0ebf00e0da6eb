/// How the learned prox is applied to a frame: whole (one exact prox of the frame, the
/// default) or in overlapping N×N patches whose outputs are blended (an approximation kept
/// for comparison).
public enum FrameProcessing: Sendable, Equatable, CustomStringConvertible {
    /// ``WholeFrameProx``: f = ∇ψ_frame on the frame extended by `padding`, averaged over
    /// the frame's mirror images that `symmetry` names.
    case whole(padding: FramePadding, symmetry: FrameSymmetry = .identity)
    /// ``PatchProx``: N×N patches at `stride` (default N/2), overlaps blended by `weighting`.
    case patches(stride: Int?, weighting: PatchWeighting)

    /// The two modes by name, as pipeline files and `lpnd prox --processing` spell them.
    public enum Kind: String, Sendable, CaseIterable {
        case whole, patches
    }

    /// What `lpnd prox`, `lpnd prior` and the pipelines use unless told otherwise: the whole
    /// frame, with the padding the model was calibrated with (``LPNConfiguration/framePadding``).
    public static func standard(for model: LPNModel) -> FrameProcessing {
        .whole(padding: model.configuration.framePadding)
    }

    public var description: String {
        switch self {
        case .whole(let padding, let symmetry):
            return "whole (\(padding.rawValue) padding\(symmetry == .identity ? "" : ", \(symmetry.rawValue) symmetry"))"
        case .patches(let stride, let weighting):
            return "patches (stride \(stride.map(String.init) ?? "N/2"), \(weighting.rawValue) weighting)"
        }
    }

    /// True when f is exactly the gradient of one convex potential on the frame.
    public var isExact: Bool {
        if case .whole = self { return true }
        return false
    }
}
