import Foundation
import LPN
import TensorIO
import Support

/// A frame's checks: before the solve, the `check` (cross-validation against the TV reference)
/// and, with `choose`, the stream's prior; after it, the learned prior's statistics, the flags
/// and when the stream is checked next.
extension Reconstructor {
    /// `check`: cross-validates the frame when its stream is due (its first frame, every
    /// `every`-th, and with `choose` the frame after a flagged one) and, with `choose`, updates
    /// the stream's choice (``PriorChoice``). Returns the prior that reconstructs this frame.
    func checkAndChoose(_ entry: inout StreamStates.Entry, _ diagnostics: inout FrameDiagnostics) throws -> PriorCandidate {
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
                    entry.choice = PriorChoice.decide(current: previous, report: report, hysteresisDB: check.hysteresisDB)
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

    /// After the solve: the prior check (φ and displacement against the calibration) on cold
    /// frames and every `prior.check_every`-th warm one, `worse_than_reference` when the other
    /// candidate predicted the held-out data better, and a recheck after a flagged learned frame.
    func judge(_ values: [Float], _ candidate: PriorCandidate, _ entry: inout StreamStates.Entry,
               _ diagnostics: inout FrameDiagnostics) {
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
    }
}
