import Foundation
import TensorIO

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
    /// Stop when ‖x_k − x_{k−1}‖/‖x_{k−1}‖ < tolerance (0: never; run all iterations).
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
    public var initialization = Initialization.adjoint
    /// CG steps of the least-squares start.
    public var initIterations = 10
    /// Divergence: residual above factor × max(initial residual, 1), or non-finite values.
    public var divergenceFactor = 1e3

    public init() {}
}

/// The common shape of the iterative solvers: start, step, and (extension) solve.
public protocol IterativeSolver: AnyObject {
    var name: String { get }
    /// The current iterate x (image floats).
    var iterate: UnsafeMutablePointer<Float> { get }
    /// Resets the state for a new frame: measurement y, start x0.
    func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>)
    /// One iteration.
    func step() -> IterationRecord
    /// ‖A x − y‖/‖y‖ of the current iterate.
    func currentResidual() -> Double
}

/// What a run of ``IterativeSolver/solve(iterations:tolerance:divergenceFactor:callback:)`` ended with.
public struct SolveOutcome: Sendable {
    public var records: [IterationRecord]
    public var stopReason: StopReason
    public var initialResidual: Double
}

extension IterativeSolver {
    /// Iterates until `iterations` or relative change < `tolerance`. Throws
    /// ``ReconstructionError/diverged(iteration:reason:)`` on non-finite values or when the
    /// residual exceeds `divergenceFactor`·max(initial residual, 1). `callback` sees every
    /// record; returning false stops early (stop reason maxIterations).
    public func solve(iterations: Int, tolerance: Double, divergenceFactor: Double,
                      callback: ((IterationRecord) -> Bool)? = nil) throws -> SolveOutcome {
        let initial = currentResidual()
        var records: [IterationRecord] = []
        records.reserveCapacity(iterations)
        var reason = StopReason.maxIterations
        for _ in 0..<iterations {
            let record = step()
            records.append(record)
            if !record.relativeChange.isFinite || !record.dataResidual.isFinite {
                throw ReconstructionError.diverged(iteration: record.iteration, reason: "non-finite iterate (relative change \(record.relativeChange), residual \(record.dataResidual))")
            }
            if record.dataResidual > divergenceFactor * max(initial.isFinite ? initial : 1, 1) {
                throw ReconstructionError.diverged(iteration: record.iteration, reason: "data residual \(record.dataResidual) exceeds \(divergenceFactor)× the initial \(initial)")
            }
            if let callback, !callback(record) { break }
            if record.relativeChange < tolerance { reason = .tolerance; break }
        }
        return SolveOutcome(records: records, stopReason: reason, initialResidual: initial)
    }
}

/// Conjugate gradients for (a·AᵀA + b·I) x = rhs with buffers allocated once.
final class NormalCG {
    let op: LinearOperator
    let r: FloatBuffer, p: FloatBuffer, q: FloatBuffer, scratch: FloatBuffer
    init(op: LinearOperator) {
        self.op = op
        r = FloatBuffer(op.imageCount); p = FloatBuffer(op.imageCount); q = FloatBuffer(op.imageCount)
        scratch = FloatBuffer(op.measurementCount)
    }

    /// q = (a AᵀA + b I) v.
    func apply(_ v: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, a: Float, b: Float) {
        op.forward(v, scratch.pointer)
        op.adjoint(scratch.pointer, out)
        let n = op.imageCount
        for i in 0..<n { out[i] = a * out[i] + b * v[i] }
    }

    /// Solves in place from the warm start in x; returns the steps taken.
    @discardableResult
    func solve(_ x: UnsafeMutablePointer<Float>, rhs: UnsafePointer<Float>, a: Float, b: Float,
               tolerance: Double, maxIterations: Int) -> Int {
        let n = op.imageCount
        apply(x, q.pointer, a: a, b: b)
        for i in 0..<n { r.pointer[i] = rhs[i] - q.pointer[i] }
        p.copy(from: r)
        var rs = Vec.dot(r.pointer, r.pointer, n)
        let target = tolerance * Vec.norm(rhs, n)
        var k = 0
        while k < maxIterations && rs.squareRoot() > target {
            apply(p.pointer, q.pointer, a: a, b: b)
            let pq = Vec.dot(p.pointer, q.pointer, n)
            guard pq > 0 else { break }
            let alpha = Float(rs / pq)
            Vec.axpy(alpha, p.pointer, x, n)
            Vec.axpy(-alpha, q.pointer, r.pointer, n)
            let next = Vec.dot(r.pointer, r.pointer, n)
            let beta = Float(next / rs)
            for i in 0..<n { p.pointer[i] = r.pointer[i] + beta * p.pointer[i] }
            rs = next
            k += 1
        }
        return k
    }
}

