import Foundation
import TensorIO
import Support

/// A pipeline's `check` section: how often and how the prior is cross-validated against a TV
/// reference (docs/PIPELINES.md, docs/MATH.md §6).
public struct CrossValidationSettings: Sendable, Equatable {
    /// Check a stream's first frame and every `every`-th after it (and, with `choose`, the
    /// frame after one the learned prior reconstructed with a warning).
    public var every = 100
    /// K of K-fold cross-validation: each fold holds out 1/K of the operator's
    /// ``MeasurementUnits``; a checked frame costs 2K extra reconstructions.
    public var folds = 4
    /// Deals the units to the folds (the same split for every frame).
    public var seed: UInt64 = 0
    /// Flag when the prior's held-out error exceeds the reference's by more than this (dB).
    public var marginDB = 0.0
    /// The reference: TV-ADMM with this λ, ρ and iteration count (box on, 20 TV iterations).
    public var referenceLambda = 0.05
    public var referenceRho = 0.1
    public var referenceIterations = 60
    /// Reconstruct each stream with the candidate the check prefers (``PriorChoice``), not
    /// only flag the frame.
    public var choose = false
    /// A stream's choice changes only when the other candidate's held-out error is lower by
    /// more than this (dB).
    public var hysteresisDB = 0.3

    public init() {}
}

/// What one check measured (`check` in the frame's diagnostics, docs/PROTOCOL.md).
public struct CrossValidationReport: Codable, Sendable, Equatable {
    /// Folds, and the measurement units they share out.
    public var folds: Int
    public var units: Int
    /// Weighted mean squared prediction error on the held-out measurement floats over all
    /// folds, Σₖ Σ_{i held out by k} wᵢ ((A xₖ − y)ᵢ)² / Σ wᵢ (w: the unit's weight,
    /// ``MeasurementUnits/weights``), of the prior's and the reference's reconstructions from
    /// each fold's kept measurements.
    public var priorError: Double
    public var referenceError: Double
    /// The verdict: the mean over folds of `foldDifferencesDB` (the log of the geometric mean
    /// of the folds' error ratios); above `marginDB`, the frame is flagged. Each fold weighs the
    /// same, so one fold whose reconstruction fails cannot outvote the others, as it can in the
    /// pooled ratio 10·log₁₀(priorError / referenceError).
    public var differenceDB: Double
    public var marginDB: Double
    public var seconds: Double
    /// Each fold's 10·log₁₀(prior's held-out error / reference's), in fold order (a diverged
    /// solve's error is infinite, and so is its fold's difference).
    public var foldDifferencesDB: [Double]

    public init(folds: Int, units: Int, priorError: Double, referenceError: Double, differenceDB: Double, marginDB: Double,
                seconds: Double, foldDifferencesDB: [Double] = []) {
        (self.folds, self.units, self.priorError, self.referenceError) = (folds, units, priorError, referenceError)
        (self.differenceDB, self.marginDB, self.seconds) = (differenceDB, marginDB, seconds)
        self.foldDifferencesDB = foldDifferencesDB
    }

    /// 10·log₁₀(p / r) of one fold's errors: +∞ when only the prior's solve diverged, −∞ when
    /// only the reference's did, 0 when both did (neither predicts anything).
    public static func foldDifferenceDB(prior p: Double, reference r: Double) -> Double {
        switch (p.isFinite, r.isFinite) {
        case (false, false): return 0
        case (false, true): return .infinity
        case (true, false): return -.infinity
        case (true, true): return 10 * log10(max(p, .leastNormalMagnitude) / max(r, .leastNormalMagnitude))
        }
    }

    /// The mean of the folds' differences (+∞ and −∞ together: 0, no verdict either way).
    public static func verdictDB(_ folds: [Double]) -> Double {
        let sum = folds.reduce(0, +)
        return sum.isNaN ? 0 : sum / Double(max(folds.count, 1))
    }
}

