import LPN
import TensorIO
import Testing

@Suite struct PriorTests {
    /// φ(f(y)) is known in closed form from y; inverting f at x = f(y) must recover it, on the
    /// model's N×N (no padding) and on a frame of another size (reflect padding).
    @Test(arguments: [(32, 32, FramePadding.unpadded), (40, 56, FramePadding.reflect)])
    func inversionRecoversTheKnownPhi(height: Int, width: Int, padding: FramePadding) throws {
        let model = try RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 10, alpha: 0.05, seed: 5)
        let frame = try WholeFrameProx(model: model, height: height, width: width, padding: padding)
        let y = randomImage(height * width, seed: 21)
        let (psi, x) = frame.psiAndProx(y)
        let expected = dot(y, x) - 0.5 * dot(x, x) - psi
        let prior = try LearnedPrior(model: model, padding: padding, tolerance: 1e-5, maxIterations: 1000)
        let result = try prior.evaluate(x, height: height, width: width)
        #expect(result.converged, "inversion stopped at residual \(result.residual)")
        #expect(abs(result.phi - expected) <= 1e-3 * max(1, abs(expected)),
                "φ = \(result.phi), expected \(expected)")
        // The cheap per-frame statistic is the same identity at y itself.
        var f = [Float](repeating: 0, count: y.count)
        let stats = y.withUnsafeBufferPointer { yp in
            f.withUnsafeMutableBufferPointer { PriorStatistics.measure(yp.baseAddress!, frame: frame, scratch: $0.baseAddress!) }
        }
        #expect(abs(stats.phi * Double(y.count) - expected) <= 1e-6 * max(1, abs(expected)))
    }

    @Test func calibrationFlagsWhatLiesAboveItsWidenedRange() {
        let c = PriorCalibration(measured: [.init(phi: -2, displacement: 0.01), .init(phi: -1, displacement: 0.03)],
                                 height: 128, width: 128)
        #expect(c.phi == [-2, -1] && c.displacement == [0.01, 0.03] && c.images == 2 && c.size == [128, 128])
        #expect(c.outside(.init(phi: -0.6, displacement: 0.035), height: 128, width: 128).isEmpty)
        #expect(c.outside(.init(phi: -9, displacement: 0.001), height: 128, width: 128).isEmpty, "smoother is not outside")
        #expect(c.outside(.init(phi: -0.2, displacement: 0.02), height: 128, width: 128) == ["phi"])
        #expect(c.outside(.init(phi: -0.2, displacement: 0.02), height: 64, width: 64).isEmpty, "φ only at the calibration size")
        #expect(c.outside(.init(phi: -1.5, displacement: 0.2), height: 64, width: 96) == ["displacement"])
        #expect(c.outside(.init(phi: .nan, displacement: 0.02), height: 128, width: 128) == ["phi"])
    }
}
