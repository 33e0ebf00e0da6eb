import Foundation
import Reconstruction
import Testing

@Suite struct ConvergenceCheckTests {
    func records(primal: [Double]) -> [IterationRecord] {
        primal.enumerated().map { i, r in
            IterationRecord(iteration: i + 1, relativeChange: 0.01, dataResidual: 0.1, primalResidual: r,
                            dualResidual: r / 2, innerIterations: nil, seconds: 0)
        }
    }

    @Test func settlingRunsAreNotFlagged() {
        let check = ConvergenceCheck()
        let decaying = (0..<20).map { 5 * pow(0.8, Double($0)) }
        #expect(check.assess(records(primal: decaying), stopReason: .maxIterations, pixels: 100) == nil)
        // A bump on the way down, as ADMM often has early on, is no reason either.
        let bumpy = [4.0, 3.0, 3.5, 2.0, 1.5, 1.6, 1.0, 0.8, 0.7, 0.6, 0.5, 0.45]
        #expect(check.assess(records(primal: bumpy), stopReason: .maxIterations, pixels: 100) == nil)
        let rising = (0..<20).map { 1 + Double($0) }
        #expect(check.assess(records(primal: rising), stopReason: .tolerance, pixels: 100) == nil, "a run that met its tolerance")
    }

    /// The natural model on a phantom: the primal residual climbed from 4.9 to 21.5 in 20
    /// iterations (issue report).
    @Test func growingPrimalResidualIsFlagged() throws {
        let rising = (0..<20).map { 4.9 * pow(21.5 / 4.9, Double($0) / 19) }
        let reason = try #require(ConvergenceCheck().assess(records(primal: rising), stopReason: .maxIterations, pixels: 100))
        #expect(reason.contains("grew") && reason.contains("4.9") && reason.contains("21.5"), "\(reason)")
    }

    @Test func oscillationWithoutProgressIsFlagged() throws {
        let swinging = (0..<20).map { 2 + ($0 % 2 == 0 ? 0.6 : -0.6) }
        let reason = try #require(ConvergenceCheck().assess(records(primal: swinging), stopReason: .maxIterations, pixels: 100))
        #expect(reason.contains("oscillates"), "\(reason)")
        // Alternating while shrinking fast is convergence, not oscillation.
        let damped = (0..<20).map { pow(0.7, Double($0)) * ($0 % 2 == 0 ? 1.2 : 0.8) }
        #expect(ConvergenceCheck().assess(records(primal: damped), stopReason: .maxIterations, pixels: 100) == nil)
    }

    /// TV-ADMM's primal residual wobbling at 10⁻³ on a 128×128 frame (RMS 10⁻⁵) is rounding.
    @Test func movementBelowTheFloorIsNotFlagged() {
        let wobble = (0..<60).map { 0.002 * pow(0.9, Double(min($0, 45))) * ($0 >= 45 ? 2.5 : 1) }
        #expect(ConvergenceCheck().assess(records(primal: wobble), stopReason: .maxIterations, pixels: 128 * 128) == nil)
        #expect(ConvergenceCheck().assess(records(primal: wobble.map { $0 * 1000 }), stopReason: .maxIterations,
                                          pixels: 128 * 128) != nil)
    }
}