/// Cross-validates a frame's prior against a TV reference on measurements neither has seen
/// (docs/MATH.md §6). The operator's measurement units are dealt into K folds (a fixed split);
/// for each fold k, both reconstruct from the measurements the fold keeps, and each predicts
/// the ones it holds out:
///
///     y ──▶ y_k = Kₖ y ──▶ the pipeline's solver and prior on Kₖ A ──▶ x_P ──┐
///                     └──▶ TV-ADMM (reference λ, ρ) on Kₖ A ───────▶ x_R ──┤
///                             e += ‖(I − Kₖ)(A x − y)‖² for each ◀──────────┘
///     d_k = 10·log₁₀(e_P,k / e_R,k);  differenceDB = mean_k d_k > marginDB  ──▶  flag worse_than_reference
///
/// A held-out measurement is independent of the reconstruction that predicts it, so e
/// estimates each method's error where nothing was measured, plus the same noise term; no
/// ground truth is needed. Owns its operators, solvers and buffers (one per
/// ``Reconstructor``); shares the prior instance with the frame's own solver, which is idle
/// while the check runs.
final class CrossValidationCheck {
    let settings: CrossValidationSettings
    /// The full operator: predicts the held-out measurements.
    private let op: LinearOperator
    private let prior: ProximalPrior, tv: TVPrior
    private let solverSettings: SolverSettings, referenceSettings: SolverSettings
    /// PGD's ‖A‖² (‖KA‖ ≤ ‖A‖: a safe step for every fold); 0 for ADMM.
    private let normSquared: Double
    private let clip: Bool
    private let yKept: FloatBuffer, x0: FloatBuffer, image: FloatBuffer, prediction: FloatBuffer
    /// The folds of the units they were dealt from. A multi-coil MRI frame that brings its
    /// own mask (MRD) changes the units; the folds are dealt again then, and only then.
    private var units: MeasurementUnits?
    private var folds: [Fold] = []
    /// Σ of the unit weights over every float in a unit: the errors' normaliser.
    private var totalWeight = 0.0

    /// Per fold: its keep mask, the floats it holds out with their units' weights, and one
    /// solver each, on an operator instance of its own (a closed-form x-step caches its
    /// factorisation per ρ).
    private struct Fold {
        let keep: [Float]
        let heldOut: [Int]
        let heldOutWeights: [Double]
        let prior: IterativeSolver, reference: IterativeSolver
        let priorStart: StartingPoint, referenceStart: StartingPoint
    }

    init(pipeline: Pipeline, operator op: LinearOperator, prior: ProximalPrior, settings: CrossValidationSettings) throws {
        guard settings.folds >= 2 else {
            throw ReconstructionError.invalidArgument("check: \(settings.folds) folds; cross-validation needs at least 2")
        }
        guard pipeline.solver.kind == .admm || pipeline.solver.kind == .pgd else {
            throw ReconstructionError.invalidArgument("check needs an iterative solver with a prior (admm or pgd)")
        }
        self.settings = settings
        self.op = op
        self.prior = prior
        clip = pipeline.clipOutput
        var own = pipeline.solver
        if own.xStep == .closedForm { own.xStep = .auto }  // a kept operator may have none
        if own.initialization == .previous { own.initialization = .adjoint }
        solverSettings = own
        var reference = SolverSettings()
        reference.kind = .admm
        reference.rho = settings.referenceRho
        reference.iterations = settings.referenceIterations
        reference.tolerance = own.tolerance
        reference.box = op.imageType == .float32
        reference.cgIterations = own.cgIterations
        reference.cgTolerance = own.cgTolerance
        reference.initialization = own.initialization
        reference.initIterations = own.initIterations
        referenceSettings = reference
        tv = TVPrior(lambda: Float(settings.referenceLambda), iterations: 20,
                     height: pipeline.imageShape[0], width: pipeline.imageShape[1])
        normSquared = own.kind == .pgd ? pipeline.operatorNormSquared() : 0
        yKept = FloatBuffer(op.measurementCount)
        x0 = FloatBuffer(op.imageCount)
        image = FloatBuffer(op.imageCount)
        prediction = FloatBuffer(op.measurementCount)
        try deal(op.measurementUnits)
    }

    /// The reference on the whole frame, for a stream that chose it (made on first use).
    private var wholeFrameReference: (solver: IterativeSolver, start: StartingPoint)?

    /// TV-ADMM with the reference's settings on the full operator, and its starting point:
    /// what reconstructs a frame when its stream chose the reference (`choose`).
    func referenceSolver() throws -> (solver: IterativeSolver, start: StartingPoint, settings: SolverSettings) {
        if wholeFrameReference == nil {
            wholeFrameReference = (try PnPADMM(operator: op, prior: tv, settings: referenceSettings),
                                   StartingPoint(settings: referenceSettings, operator: op))
        }
        return (wholeFrameReference!.solver, wholeFrameReference!.start, referenceSettings)
    }

