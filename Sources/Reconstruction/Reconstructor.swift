import Foundation
import LPN
import TensorIO

/// The result of one frame.
public struct ReconstructionResult: Sendable {
    /// [H, W] (real image) or [H, W, 2] (complex image, interleaved re, im).
    public var image: Tensor
    public var diagnostics: FrameDiagnostics
}

/// Reconstructs frames of one pipeline. Owns its operator instance (buffers, FFT plans), the
/// prior (LPN engine or TV state), the solver and the measurement buffers, so it is not
/// thread-safe: one per worker thread. Only ``cancel()`` may be called from another thread.
public final class Reconstructor {
    public let pipeline: Pipeline
    public let op: LinearOperator
    public let prior: ProximalPrior
    /// nil for the direct `adjoint` solver.
    public let solver: IterativeSolver?
    private let y: FloatBuffer, x0: FloatBuffer
    /// MRI pipelines whose wire k-space differs from the operator's (layout, oversampling).
    private let converter: KSpaceConverter?
    private let startingPoint: StartingPoint
    /// The residual of the direct `adjoint` solver's result (nil for the iterative ones).
    private let directData: DataTerm?
    private var phiEvaluator: LearnedPrior?
    /// The last frame's (unclipped) result, for `init: previous`.
    private var previous: FloatBuffer?
    private let cancellation = CancellationFlag()
    /// The `check` section's cross-validation (counted per stream, in ``streams``).
    private let crossValidation: CrossValidationCheck?
    /// `solver.warm_start` or `check`: each stream's record (shared by the pipeline's workers).
    private let streams: StreamStates?
    private var solverState = SolverState()

    init(pipeline: Pipeline, threads: Int = 1, streams: StreamStates? = nil) throws {
        self.pipeline = pipeline
        self.streams = pipeline.solver.warmStart || pipeline.crossValidation != nil ? streams ?? StreamStates() : nil
        op = pipeline.makeOperator(threads: threads)
        let h = pipeline.imageShape[0], w = pipeline.imageShape[1]
        switch pipeline.prior {
        case .none: prior = IdentityPrior(count: op.imageCount)
        case .tv(let lambda, let iterations): prior = TVPrior(lambda: Float(lambda), iterations: iterations, height: h, width: w)
        case .lpn(let model, _, let processing, let strength):
            prior = try LPNPrior(model: model, processing: processing, height: h, width: w, strength: Float(strength),
                                 threads: threads)
        }
        let settings = pipeline.solver
        switch settings.kind {
        case .admm: solver = try PnPADMM(operator: op, prior: prior, settings: settings)
        case .pgd: solver = try PnPPGD(operator: op, prior: prior, settings: settings, normSquared: pipeline.operatorNormSquared())
        case .leastSquares: solver = LeastSquaresCG(operator: op)
        case .adjoint: solver = nil
        }
        directData = solver == nil ? DataTerm(op: op) : nil
        startingPoint = StartingPoint(settings: settings, operator: op)
        if let check = pipeline.crossValidation {
            crossValidation = try CrossValidationCheck(pipeline: pipeline, operator: op, prior: prior, settings: check)
        } else {
            crossValidation = nil
        }
        y = FloatBuffer(op.measurementCount)
        x0 = FloatBuffer(op.imageCount)
        converter = pipeline.kspace.flatMap { $0.isIdentity ? nil : $0.makeConverter() }
        if pipeline.computePhi, case .lpn(let model, _, let processing, _) = pipeline.prior {
            var padding: FramePadding? = nil, symmetry = FrameSymmetry.identity
            if case .whole(let p, let g) = processing { (padding, symmetry) = (p, g) }
            phiEvaluator = try LearnedPrior(model: model, padding: padding, symmetry: symmetry,
                                            maxIterations: pipeline.phiIterations, threads: threads)
        }
    }

    /// Checks the measurement against the pipeline and reconstructs one frame.
    ///
    /// Throws ``ReconstructionError`` on a shape or type mismatch, non-finite input, a
    /// reference of the wrong shape, or divergence (no image is returned then).
    /// Asks a running (or any later) ``reconstruct(_:reference:)`` to stop at its next solver
    /// iteration and throw ``ReconstructionError/cancelled(iteration:)``. Safe from any thread;
    /// permanent (a daemon cancels its workers once, at its drain deadline).
    public func cancel() { cancellation.set() }

