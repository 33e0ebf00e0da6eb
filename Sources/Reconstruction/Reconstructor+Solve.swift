import Foundation
import LPN
import TensorIO
import Support

/// The solve of one frame: the prior the check chose (the TV reference), or the pipeline's
/// solver started cold or from the stream's previous frame (warm start, docs/MATH.md §8), or
/// the direct `adjoint` result.
extension Reconstructor {
    func solve(_ candidate: PriorCandidate, _ entry: inout StreamStates.Entry, seq: UInt64?,
               _ diagnostics: inout FrameDiagnostics) throws -> FloatBuffer {
        let settings = pipeline.solver
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
        return result
    }

    /// Runs `solver` (already started) for up to `iterations` and copies its result.
    func iterate(_ solver: IterativeSolver, iterations: Int, settings: SolverSettings, into result: FloatBuffer,
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
