import Foundation
import LPN
import TensorIO

/// The `solver` section of a pipeline file (docs/PIPELINES.md, "solver"): the common keys, then
/// each kind's own.
extension PipelineLoader {
    static func solver(_ root: YAMLSection, _ frame: Frame, prior: PriorSpec) throws -> SolverSettings {
        let section = try root.required("solver", root.section)
        var s = SolverSettings()
        s.kind = try section.required("type") { try section.choice($0, SolverSettings.Kind.self) }
        s.iterations = try section.int("iterations", range: 0...100_000) ?? s.iterations
        s.tolerance = try section.double("tolerance", min: 0) ?? s.tolerance
        s.initialization = try section.choice("init", SolverSettings.Initialization.self) ?? s.initialization
        s.initIterations = try section.int("init_iterations", range: 0...10_000) ?? s.initIterations
        s.divergenceFactor = try section.double("divergence_factor", min: 1, exclusiveMin: true) ?? s.divergenceFactor
        s.warmStart = try section.bool("warm_start") ?? s.warmStart
        s.warmStartRatio = try section.double("warm_start_ratio", min: 1, exclusiveMin: true) ?? s.warmStartRatio
        s.warmIterations = try section.int("warm_iterations", range: 1...100_000)
        switch s.kind {
        case .admm:
            s.rho = try section.double("rho", min: 0, exclusiveMin: true) ?? s.rho
            s.dataWeight = try section.double("data_weight", min: 0, exclusiveMin: true) ?? s.dataWeight
            s.xStep = try section.choice("x_step", SolverSettings.XStep.self) ?? s.xStep
            s.cgTolerance = try section.double("cg_tolerance", min: 0) ?? s.cgTolerance
            s.cgIterations = try section.int("cg_iterations", range: 1...10_000) ?? s.cgIterations
            s.box = try section.bool("box") ?? s.box
        case .pgd:
            s.step = try section.double("step", min: 0, exclusiveMin: true) ?? s.step
            s.clip = try section.bool("clip") ?? (s.clip && !frame.scaleIsEstimated)
        case .leastSquares, .adjoint:
            break
        }
        try section.finish()
        if s.box, frame.imageType == .complex64 {
            throw section.fail("box", "the box 0 ≤ x ≤ 1 needs a real image (image.type float32)")
        }
        if s.box, frame.scaleIsEstimated {
            throw section.fail("box", "the box 0 ≤ x ≤ 1 with operator.normalize: true would cut every pixel brighter than the estimated scale (set box: false)")
        }
        if s.kind == .pgd, s.clip, frame.scaleIsEstimated {
            throw section.fail("clip", "clipping to [0, 1] with operator.normalize: true would cut every pixel brighter than the estimated scale (set clip: false)")
        }
        if s.kind == .admm, s.xStep == .closedForm {
            let shift = PnPADMM.xStepShift(rho: Float(s.rho), box: s.box)
            guard frame.makeOperator().prepareNormalSolve(dataWeight: Float(2 * s.dataWeight), shift: shift) else {
                throw section.fail("x_step", "operator \(frame.operatorType) has no closed-form x-step; use cg or auto")
            }
        }
        if s.kind == .leastSquares || s.kind == .adjoint, prior.typeName != "none" {
            throw section.fail("type", "solver \(s.kind.rawValue) takes no prior; set prior.type: none")
        }
        return s
    }
}