    /// `stream` (with `seq`) names the frame's stream: with `solver.warm_start` the frame starts
    /// from where that stream's previous frame ended, unless its data disagree (docs/MATH.md §8).
    public func reconstruct(_ measurement: Measurement, reference: Tensor? = nil, stream: String? = nil,
                            seq: UInt64? = nil) throws -> ReconstructionResult {
        let start = MonotonicClock.seconds()
        guard !cancellation.isSet else { throw ReconstructionError.cancelled(iteration: 0) }
        guard measurement.type == pipeline.measurementType else {
            throw ReconstructionError.typeMismatch(expected: pipeline.measurementType, got: measurement.type)
        }
        // BART files drop singleton dimensions: [H, W] is accepted for [1, H, W].
        guard measurement.shape.filter({ $0 != 1 }) == pipeline.measurementShape.filter({ $0 != 1 }) else {
            throw ReconstructionError.shapeMismatch(expected: pipeline.measurementShape, got: measurement.shape, what: "the measurement")
        }
        let wireCount = converter?.wireCount ?? op.measurementCount
        guard measurement.values.count == wireCount else {
            throw ReconstructionError.shapeMismatch(expected: [wireCount], got: [measurement.values.count],
                                                    what: "the measurement's value count (floats)")
        }
        if let (i, v) = measurement.values.withUnsafeBufferPointer({ firstNonFinite($0) }) {
            throw ReconstructionError.nonFinite(what: "the measurement", index: i, value: v)
        }
        var referenceValues: [Float]? = nil
        if let reference {
            let expected = pipeline.imageType == .complex64 ? pipeline.imageShape + [2] : pipeline.imageShape
            if reference.shape == expected || (reference.shape.count == 3 && reference.shape[0] == 1 && Array(reference.shape.dropFirst()) == expected) {
                referenceValues = reference.data
            } else {
                throw ReconstructionError.shapeMismatch(expected: expected, got: reference.shape, what: "the reference image")
            }
        }
        if let converter {
            measurement.values.withUnsafeBufferPointer { converter.toOperator($0.baseAddress!, y.pointer) }
        } else {
            measurement.values.withUnsafeBufferPointer { y.copy(from: $0.baseAddress!) }
        }
        // Single-coil MRI: this frame's own rows (`lines`), or the pipeline's mask.
        if let single = op as? MRIOperator {
            if let rows = measurement.sampledRows, let bad = rows.first(where: { $0 < 0 || $0 >= single.fixedMask.height }) {
                throw ReconstructionError.invalidArgument("sampled row \(bad) is outside 0..<\(single.fixedMask.height)")
            }
            single.sample(rows: measurement.sampledRows.map { rows in Set(rows.map { pipeline.kspace?.operatorRow($0) ?? $0 }) })
        }
        // Multi-coil MRI: this frame's mask, coil maps and intensity scale.
        var intensityScale: Double? = nil, calibrationSeconds: Double? = nil
        if let multiCoil = op as? MultiCoilMRIOperator {
            let tCalibration = MonotonicClock.seconds()
            let format = pipeline.kspace!
            if let rows = measurement.sampledRows, let bad = rows.first(where: { $0 < 0 || $0 >= format.height }) {
                throw ReconstructionError.invalidArgument("sampled row \(bad) is outside 0..<\(format.height)")
            }
            let rows = measurement.sampledRows.map { Set($0.map(format.operatorRow)) }
            let scale = try multiCoil.calibrate(kspace: y.pointer, sampledRows: rows)
            if multiCoil.normalize { intensityScale = scale }
            calibrationSeconds = MonotonicClock.seconds() - tCalibration
        }

        let settings = pipeline.solver
        var diagnostics = FrameDiagnostics(pipeline: pipeline.name, solver: settings.kind.rawValue, prior: prior.name)
        diagnostics.intensityScale = intensityScale
        diagnostics.stageSeconds["calibration"] = calibrationSeconds
        if let single = op as? MRIOperator, single.imageType == .float32 {
            let fraction = single.imaginaryEnergyFraction(y.pointer)
            diagnostics.imaginaryFraction = fraction
            if fraction > FrameFlag.phaseLimit { diagnostics.flags.append(.phaseDiscarded) }
        }
        // Start: Aᵀy, zeros, or a few CG steps of least squares.
        let tInit = MonotonicClock.seconds()
        startingPoint.fill(x0, measurement: y.pointer, previous: previous)
        diagnostics.stageSeconds["initialization"] = MonotonicClock.seconds() - tInit

        // The stream's record (frames without a stream id form one stream); with `check`, the
        // check runs before the solve, so that with `choose` its verdict picks this frame's prior.
        let key = stream ?? ""
        var entry = streams?.entry(for: key) ?? StreamStates.Entry()
        let candidate = try checkAndChoose(&entry, &diagnostics)

        let tSolve = MonotonicClock.seconds()
        let result = FloatBuffer(op.imageCount)
        if candidate == .reference, let crossValidation {
            let (reference, start, referenceSettings) = try crossValidation.referenceSolver()
            start.fill(x0, measurement: y.pointer)
            reference.start(measurement: y.pointer, initial: x0.pointer)
            try iterate(reference, iterations: referenceSettings.iterations, settings: referenceSettings, into: result, &diagnostics)
            diagnostics.prior = candidate.rawValue
            entry.solver = nil
        } else if let solver {
            var iterations = settings.iterations
            if settings.warmStart, let last = entry.solver {
                // Warm start: the previous frame's state, kept only if the previous image
                // explains this frame's data about as well as it explained its own.
                solver.resume(measurement: y.pointer, from: last)
                let residual = solver.currentResidual()
                let used = residual <= settings.warmStartRatio * entry.residual
                diagnostics.warmStart = WarmStartReport(used: used, residual: residual, previousResidual: entry.residual,
                                                        previousSeq: entry.seq)
                if used {
                    iterations = settings.warmIterations ?? iterations
                } else {
                    solver.start(measurement: y.pointer, initial: x0.pointer)
                }
            } else {
                solver.start(measurement: y.pointer, initial: x0.pointer)
            }
            try iterate(solver, iterations: iterations, settings: settings, into: result, &diagnostics)
            if settings.warmStart {
                solver.saveState(into: &solverState)
                (entry.solver, entry.residual, entry.seq) = (solverState, diagnostics.finalResidual, seq)
            }
        } else {
            result.copy(from: x0)
            diagnostics.stopReason = .direct
            diagnostics.converged = true
            let data = directData!
            data.load(y.pointer)
            diagnostics.finalResidual = data.residual(result.pointer)
        }
        diagnostics.stageSeconds["iterations"] = MonotonicClock.seconds() - tSolve
        if let (i, v) = UnsafeBufferPointer(start: result.pointer, count: result.count).withMemoryRebound(to: Float.self, { firstNonFinite($0) }) {
            throw ReconstructionError.diverged(iteration: diagnostics.iterations, reason: "non-finite value \(v) at flat index \(i)")
        }
        if pipeline.solver.initialization == .previous {
            if previous == nil { previous = FloatBuffer(result.count) }
            previous!.copy(from: result)
        }
        if pipeline.clipOutput {
            result.clipToUnitInterval()
        }
        let values = result.array
        let shape = pipeline.imageType == .complex64 ? pipeline.imageShape + [2] : pipeline.imageShape

        let tMetrics = MonotonicClock.seconds()
        if let referenceValues {
            diagnostics.psnr = ImageMetrics.psnr(values, referenceValues)
            if pipeline.imageType == .float32 {
                diagnostics.ssim = ImageMetrics.ssim(values, referenceValues, height: pipeline.imageShape[0], width: pipeline.imageShape[1])
            }
        }
        diagnostics.stageSeconds["metrics"] = MonotonicClock.seconds() - tMetrics
        let startedCold = diagnostics.warmStart?.used != true
        if candidate == .learned, let lpn = prior as? LPNPrior, entry.framesUntilPriorCheck == 0 || startedCold {
            entry.framesUntilPriorCheck = pipeline.priorCheckEvery
            let tCheck = MonotonicClock.seconds()
            let statistics = values.withUnsafeBufferPointer { lpn.statistics(at: $0.baseAddress!) }
            let report = PriorCheckReport(statistics: statistics, calibration: lpn.prox.model.configuration.calibration,
                                          height: pipeline.imageShape[0], width: pipeline.imageShape[1])
            diagnostics.priorCheck = report
            if !report.outside.isEmpty { diagnostics.flags.append(.outsidePrior) }
            diagnostics.stageSeconds["prior_check"] = MonotonicClock.seconds() - tCheck
        }
        if entry.framesUntilPriorCheck > 0 { entry.framesUntilPriorCheck -= 1 }
        if let report = diagnostics.check {
            // The published prior predicted the held-out measurements worse than the other by more than the margin.
            let difference = candidate == .learned ? report.differenceDB : -report.differenceDB
            if difference > report.marginDB { diagnostics.flags.append(.worseThanReference) }
        }
        if crossValidation?.settings.choose == true, candidate == .learned {
            entry.recheck = diagnostics.flags.contains(.outsidePrior) || diagnostics.flags.contains(.notConverging)
        }
        streams?.store(entry, for: key)
        if let phiEvaluator {
            let tPhi = MonotonicClock.seconds()
            diagnostics.phi = try phiEvaluator.evaluate(values, height: pipeline.imageShape[0], width: pipeline.imageShape[1])
            diagnostics.stageSeconds["phi"] = MonotonicClock.seconds() - tPhi
        }
        diagnostics.totalSeconds = MonotonicClock.seconds() - start
        return ReconstructionResult(image: Tensor(shape: shape, data: values), diagnostics: diagnostics)
    }

