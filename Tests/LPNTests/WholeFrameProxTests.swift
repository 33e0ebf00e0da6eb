import LPN
import TensorIO
import Testing

/// The whole-frame prox is exactly ∇ψ_frame of a convex ψ_frame on frames of any size:
/// checked numerically on a 192×256 frame (not the model's 32×32) for every padding.
@Suite struct WholeFrameProxTests {
    let model = try! RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 10, alpha: 0.01, seed: 3)
    static let paddings: [FramePadding] = [.reflect, .circular, .zero, .unpadded]
    let h = 192, w = 256

    @Test(arguments: paddings)
    func gradientMatchesFiniteDifferences(padding: FramePadding) throws {
        let frame = try WholeFrameProx(model: model, height: h, width: w, padding: padding)
        let x = randomImage(h * w, seed: 11)
        let (_, f) = frame.psiAndProx(x)
        for direction in 0..<3 {
            let v = randomImage(h * w, seed: 100 + UInt64(direction), range: -1...1)
            let eps: Float = 1e-2
            let plus = frame.psi(zip(x, v).map { $0 + eps * $1 })
            let minus = frame.psi(zip(x, v).map { $0 - eps * $1 })
            let numeric = (plus - minus) / Double(2 * eps)
            let analytic = dot(f, v)
            #expect(abs(numeric - analytic) <= 2e-3 * max(abs(analytic), 1),
                    "\(padding), direction \(direction): finite difference \(numeric) vs ⟨f, v⟩ \(analytic)")
        }
    }

    /// f = ∇ψ has a symmetric Jacobian (the Hessian of ψ): ⟨J u, v⟩ = ⟨u, J v⟩, with J u by
    /// central differences of f. Blended patches fail this (see the last test).
    @Test(arguments: paddings)
    func jacobianIsSymmetric(padding: FramePadding) throws {
        let frame = try WholeFrameProx(model: model, height: h, width: w, padding: padding)
        let (a, b) = symmetryGap(x: randomImage(h * w, seed: 12), frame.prox)
        #expect(abs(a - b) <= 1e-2 * max(abs(a), abs(b), 1e-6), "\(padding): ⟨Ju, v⟩ = \(a), ⟨u, Jv⟩ = \(b)")
    }

    @Test(arguments: paddings)
    func proxIsMonotone(padding: FramePadding) throws {
        let frame = try WholeFrameProx(model: model, height: h, width: w, padding: padding)
        for pair in 0..<4 {
            let a = randomImage(h * w, seed: 200 + UInt64(pair)), b = randomImage(h * w, seed: 300 + UInt64(pair))
            let inner = dot(zip(frame.prox(a), frame.prox(b)).map { $0 - $1 }, zip(a, b).map { $0 - $1 })
            #expect(inner >= 0, "\(padding), pair \(pair): ⟨f(a) − f(b), a − b⟩ = \(inner)")
        }
    }

    /// On an N×N frame without padding the whole-frame prox is the model, bit for bit.
    @Test func agreesWithTheModelOnAnNByNFrame() throws {
        let frame = try WholeFrameProx(model: model, height: 32, width: 32, padding: .unpadded)
        #expect(frame.scale == 1)
        let x = randomImage(32 * 32, seed: 13)
        let (psi, f) = frame.psiAndProx(x)
        let (enginePsi, engineF) = LPNEngine(model: model).psiAndProx(x)
        #expect(f == engineF)
        #expect(abs(psi - Double(enginePsi)) <= 1e-6 * abs(psi))
    }

    /// s = P / (N/8)²: on 192×256 with reflect padding (N/2 a side) the 224×288 frame has
    /// 25×33 positions of the 4×4 window on its 28×36 map.
    @Test func scaleRestoresTheStrengthOfOneWindow() throws {
        let frame = try WholeFrameProx(model: model, height: h, width: w, padding: .reflect)
        #expect(frame.engine.height == 224 && frame.engine.width == 288)
        #expect(frame.scale == Float(25 * 33) / 16)
        // Frames whose sides are not multiples of 8, and frames smaller than N, are padded.
        let odd = try WholeFrameProx(model: model, height: 45, width: 20)
        #expect(odd.engine.height % 8 == 0 && odd.engine.width % 8 == 0 && odd.engine.width >= 32)
        let (_, f) = odd.psiAndProx(randomImage(45 * 20, seed: 14))
        #expect(f.allSatisfy { $0.isFinite })
    }

    @Test func paddingMapsIndices() {
        let reflect = FramePadding.reflect.indexMap(length: 5, modelSize: 8).map(Int.init)
        // 4 before, 5 frame pixels, 4 + 3 after (rounding 5 up to 8): symmetric extension.
        #expect(reflect == [3, 2, 1, 0, 0, 1, 2, 3, 4, 4, 3, 2, 1, 0, 0, 1])
        #expect(FramePadding.circular.indexMap(length: 8, modelSize: 16).map(Int.init) == Array(0..<8) + Array(0..<8))
        #expect(FramePadding.zero.indexMap(length: 8, modelSize: 16).map(Int.init) == [Int](repeating: -1, count: 8) + Array(0..<8) + [Int](repeating: -1, count: 8))
        #expect(FramePadding.unpadded.indexMap(length: 8, modelSize: 16).map(Int.init) == Array(0..<8))
    }

    /// The patch blend it replaces is not a gradient: its Jacobian is measurably asymmetric.
    @Test func blendedPatchesAreNotAGradient() throws {
        let patches = try LPNProx(model: model, processing: .patches(stride: 16, weighting: .hann))
        let (a, b) = symmetryGap(x: randomImage(64 * 64, seed: 15), { x in
            try! patches.apply(Tensor(shape: [64, 64], data: x)).data
        })
        #expect(abs(a - b) > 1e-2 * max(abs(a), abs(b)), "⟨Ju, v⟩ = \(a), ⟨u, Jv⟩ = \(b)")
    }

    /// (⟨J u, v⟩, ⟨u, J v⟩) at x, J by central differences of f.
    private func symmetryGap(x: [Float], _ f: ([Float]) -> [Float]) -> (Double, Double) {
        let u = randomImage(x.count, seed: 400, range: -1...1), v = randomImage(x.count, seed: 401, range: -1...1)
        let eps: Float = 1e-2
        func jacobian(_ d: [Float]) -> [Float] {
            let plus = f(zip(x, d).map { $0 + eps * $1 }), minus = f(zip(x, d).map { $0 - eps * $1 })
            return zip(plus, minus).map { ($0 - $1) / (2 * eps) }
        }
        return (dot(jacobian(u), v), dot(u, jacobian(v)))
    }
}

extension WholeFrameProx {
    func psiAndProx(_ x: [Float]) -> (Double, [Float]) {
        var f = [Float](repeating: 0, count: x.count)
        let psi = x.withUnsafeBufferPointer { xp in
            f.withUnsafeMutableBufferPointer { fp in evaluate(xp.baseAddress!, gradient: fp.baseAddress!) }
        }
        return (psi, f)
    }

    func prox(_ x: [Float]) -> [Float] { psiAndProx(x).1 }

    func psi(_ x: [Float]) -> Double {
        x.withUnsafeBufferPointer { evaluate($0.baseAddress!) }
    }
}
