import Foundation

/// Settings shared by the solvers (the pipeline's `solver` section).
public struct SolverSettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case admm, pgd, leastSquares = "least_squares", adjoint }
    public enum XStep: String, Sendable, CaseIterable { case auto, cg, closedForm = "closed_form" }
    public enum Initialization: String, Sendable, CaseIterable {
        case adjoint, zeros, leastSquares = "least_squares"
        /// The previous frame's result of the same reconstructor (streams of similar frames);
        /// Aᵀy for the first frame.
        case previous
    }

    public var kind: Kind = .admm
    public var iterations = 30
    /// Stop when ‖x_k − x_{k−1}‖/‖x_{k−1}‖ < tolerance (ADMM: and the same for z; 0: never).
    public var tolerance = 1e-4
    /// ADMM penalty ρ and data weight s of s‖y − Ax‖².
    public var rho = 0.1
    public var dataWeight = 1.0
    public var xStep = XStep.auto
    public var cgTolerance = 1e-5
    public var cgIterations = 30
    /// PGD step η = step / ‖A‖².
    public var step = 1.0
    /// PGD: clip each iterate to [0, 1] (real images).
    public var clip = true
    /// ADMM: constrain x to [0, 1] as well (real images; a third split, ``PnPADMM``).
    public var box = false
    public var initialization = Initialization.adjoint
    /// CG steps of the least-squares start.
    public var initIterations = 10
    /// Divergence: residual above factor × max(initial residual, 1), or non-finite values.
    public var divergenceFactor = 1e3
    /// Start each frame of a stream from the state its previous frame ended in (x, and the
    /// splitting variables of ADMM), unless the data disagree (``warmStartRatio``).
    public var warmStart = false
    /// Cold start instead when the previous image's residual on this frame's data exceeds this
    /// factor × the residual it ended with on its own frame's (a new scene, slice or contrast).
    public var warmStartRatio = 10.0
    /// Iteration cap of a warm-started frame (nil: `iterations`).
    public var warmIterations: Int?

    public init() {}
}
