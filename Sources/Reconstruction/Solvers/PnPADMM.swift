import Foundation
import TensorIO
import Support

/// PnP-ADMM for min s‖y − Ax‖² + φ(x), in the reference order (docs/MATH.md §5):
///     x ← (2s·AᵀA + ρI)⁻¹ (2s·Aᵀy + ρ(z − u))   (closed form or warm-started CG)
///     u ← u + x − z
///     z ← prox_φ(x + u)
/// from z = x0, u = 0; returns x.
///
/// With `box` (real images) the problem is min s‖y − Ax‖² + φ(x) + ι_[0,1](x), split once more
/// (x = z for φ with penalty ρ, x = b for the box with penalty ρ_b = ρ/10; ADMM on the stacked
/// constraint, docs/MATH.md §5):
///     x ← (2s·AᵀA + (ρ + ρ_b)I)⁻¹ (2s·Aᵀy + ρ(z − u) + ρ_b(b − w))
///     u ← u + x − z,  w ← w + x − b
///     z ← prox_φ(x + u),  b ← clip(x + w, 0, 1)
/// Both proxes stay exact, so what holds for ADMM on φ holds here; the box keeps the iterate off
/// values no training image had, where φ was never fitted (a sparse problem's null space lets the
/// iterate drift there). The clip does not depend on ρ_b, so ρ_b sets only how fast the box
/// acts; a tenth of ρ leaves the x-step's pull toward the prior nearly as without the box.
///
/// Its relative change is max(‖xₖ − xₖ₋₁‖/‖xₖ₋₁‖, ‖zₖ − zₖ₋₁‖/‖zₖ₋₁‖): x alone can stand still
/// while z has not moved yet (the first step from a least-squares start returns that start), so
/// `tolerance` stops ADMM only once both the data step and the prior step have settled.
public final class PnPADMM: IterativeSolver {
    public let name = "admm"
    public let op: LinearOperator
    public let prior: ProximalPrior
    public let rho: Float, dataWeight: Float
    /// The box split's penalty ρ_b as a fraction of ρ.
    public static let boxPenaltyFraction: Float = 0.1

    /// The x-step's shift: ρ, or ρ + ρ_b with the box.
    public static func xStepShift(rho: Float, box: Bool) -> Float {
        box ? rho + rho * boxPenaltyFraction : rho
    }
    /// ρ_b (0 without the box).
    public let rhoBox: Float
    /// The x-step's shift, ``xStepShift(rho:box:)``.
    let shift: Float
    public let cgTolerance: Double, cgIterations: Int
    /// Whether the x-step is closed form (else CG).
    public let closedForm: Bool
    /// Whether x is also constrained to [0, 1] (the third split).
    public let box: Bool
    let data: DataTerm
    let x: FloatBuffer, z: FloatBuffer, u: FloatBuffer, zPrevious: FloatBuffer, xPrevious: FloatBuffer
    let aty: FloatBuffer, work: FloatBuffer
    /// The box split's variable and scaled dual (empty without `box`).
    let b: FloatBuffer, w: FloatBuffer
    let cg: ConjugateGradient
    var iteration = 0

    public var iterate: UnsafeMutablePointer<Float> { x.pointer }

    public init(operator op: LinearOperator, prior: ProximalPrior, settings: SolverSettings) throws {
        self.op = op
        self.prior = prior
        rho = Float(settings.rho)
        dataWeight = Float(settings.dataWeight)
        guard rho > 0, dataWeight > 0 else {
            throw ReconstructionError.invalidArgument("ADMM needs rho > 0 and data_weight > 0")
        }
        box = settings.box && op.imageType == .float32
        rhoBox = box ? rho * Self.boxPenaltyFraction : 0
        cgTolerance = settings.cgTolerance
        cgIterations = settings.cgIterations
        shift = Self.xStepShift(rho: rho, box: box)
        switch settings.xStep {
        case .cg: closedForm = false
        case .auto: closedForm = op.prepareNormalSolve(dataWeight: 2 * dataWeight, shift: shift)
        case .closedForm:
            guard op.prepareNormalSolve(dataWeight: 2 * dataWeight, shift: shift) else {
                throw ReconstructionError.invalidArgument("operator \(type(of: op)) has no closed-form x-step; use x_step: cg or auto")
            }
            closedForm = true
        }
        let n = op.imageCount
        data = DataTerm(op: op)
        x = FloatBuffer(n); z = FloatBuffer(n); u = FloatBuffer(n)
        zPrevious = FloatBuffer(n); xPrevious = FloatBuffer(n); aty = FloatBuffer(n); work = FloatBuffer(n)
        b = FloatBuffer(box ? n : 0); w = FloatBuffer(box ? n : 0)
        cg = ConjugateGradient(op: op)
    }