    /// Deals `units` into the folds and makes each fold's operators and solvers.
    private func deal(_ units: MeasurementUnits) throws {
        guard units.count >= settings.folds else {
            throw ReconstructionError.invalidArgument("check: \(settings.folds) folds need at least as many measurement units; this frame has \(units.count)")
        }
        let floatWeights = units.floatWeights
        folds = try units.keepMasks(folds: settings.folds, seed: settings.seed).map { keep in
            let forPrior = op.keeping(keep), forReference = op.keeping(keep)
            let solver: IterativeSolver = solverSettings.kind == .pgd
                ? try PnPPGD(operator: forPrior, prior: prior, settings: solverSettings, normSquared: normSquared)
                : try PnPADMM(operator: forPrior, prior: prior, settings: solverSettings)
            let heldOut = keep.indices.filter { keep[$0] == 0 }
            return Fold(keep: keep, heldOut: heldOut, heldOutWeights: heldOut.map { floatWeights[$0] },
                        prior: solver, reference: try PnPADMM(operator: forReference, prior: tv, settings: referenceSettings),
                        priorStart: StartingPoint(settings: solverSettings, operator: forPrior),
                        referenceStart: StartingPoint(settings: referenceSettings, operator: forReference))
        }
        totalWeight = floatWeights.reduce(0, +)
        self.units = units
    }

    /// Runs the 2K reconstructions on measurement y (operator layout), after dealing the folds
    /// again if this frame's units differ from the last frame's. Throws when this frame has
    /// fewer units than folds, and ``ReconstructionError/cancelled(iteration:)`` when
    /// `shouldContinue` says stop. `shouldContinue` is asked every iteration (cancellation); a
    /// solve that diverges counts as an infinite error.
    func run(measurement y: UnsafePointer<Float>, shouldContinue: @escaping () -> Bool) throws -> CrossValidationReport {
        let t0 = MonotonicClock.seconds()
        let current = op.measurementUnits
        if current.unitOfFloat != units?.unitOfFloat || current.weights != units?.weights { try deal(current) }
        var priorSum = 0.0, referenceSum = 0.0, perFold: [Double] = []
        for fold in folds {
            // Cancelled (the daemon's drain deadline): no further fold starts.
            guard shouldContinue() else { throw ReconstructionError.cancelled(iteration: 0) }
            fold.keep.withUnsafeBufferPointer { k in for i in 0..<k.count { yKept.pointer[i] = k[i] * y[i] } }
            let p = heldOutError(fold.prior, fold.priorStart, solverSettings, fold, y, shouldContinue)
            let r = heldOutError(fold.reference, fold.referenceStart, referenceSettings, fold, y, shouldContinue)
            priorSum += p
            referenceSum += r
            perFold.append(CrossValidationReport.foldDifferenceDB(prior: p, reference: r))
        }
        let n = max(totalWeight, .leastNormalMagnitude)
        return CrossValidationReport(folds: folds.count, units: current.count, priorError: priorSum / n, referenceError: referenceSum / n,
                                     differenceDB: CrossValidationReport.verdictDB(perFold), marginDB: settings.marginDB,
                                     seconds: MonotonicClock.seconds() - t0, foldDifferencesDB: perFold)
    }

    /// Σ w·((A x − y)ᵢ)² over the fold's held-out floats i (w: their unit's weight), for x the
    /// solver's result from y_K = `yKept` (clipped as the pipeline's output is).
    private func heldOutError(_ solver: IterativeSolver, _ start: StartingPoint, _ s: SolverSettings, _ fold: Fold,
                              _ y: UnsafePointer<Float>, _ shouldContinue: @escaping () -> Bool) -> Double {
        start.fill(x0, measurement: yKept.pointer)
        solver.start(measurement: yKept.pointer, initial: x0.pointer)
        do {
            _ = try solver.solve(iterations: s.iterations, tolerance: s.tolerance, divergenceFactor: s.divergenceFactor) { _ in shouldContinue() }
        } catch {
            return .infinity
        }
        image.copy(from: solver.iterate)
        if clip { image.clipToUnitInterval() }
        op.forward(image.pointer, prediction.pointer)
        var sum = 0.0
        for (i, w) in zip(fold.heldOut, fold.heldOutWeights) {
            let d = Double(prediction.pointer[i] - y[i])
            sum += w * d * d
        }
        return sum
    }
}
