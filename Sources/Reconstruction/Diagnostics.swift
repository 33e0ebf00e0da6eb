import Foundation
import Support
import LPN

/// One solver iteration.
public struct IterationRecord: Codable, Sendable, Equatable {
    public var iteration: Int
    /// ‖x_k − x_{k−1}‖ / ‖x_{k−1}‖.
    public var relativeChange: Double
    /// ‖A x_k − y‖ / ‖y‖.
    public var dataResidual: Double
    /// ADMM: ‖x_k − z_k‖ (primal) and ρ‖z_k − z_{k−1}‖ (dual); nil for other solvers.
    public var primalResidual: Double?
    public var dualResidual: Double?
    /// CG steps taken by the ADMM x-step (nil when closed form).
    public var innerIterations: Int?
    /// Wall time of this iteration.
    public var seconds: Double
    /// Of which in the prior's prox (nil for solvers without a prior).
    public var proxSeconds: Double?

    public init(iteration: Int, relativeChange: Double, dataResidual: Double, primalResidual: Double?,
                dualResidual: Double?, innerIterations: Int?, seconds: Double, proxSeconds: Double? = nil) {
        self.proxSeconds = proxSeconds
        self.iteration = iteration
        self.relativeChange = relativeChange
        self.dataResidual = dataResidual
        self.primalResidual = primalResidual
        self.dualResidual = dualResidual
        self.innerIterations = innerIterations
        self.seconds = seconds
    }
}

/// Why a solver stopped.
public enum StopReason: String, Codable, Sendable {
    /// Relative change fell below the tolerance.
    case tolerance
    /// The iteration limit was reached first.
    case maxIterations = "max_iterations"
    /// Direct (non-iterative) solver: one step.
    case direct
    /// NaN/Inf or residual blow-up (the frame is rejected; see ``ReconstructionError/diverged``).
    case diverged
}

/// Per-frame diagnostics, as written by `lpnd reconstruct --diagnostics` and published by the
/// daemon.
public struct FrameDiagnostics: Codable, Sendable {
    public var pipeline: String
    public var solver: String
    public var prior: String
    public var records: [IterationRecord]
    public var iterations: Int
    public var converged: Bool
    public var stopReason: StopReason
    /// Final ‖Ax − y‖/‖y‖ of the returned image (before output clipping).
    public var finalResidual: Double
    public var totalSeconds: Double
    /// Seconds per stage: "initialization", "iterations", "metrics", "phi".
    public var stageSeconds: [String: Double]
    /// When a reference image was supplied.
    public var psnr: Double?
    public var ssim: Double?
    /// φ(x̂) of the LPN prior by inversion of f, when asked for (output.phi).
    public var phi: PriorEvaluation?
    /// Where x̂ stands against the LPN prior's training images (every LPN frame).
    public var priorCheck: PriorCheckReport?
    /// The prior cross-validated against the TV reference (`check` pipelines, on checked
    /// frames only): ``CrossValidationCheck``.
    public var check: CrossValidationReport?
    /// Why a frame due for the check was not checked (a frame with fewer measurement units
    /// than folds); the next frame is checked instead.
    public var checkSkipped: String?
    /// Why the solver looks non-convergent (``ConvergenceCheck``), or nil.
    public var convergenceWarning: String?
    /// Warnings raised for this frame (empty when all is well): docs/PROTOCOL.md.
    public var flags: [FrameFlag] = []
    /// Multi-coil MRI with `normalize`: the k-space was divided by this (the image is in units
    /// of it; multiply to return to the scanner's scale).
    public var intensityScale: Double?
    /// Single-coil MRI, real image: the imaginary energy fraction of the symmetric k-space
    /// (``MRIOperator/imaginaryEnergyFraction(_:)``).
    public var imaginaryFraction: Double?
    /// `check.choose`: which prior reconstructed this frame and whether its check switched
    /// the stream's choice (every frame of a choosing pipeline).
    public var choice: PriorChoiceReport?
    /// `solver.warm_start`: whether this frame started from its stream's previous frame.
    public var warmStart: WarmStartReport?

    public init(pipeline: String, solver: String, prior: String) {
        self.pipeline = pipeline
        self.solver = solver
        self.prior = prior
        records = []
        iterations = 0
        converged = false
        stopReason = .maxIterations
        finalResidual = .nan
        totalSeconds = 0
        stageSeconds = [:]
    }

    /// JSON through lpnd's one writer: compact for the wire, indented for a file.
    public func json(pretty: Bool = true) throws -> Data {
        Data(try JSONWriter.encode(self, pretty: pretty))
    }
}

/// A warning attached to a frame that was reconstructed but should not be trusted blindly.
public enum FrameFlag: String, Codable, Sendable, CaseIterable {
    /// φ(x̂) or the prox displacement ‖f(x̂) − x̂‖ lies outside the model's calibrated range:
    /// the image is not one the prior knows (wrong model for the data, or a failed solve).
    case outsidePrior = "outside_prior"
    /// The ADMM primal residual (or the relative change) grows or oscillates.
    case notConverging = "not_converging"
    /// Single-coil MRI with a real image: more than ``phaseLimit`` of the symmetric k-space's
    /// energy is imaginary, so the object has a phase the real image discards (use a
    /// multi-coil operator, `coils: 1` for one coil, whose maps carry the phase).
    case phaseDiscarded = "phase_discarded"
    /// The pipeline's `check` found the prior predicting held-out measurements worse than the
    /// TV reference by more than its margin: on this kind of image TV would likely do better
    /// (``CrossValidationCheck``).
    case worseThanReference = "worse_than_reference"
    /// MRD input: the frame lacks phase-encode lines its header's acceleration factor promises
    /// (a line lost or out of place); it is reconstructed from the lines it has.
    case missingLines = "missing_lines"

    /// The imaginary energy fraction above which ``phaseDiscarded`` is raised.
    public static let phaseLimit = 0.02
}

/// ``PriorStatistics`` of x̂ with the model's calibrated range.
public struct PriorCheckReport: Codable, Sendable, Equatable {
    /// φ(f(x̂)) per pixel and ‖f(x̂) − x̂‖/√pixels.
    public var phi: Double
    public var displacement: Double
    /// The model's ranges on its training images ([low, high]); nil when it has none.
    public var phiRange: [Double]?
    public var displacementRange: [Double]?
    /// Statistics above their widened range ("phi", "displacement"; docs/MATH.md §6).
    public var outside: [String]

    public init(statistics: PriorStatistics, calibration: PriorCalibration?, height: Int, width: Int) {
        phi = statistics.phi
        displacement = statistics.displacement
        phiRange = calibration?.phi
        displacementRange = calibration?.displacement
        outside = calibration?.outside(statistics, height: height, width: width) ?? []
    }
}

/// A warm start's safeguard (docs/MATH.md §8): the previous frame's image on this frame's
/// data, against the residual it ended with on its own.
public struct WarmStartReport: Codable, Sendable, Equatable {
    /// Whether the frame started from the previous state (else cold, from `solver.init`).
    public var used: Bool
    /// ‖A x_prev − y‖/‖y‖ on this frame's data.
    public var residual: Double
    /// The previous frame's final ‖A x − y‖/‖y‖ on its own data.
    public var previousResidual: Double
    public var previousSeq: UInt64?
}
