import Foundation
import LPN
import TensorIO

/// The `check` section of a pipeline file (docs/PIPELINES.md, "check"): cross-validation of the
/// learned prior against a TV reference, and the per-stream choice between them.
extension PipelineLoader {
    static func check(_ root: YAMLSection, _ frame: Frame, prior: PriorSpec, solver: SolverSettings) throws
        -> CrossValidationSettings? {
        guard let check = try root.section("check") else { return nil }
        var c = CrossValidationSettings()
        c.every = try check.int("every", range: 1...1_000_000) ?? c.every
        c.folds = try check.int("folds", range: 2...20) ?? c.folds
        c.seed = UInt64(try check.int("seed", range: 0...Int.max) ?? Int(c.seed))
        c.marginDB = try check.double("margin_db", min: 0) ?? c.marginDB
        c.choose = try check.bool("choose") ?? c.choose
        c.hysteresisDB = try check.double("hysteresis_db", min: 0) ?? c.hysteresisDB
        guard let reference = try check.section("reference") else {
            throw check.fail("reference", "missing: the TV reference, e.g. reference: {lambda: 0.05}")
        }
        c.referenceLambda = try reference.required("lambda") { try reference.double($0, min: 0, exclusiveMin: true) }
        c.referenceRho = try reference.double("rho", min: 0, exclusiveMin: true) ?? c.referenceRho
        c.referenceIterations = try reference.int("iterations", range: 1...100_000) ?? c.referenceIterations
        try reference.finish()
        try check.finish()
        guard prior.typeName == "lpn" else {
            throw root.fail("check", "cross-validates a learned prior against TV; prior.type is \(prior.typeName), not lpn")
        }
        guard solver.kind == .admm || solver.kind == .pgd else {
            throw root.fail("check", "needs solver type admm or pgd, not \(solver.kind.rawValue)")
        }
        let units = frame.makeOperator().measurementUnits.count
        guard units >= c.folds else {
            throw check.fail("folds", "\(c.folds) folds need as many measurement units to hold out; the operator has \(units)")
        }
        return c
    }
}