    public func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>) {
        data.load(y)
        op.adjoint(y, aty.pointer)
        x.copy(from: x0)
        z.copy(from: x0)
        u.fill(0)
        if box {
            for i in 0..<b.count { b.pointer[i] = min(max(x0[i], 0), 1) }
            w.fill(0)
        }
        prior.reset()
        iteration = 0
    }

    /// x, z, u (and with the box b, w): everything the next iteration reads.
    public func saveState(into state: inout SolverState) { state.save(box ? [x, z, u, b, w] : [x, z, u]) }

    /// A warm start: the iteration goes on from the saved x, z, u (b, w) with the new data;
    /// the prior's own state is reset as for a cold start.
    public func resume(measurement y: UnsafePointer<Float>, from state: SolverState) {
        data.load(y)
        op.adjoint(y, aty.pointer)
        state.load(into: box ? [x, z, u, b, w] : [x, z, u])
        prior.reset()
        iteration = 0
    }

    public func currentResidual() -> Double { data.residual(x.pointer) }

    public func step() -> IterationRecord {
        let t0 = MonotonicClock.seconds()
        let n = op.imageCount
        let s2 = 2 * dataWeight
        iteration += 1
        xPrevious.copy(from: x)
        // x-step: rhs = 2s Aᵀy + ρ(z − u) [+ ρ_b(b − w)]
        let rhs = work.pointer
        for i in 0..<n { rhs[i] = s2 * aty.pointer[i] + rho * (z.pointer[i] - u.pointer[i]) }
        if box { for i in 0..<n { rhs[i] += rhoBox * (b.pointer[i] - w.pointer[i]) } }
        var inner: Int? = nil
        if closedForm {
            x.copy(from: rhs)
            op.normalSolve(x.pointer)
        } else {
            inner = cg.solve(x.pointer, rhs: rhs, a: s2, b: shift, tolerance: cgTolerance,
                             maxIterations: cgIterations)
        }
        // u-step [and the box: w-step, then b-step]
        for i in 0..<n { u.pointer[i] += x.pointer[i] - z.pointer[i] }
        if box {
            for i in 0..<n {
                w.pointer[i] += x.pointer[i] - b.pointer[i]
                b.pointer[i] = min(max(x.pointer[i] + w.pointer[i], 0), 1)
            }
        }
        // z-step
        zPrevious.copy(from: z)
        for i in 0..<n { work.pointer[i] = x.pointer[i] + u.pointer[i] }
        let tProx = MonotonicClock.seconds()
        prior.prox(work.pointer, z.pointer)
        let proxSeconds = MonotonicClock.seconds() - tProx
        let primal = Vec.distance(x.pointer, z.pointer, n)
        let zStep = Vec.distance(z.pointer, zPrevious.pointer, n)
        let dual = Double(rho) * zStep
        let change = max(Vec.relativeChange(x.pointer, from: xPrevious.pointer, n),
                         Vec.relativeChange(distance: zStep, from: zPrevious.pointer, n))
        let residual = data.residual(x.pointer)
        return IterationRecord(iteration: iteration, relativeChange: change, dataResidual: residual,
                               primalResidual: primal, dualResidual: dual, innerIterations: inner,
                               seconds: MonotonicClock.seconds() - t0, proxSeconds: proxSeconds)
    }
}
