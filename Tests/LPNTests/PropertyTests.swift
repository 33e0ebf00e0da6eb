import LPN
import TensorIO
import Testing

/// Properties every LPN has by construction: f = ∇ψ, f monotone, ψ convex; patches agree
/// with direct evaluation. Run on random valid models so they do not depend on fixtures.
@Suite struct PropertyTests {
    let model = try! RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 10, alpha: 0.01, seed: 3)

    @Test func gradientMatchesFiniteDifferences() {
        let engine = LPNEngine(model: model)
        let x = randomImage(32 * 32, seed: 11)
        let (_, f) = engine.psiAndProx(x)
        for direction in 0..<4 {
            let v = randomImage(32 * 32, seed: 100 + UInt64(direction), range: -1...1)
            let eps: Float = 1e-2
            let plus = engine.psi(zip(x, v).map { $0 + eps * $1 })
            let minus = engine.psi(zip(x, v).map { $0 - eps * $1 })
            let numeric = Double(plus - minus) / Double(2 * eps)
            let analytic = dot(f, v)
            #expect(abs(numeric - analytic) <= 2e-3 * max(abs(analytic), 1),
                    "direction \(direction): finite difference \(numeric) vs ⟨f, v⟩ \(analytic)")
        }
    }

    @Test func proxIsMonotone() {
        let engine = LPNEngine(model: model)
        for pair in 0..<8 {
            let a = randomImage(32 * 32, seed: 200 + UInt64(pair))
            let b = randomImage(32 * 32, seed: 300 + UInt64(pair))
            let (_, fa) = engine.psiAndProx(a)
            let (_, fb) = engine.psiAndProx(b)
            let inner = dot(zip(fa, fb).map { $0 - $1 }, zip(a, b).map { $0 - $1 })
            #expect(inner >= 0, "pair \(pair): ⟨f(a) − f(b), a − b⟩ = \(inner)")
        }
    }

    @Test func potentialIsConvexAlongSegments() {
        let engine = LPNEngine(model: model)
        for segment in 0..<4 {
            let a = randomImage(32 * 32, seed: 400 + UInt64(segment))
            let b = randomImage(32 * 32, seed: 500 + UInt64(segment))
            let psiA = Double(engine.psi(a)), psiB = Double(engine.psi(b))
            for t in stride(from: Float(0.1), to: 1, by: 0.2) {
                let mid = zip(a, b).map { (1 - t) * $0 + t * $1 }
                let chord = Double(1 - t) * psiA + Double(t) * psiB
                #expect(Double(engine.psi(mid)) <= chord + 1e-5 * abs(chord),
                        "segment \(segment), t = \(t): ψ above its chord")
            }
        }
    }

    @Test func patchwiseEqualsDirectOnAnNByNFrame() throws {
        let x = Tensor(shape: [1, 32, 32], data: randomImage(32 * 32, seed: 12))
        let direct = LPNEngine(model: model).psiAndProx(x.data).1
        for stride in [8, 16, 32] {
            let patched = try LPNProx(model: model, processing: .patches(stride: stride, weighting: .uniform)).apply(x)
            #expect(patched.data == direct, "stride \(stride) changed an N×N frame")
        }
    }

    @Test func patchesCoverFramesThatAreNotAMultipleOfTheStride() throws {
        // 45 = 32 + 13: starts 0, 13 (flush with the edge); every pixel of a constant-mean
        // frame must be written, so no output pixel may stay exactly zero.
        let x = Tensor(shape: [45, 40], data: randomImage(45 * 40, seed: 13, range: 0.2...0.8))
        let f = try LPNProx(model: model, processing: .patches(stride: 16, weighting: .uniform)).apply(x)
        #expect(f.shape == [45, 40])
        #expect(f.data.allSatisfy { $0 != 0 && $0.isFinite })
        #expect(PatchGrid.starts(length: 45, patch: 32, stride: 16) == [0, 13])
        #expect(PatchGrid.starts(length: 96, patch: 32, stride: 16) == [0, 16, 32, 48, 64])
    }

    @Test func engineReusesBuffersAcrossCalls() {
        let engine = LPNEngine(model: model)
        let x = randomImage(32 * 32, seed: 14)
        let first = engine.psiAndProx(x)
        _ = engine.psiAndProx(randomImage(32 * 32, seed: 15))
        let again = engine.psiAndProx(x)
        #expect(first.0 == again.0 && first.1 == again.1, "state leaked between calls")
    }
}