    /// `check`: cross-validates the frame when its stream is due (its first frame, every
    /// `every`-th, and with `choose` the frame after a flagged one) and, with `choose`, updates
    /// the stream's choice (``PriorChoice``). Returns the prior that reconstructs this frame.
    private func checkAndChoose(_ entry: inout StreamStates.Entry, _ diagnostics: inout FrameDiagnostics) throws -> PriorCandidate {
        guard let crossValidation else { return .learned }
        let check = crossValidation.settings, previous = entry.choice
        var checked = false
        if entry.framesUntilCheck == 0 || entry.recheck {
            do {
                let cancellation = cancellation
                let report = try crossValidation.run(measurement: y.pointer) { !cancellation.isSet }
                if cancellation.isSet { throw ReconstructionError.cancelled(iteration: 0) }
                diagnostics.check = report
                diagnostics.stageSeconds["check"] = report.seconds
                (entry.framesUntilCheck, entry.recheck, checked) = (check.every, false, true)
                if check.choose {
                    entry.choice = PriorChoice.decide(current: previous ?? .learned, report: report, hysteresisDB: check.hysteresisDB)
                }
            } catch ReconstructionError.invalidArgument(let reason) {
                diagnostics.checkSkipped = reason  // too few lines in this frame: the next frame tries
            }
        }
        if entry.framesUntilCheck > 0 { entry.framesUntilCheck -= 1 }
        guard check.choose else { return .learned }
        let chosen = entry.choice ?? .learned
        diagnostics.choice = PriorChoiceReport(chosen: chosen, previous: previous, switched: previous != nil && previous != chosen,
                                               checked: checked, hysteresisDB: check.hysteresisDB)
        return chosen
    }

    /// Runs `solver` (already started) for up to `iterations` and copies its result.
    private func iterate(_ solver: IterativeSolver, iterations: Int, settings: SolverSettings, into result: FloatBuffer,
                         _ diagnostics: inout FrameDiagnostics) throws {
        let cancellation = cancellation
        let outcome = try solver.solve(iterations: iterations, tolerance: settings.tolerance,
                                       divergenceFactor: settings.divergenceFactor) { _ in !cancellation.isSet }
        if cancellation.isSet { throw ReconstructionError.cancelled(iteration: outcome.records.count) }
        diagnostics.records = outcome.records
        diagnostics.iterations = outcome.records.count
        diagnostics.stopReason = outcome.stopReason
        diagnostics.converged = outcome.stopReason == .tolerance
        diagnostics.finalResidual = outcome.records.last?.dataResidual ?? solver.currentResidual()
        diagnostics.convergenceWarning = ConvergenceCheck().assess(outcome.records, stopReason: outcome.stopReason, pixels: op.imageCount)
        if diagnostics.convergenceWarning != nil { diagnostics.flags.append(.notConverging) }
        result.copy(from: solver.iterate)
    }
}
