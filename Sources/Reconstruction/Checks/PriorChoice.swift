import Foundation

/// The priors a pipeline with `check.choose` picks from, per stream: its own learned prior
/// and the check's TV reference.
public enum PriorCandidate: String, Codable, Sendable, CaseIterable {
    /// The pipeline's `prior` (an LPN).
    case learned = "lpn"
    /// TV-ADMM with the `check.reference` settings.
    case reference = "tv"
}

/// `check.choose` (docs/MATH.md §6, docs/PIPELINES.md "check"): a checked frame's
/// cross-validation decides which prior reconstructs that frame and the stream's next frames,
/// until its next check. With d = the check's `differenceDB` (the mean over folds of
/// 10·log₁₀(e_L,k / e_R,k), the learned prior's and the reference's held-out errors,
/// ``CrossValidationReport``) and h the hysteresis in dB, a stream keeps its current choice c
/// unless the other candidate o predicts the held-out measurements better by more than h:
///
///     learned → reference  ⇔  d > h,      reference → learned  ⇔  −d > h
///
/// so a choice never flips back and forth on noise. A stream's first check has no choice to
/// keep: the smaller error decides (h = 0; an exact tie keeps the learned prior).
public enum PriorChoice {
    /// - Parameter current: the stream's choice before this check; nil at its first check.
    public static func decide(current: PriorCandidate?, report: CrossValidationReport, hysteresisDB: Double) -> PriorCandidate {
        guard let current else { return decide(current: .learned, report: report, hysteresisDB: 0) }
        let other: PriorCandidate = current == .learned ? .reference : .learned
        // d > 0: the reference predicts better. A diverged fold makes d infinite (the check's rule).
        let mineOverTheirs = current == .learned ? report.differenceDB : -report.differenceDB
        return mineOverTheirs > hysteresisDB ? other : current
    }
}

/// What the choice did on one frame (`choice` in the diagnostics, docs/PROTOCOL.md §3).
public struct PriorChoiceReport: Codable, Sendable, Equatable {
    /// The prior that reconstructed this frame.
    public var chosen: PriorCandidate
    /// The stream's choice before this frame (nil: the stream's first frame).
    public var previous: PriorCandidate?
    /// Whether this frame's check changed the stream's choice.
    public var switched: Bool
    /// Whether this frame was checked (its `check` holds both candidates' errors).
    public var checked: Bool
    public var hysteresisDB: Double

    public init(chosen: PriorCandidate, previous: PriorCandidate?, switched: Bool, checked: Bool, hysteresisDB: Double) {
        (self.chosen, self.previous, self.switched, self.checked, self.hysteresisDB) = (chosen, previous, switched, checked, hysteresisDB)
    }
}
