import Foundation

/// Detects a solver that is not settling, from its per-iteration records (not only a blown-up
/// data residual, which ``IterativeSolver/solve(iterations:tolerance:divergenceFactor:callback:)``
/// already rejects).
///
/// The watched sequence r_k is ADMM's primal residual ‖x_k − z_k‖ (the gap between the data
/// step and the prior step; it tends to 0 when ADMM converges) or, for the other solvers, the
/// relative change ‖x_k − x_{k−1}‖/‖x_{k−1}‖. Over K iterations (K ≥ `minimumIterations`):
///
/// - **growing**: r_K > `growth` · min_k r_k with the minimum at least `settle` iterations
///   before the end: the sequence turned and climbs away from its best;
/// - **oscillating**: in the last W = min(10, ⌈K/2⌉) steps the differences r_k − r_{k−1} change
///   sign at least `alternation` of the time and r_K > `stall` · r_{K−W}: it swings without
///   shrinking.
///
/// A run that reached its tolerance is never flagged, and neither is one that ends below the
/// floor, where the movement is rounding and inexact inner solves, not a solver in trouble: an
/// RMS primal residual ‖x − z‖/√pixels under `primalFloor` (10⁻⁴ of the [0, 1] range), or
/// a relative change under `changeFloor`.
public struct ConvergenceCheck: Sendable {
    public var growth = 1.2
    public var settle = 3
    public var alternation = 0.7
    public var stall = 0.5
    public var minimumIterations = 6
    public var primalFloor = 1e-4
    public var changeFloor = 1e-3

    public init() {}

    /// The reason the run looks non-convergent, or nil; `pixels`: values in the image.
    public func assess(_ records: [IterationRecord], stopReason: StopReason, pixels: Int) -> String? {
        guard stopReason == .maxIterations, records.count >= minimumIterations else { return nil }
        let usesPrimal = records.allSatisfy { $0.primalResidual != nil }
        let name = usesPrimal ? "primal residual ‖x − z‖" : "relative change"
        let r = records.map { usesPrimal ? $0.primalResidual! : $0.relativeChange }
        guard r.allSatisfy(\.isFinite) else { return "\(name) is not finite" }
        let k = r.count
        let floor = usesPrimal ? primalFloor * Double(max(pixels, 1)).squareRoot() : changeFloor
        guard r[k - 1] >= floor else { return nil }
        let (best, at) = r.enumerated().min { $0.element < $1.element }.map { ($0.element, $0.offset) }!
        if r[k - 1] > growth * best && r[k - 1] > 0 && at <= k - 1 - settle {
            return "\(name) grew from \(format(best)) (iteration \(at + 1)) to \(format(r[k - 1])) (iteration \(k))"
        }
        let w = min(10, (k + 1) / 2)
        let window = Array(r[(k - w - 1)...])
        var changes = 0
        for i in 2..<window.count where (window[i] - window[i - 1]) * (window[i - 1] - window[i - 2]) < 0 {
            changes += 1
        }
        let share = Double(changes) / Double(max(window.count - 2, 1))
        if share >= alternation && r[k - 1] > stall * window[0] {
            return "\(name) oscillates without shrinking (\(changes) reversals in the last \(w) iterations, \(format(window[0])) → \(format(r[k - 1])))"
        }
        return nil
    }

    private func format(_ v: Double) -> String { String(format: "%.3g", v) }
}