/// Shared by the solvers: y, ‖y‖ and the residual ‖Ax − y‖/‖y‖.
final class DataTerm {
    let op: LinearOperator
    let y: FloatBuffer, ax: FloatBuffer
    var yNorm = 1.0
    init(op: LinearOperator) {
        self.op = op
        y = FloatBuffer(op.measurementCount)
        ax = FloatBuffer(op.measurementCount)
    }
    func load(_ measurement: UnsafePointer<Float>) {
        y.copy(from: measurement)
        yNorm = max(Vec.norm(y.pointer, y.count), 1e-30)
    }
    /// Leaves Ax − y in `ax` and returns ‖Ax − y‖/‖y‖.
    func residual(_ x: UnsafePointer<Float>) -> Double {
        op.forward(x, ax.pointer)
        Vec.axpy(-1, y.pointer, ax.pointer, ax.count)
        return Vec.norm(ax.pointer, ax.count) / yNorm
    }
}

/// PnP-ADMM for min s‖y − Ax‖² + φ(x), in the reference order (docs/MATH.md §5):
///     x ← (2s·AᵀA + ρI)⁻¹ (2s·Aᵀy + ρ(z − u))   (closed form or warm-started CG)
///     u ← u + x − z
///     z ← prox_φ(x + u)
/// from z = x0, u = 0; returns x.
public final class PnPADMM: IterativeSolver {
    public let name = "admm"
    public let op: LinearOperator
    public let prior: ProximalPrior
    public let rho: Float, dataWeight: Float
    public let cgTolerance: Double, cgIterations: Int
    /// Whether the x-step is closed form (else CG).
    public let closedForm: Bool
    let data: DataTerm
    let x: FloatBuffer, z: FloatBuffer, u: FloatBuffer, zPrevious: FloatBuffer, xPrevious: FloatBuffer
    let aty: FloatBuffer, work: FloatBuffer
    let cg: NormalCG
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
        cgTolerance = settings.cgTolerance
        cgIterations = settings.cgIterations
        switch settings.xStep {
        case .cg: closedForm = false
        case .auto: closedForm = op.prepareNormalSolve(dataWeight: 2 * dataWeight, shift: rho)
        case .closedForm:
            guard op.prepareNormalSolve(dataWeight: 2 * dataWeight, shift: rho) else {
                throw ReconstructionError.invalidArgument("operator \(type(of: op)) has no closed-form x-step; use x_step: cg or auto")
            }
            closedForm = true
        }
        let n = op.imageCount
        data = DataTerm(op: op)
        x = FloatBuffer(n); z = FloatBuffer(n); u = FloatBuffer(n)
        zPrevious = FloatBuffer(n); xPrevious = FloatBuffer(n); aty = FloatBuffer(n); work = FloatBuffer(n)
        cg = NormalCG(op: op)
    }

    public func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>) {
        data.load(y)
        op.adjoint(y, aty.pointer)
        x.copy(from: x0)
        z.copy(from: x0)
        u.fill(0)
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
        // x-step: rhs = 2s Aᵀy + ρ(z − u)
        let rhs = work.pointer
        for i in 0..<n { rhs[i] = s2 * aty.pointer[i] + rho * (z.pointer[i] - u.pointer[i]) }
        var inner: Int? = nil
        if closedForm {
            x.copy(from: rhs)
            op.normalSolve(x.pointer)
        } else {
            inner = cg.solve(x.pointer, rhs: rhs, a: s2, b: rho, tolerance: cgTolerance, maxIterations: cgIterations)
        }
        // u-step
        for i in 0..<n { u.pointer[i] += x.pointer[i] - z.pointer[i] }
        // z-step
        zPrevious.copy(from: z)
        for i in 0..<n { work.pointer[i] = x.pointer[i] + u.pointer[i] }
        let tProx = MonotonicClock.seconds()
        prior.prox(work.pointer, z.pointer)
        let proxSeconds = MonotonicClock.seconds() - tProx
        let primal = Vec.distance(x.pointer, z.pointer, n)
        let dual = Double(rho) * Vec.distance(z.pointer, zPrevious.pointer, n)
        let change = Vec.relativeChange(x.pointer, from: xPrevious.pointer, n)
        let residual = data.residual(x.pointer)
        return IterationRecord(iteration: iteration, relativeChange: change, dataResidual: residual,
                               primalResidual: primal, dualResidual: dual, innerIterations: inner,
                               seconds: MonotonicClock.seconds() - t0, proxSeconds: proxSeconds)
    }
}

/// PnP proximal gradient: x ← clip(prox_φ(x − η·Aᵀ(Ax − y)), 0, 1), η = step/‖A‖².
public final class PnPPGD: IterativeSolver {
    public let name = "pgd"
    public let op: LinearOperator
    public let prior: ProximalPrior
    public let stepSize: Float
    public let clip: Bool
    let data: DataTerm
    let x: FloatBuffer, xNext: FloatBuffer, gradient: FloatBuffer
    var residual = Double.nan
    var iteration = 0

