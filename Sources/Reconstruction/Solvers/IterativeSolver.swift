import Foundation

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
