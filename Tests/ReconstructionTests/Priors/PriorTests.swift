import Foundation
import LPN
import Reconstruction
import Testing

@Suite struct LPNPriorTests {
    static func model() throws -> LPNModel {
        try LPNModel(path: Fixture.path("../../LPNTests/Fixtures/n32_c1.safetensors"))
    }

    func apply(_ prior: ProximalPrior, _ v: [Float]) -> [Float] {
        var z = [Float](repeating: 0, count: v.count)
        v.withUnsafeBufferPointer { vp in z.withUnsafeMutableBufferPointer { prior.prox(vp.baseAddress!, $0.baseAddress!) } }
        return z
    }

    /// θ-relaxation is exactly θ·f(v) + (1 − θ)·v; on an N×N frame f is the engine's.
    @Test func strengthRelaxesTheProx() throws {
        let m = try Self.model()
        let v = randomVector(32 * 32, seed: 3).map { 0.5 + 0.2 * $0 }
        let full = apply(try LPNPrior(model: m, processing: .whole(padding: .unpadded), height: 32, width: 32), v)
        let f = try LPNProx(model: m, processing: .whole(padding: .unpadded)).apply(.init(shape: [32, 32], data: v)).data
        #expect(maxAbsDifference(full, f) < 1e-6)
        let half = apply(try LPNPrior(model: m, processing: .whole(padding: .unpadded), height: 32, width: 32, strength: 0.3), v)
        let expected = zip(f, v).map { 0.3 * $0 + 0.7 * $1 }
        #expect(maxAbsDifference(half, expected) < 1e-5)
    }

    /// Without overlap (stride N) Hann weighting and plain averaging coincide; with overlap
    /// they differ, and Hann is a per-pixel convex combination of the patch outputs, so it
    /// stays within the uniform result's range on a constant frame.
    @Test func hannWeighting() throws {
        let m = try Self.model()
        let v = randomVector(64 * 64, seed: 4).map { 0.5 + 0.2 * $0 }
        let hannNoOverlap = apply(try LPNPrior(model: m, processing: .patches(stride: 32, weighting: .hann), height: 64, width: 64), v)
        let uniformNoOverlap = apply(try LPNPrior(model: m, processing: .patches(stride: 32, weighting: .uniform), height: 64, width: 64), v)
        #expect(maxAbsDifference(hannNoOverlap, uniformNoOverlap) < 1e-5)
        let hann = apply(try LPNPrior(model: m, processing: .patches(stride: 16, weighting: .hann), height: 64, width: 64), v)
        let uniform = apply(try LPNPrior(model: m, processing: .patches(stride: 16, weighting: .uniform), height: 64, width: 64), v)
        #expect(maxAbsDifference(hann, uniform) > 1e-4)
        let constant = [Float](repeating: 0.4, count: 64 * 64)
        let c = apply(try LPNPrior(model: m, processing: .patches(stride: 16, weighting: .hann), height: 64, width: 64), constant)
        let patch = try LPNProx(model: m, processing: .whole(padding: .unpadded)).apply(.init(shape: [32, 32], data: [Float](repeating: 0.4, count: 1024))).data
        let lo = patch.min()!, hi = patch.max()!
        #expect(c.allSatisfy { $0 >= lo - 1e-5 && $0 <= hi + 1e-5 })
    }
}