    public var iterate: UnsafeMutablePointer<Float> { x.pointer }

    /// `normSquared`: ‖A‖² (power iteration; pass a cached value).
    public init(operator op: LinearOperator, prior: ProximalPrior, settings: SolverSettings, normSquared: Double) throws {
        guard normSquared > 0, settings.step > 0 else {
            throw ReconstructionError.invalidArgument("PGD needs step > 0 and a non-zero operator")
        }
        self.op = op
        self.prior = prior
        stepSize = Float(settings.step / normSquared)
        clip = settings.clip && op.imageType == .float32
        data = DataTerm(op: op)
        x = FloatBuffer(op.imageCount); xNext = FloatBuffer(op.imageCount); gradient = FloatBuffer(op.imageCount)
    }

    public func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>) {
        data.load(y)
        x.copy(from: x0)
        prior.reset()
        residual = data.residual(x.pointer)  // leaves Ax − y in data.ax
        iteration = 0
    }

    public func currentResidual() -> Double { residual }

    public func step() -> IterationRecord {
        let t0 = MonotonicClock.seconds()
        let n = op.imageCount
        iteration += 1
        op.adjoint(data.ax.pointer, gradient.pointer)  // Aᵀ(Ax − y) of the current x
        for i in 0..<n { gradient.pointer[i] = x.pointer[i] - stepSize * gradient.pointer[i] }
        let tProx = MonotonicClock.seconds()
        prior.prox(gradient.pointer, xNext.pointer)
        let proxSeconds = MonotonicClock.seconds() - tProx
        if clip { for i in 0..<n { xNext.pointer[i] = min(max(xNext.pointer[i], 0), 1) } }
        let change = Vec.relativeChange(xNext.pointer, from: x.pointer, n)
        x.copy(from: xNext)
        residual = data.residual(x.pointer)
        return IterationRecord(iteration: iteration, relativeChange: change, dataResidual: residual,
                               primalResidual: nil, dualResidual: nil, innerIterations: nil, seconds: MonotonicClock.seconds() - t0,
                               proxSeconds: proxSeconds)
    }
}

/// Least squares by CG on the normal equations AᵀA x = Aᵀy (one CG step per iteration; from
/// x0 = 0 it converges to the minimum-norm solution). The "LS" baseline.
public final class LeastSquaresCG: IterativeSolver {
    public let name = "least_squares"
    public let op: LinearOperator
    let data: DataTerm
    let x: FloatBuffer, r: FloatBuffer, p: FloatBuffer, q: FloatBuffer, xPrevious: FloatBuffer
    let scratch: FloatBuffer
    var rs = 0.0
    var iteration = 0

    public var iterate: UnsafeMutablePointer<Float> { x.pointer }

    public init(operator op: LinearOperator) {
        self.op = op
        let n = op.imageCount
        data = DataTerm(op: op)
        x = FloatBuffer(n); r = FloatBuffer(n); p = FloatBuffer(n); q = FloatBuffer(n); xPrevious = FloatBuffer(n)
        scratch = FloatBuffer(op.measurementCount)
    }

    public func start(measurement y: UnsafePointer<Float>, initial x0: UnsafePointer<Float>) {
        let n = op.imageCount
        data.load(y)
        x.copy(from: x0)
        // r = Aᵀy − AᵀA x
        op.forward(x.pointer, scratch.pointer)
        for i in 0..<scratch.count { scratch.pointer[i] = y[i] - scratch.pointer[i] }
        op.adjoint(scratch.pointer, r.pointer)
        p.copy(from: r)
        rs = Vec.dot(r.pointer, r.pointer, n)
        iteration = 0
    }

    public func currentResidual() -> Double { data.residual(x.pointer) }

    public func step() -> IterationRecord {
        let t0 = MonotonicClock.seconds()
        let n = op.imageCount
        iteration += 1
        xPrevious.copy(from: x)
        if rs > 0 {
            op.forward(p.pointer, scratch.pointer)
            op.adjoint(scratch.pointer, q.pointer)
            let pq = Vec.dot(p.pointer, q.pointer, n)
            if pq > 0 {
                let alpha = Float(rs / pq)
                Vec.axpy(alpha, p.pointer, x.pointer, n)
                Vec.axpy(-alpha, q.pointer, r.pointer, n)
                let next = Vec.dot(r.pointer, r.pointer, n)
                let beta = Float(next / rs)
                for i in 0..<n { p.pointer[i] = r.pointer[i] + beta * p.pointer[i] }
                rs = next
            } else {
                rs = 0
            }
        }
        let change = Vec.relativeChange(x.pointer, from: xPrevious.pointer, n)
        let residual = data.residual(x.pointer)
        return IterationRecord(iteration: iteration, relativeChange: change, dataResidual: residual,
                               primalResidual: nil, dualResidual: nil, innerIterations: nil, seconds: MonotonicClock.seconds() - t0)
    }
}
