import LPN
import TensorIO
import Testing

@Suite struct PriorTests {
    /// φ(f(y)) is known in closed form from y; inverting f at x = f(y) must recover it.
    @Test func inversionRecoversTheKnownPhi() throws {
        let model = try RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 10, alpha: 0.05, seed: 5)
        let engine = LPNEngine(model: model)
        let y = randomImage(32 * 32, seed: 21)
        let (psi, x) = engine.psiAndProx(y)
        let expected = dot(y, x) - 0.5 * dot(x, x) - Double(psi)
        let prior = LearnedPrior(model: model, tolerance: 1e-5, maxIterations: 1000)
        let result = prior.evaluate(x)
        #expect(result.converged, "inversion stopped at residual \(result.residual)")
        #expect(abs(result.phi - expected) <= 1e-3 * max(1, abs(expected)),
                "φ = \(result.phi), expected \(expected)")
    }
}
