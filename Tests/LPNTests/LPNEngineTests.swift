import LPN
import Testing

/// The engine's threads: bands of output rows and channel ranges shared out over threads give
/// the same ψ and f bit for bit as one thread (with OpenBLAS on one thread, as lpnd runs it).
@Suite struct LPNEngineTests {
    @Test(arguments: [2, 3])
    func threadsGiveTheSameResultBitForBit(threads: Int) throws {
        _ = blasSingleThreaded
        // 256×256 for a 32×32 model: every convolution runs in several bands.
        let model = try RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 100, alpha: 0.01, seed: 5)
        let single = LPNEngine(model: model, height: 256, width: 256, threads: 1)
        let several = LPNEngine(model: model, height: 256, width: 256, threads: threads)
        #expect(several.threads == threads)
        for seed in [UInt64(21), 22] {
            let x = randomImage(256 * 256, seed: seed)
            let (psi1, f1) = single.psiAndProx(x)
            let (psiN, fN) = several.psiAndProx(x)
            #expect(psi1 == psiN, "ψ: \(psi1) with one thread, \(psiN) with \(threads)")
            let differing = zip(f1, fN).filter { $0 != $1 }.count
            #expect(differing == 0, "f differs at \(differing) of \(f1.count) pixels with \(threads) threads")
        }
    }

    /// An engine told which rectangle of its images varies computes each layer only where that
    /// rectangle reaches: ψ, and f inside the rectangle, equal bit for bit those of an engine that
    /// computes everything; f is zero outside. Rectangles with odd edges, at a border and inside,
    /// on one and two threads; a hidden width that is not a whole number of 8-channel blocks.
    @Test(arguments: [1, 2])
    func varyingRectangleGivesTheWholeResultBitForBit(threads: Int) throws {
        _ = blasSingleThreaded
        let model = try RandomLPN.make(hidden: 12, size: 32, inChannels: 1, beta: 20, alpha: 0.01, seed: 9)
        let (h, w) = (96, 128)
        let whole = LPNEngine(model: model, height: h, width: w, threads: threads)
        for (seed, rect) in [(UInt64(41), MapRegion(rows: 13..<77, columns: 5..<61)),
                             (42, MapRegion(rows: 0..<40, columns: 99..<128)),
                             (43, MapRegion(rows: 24..<72, columns: 24..<104))] {
            let partial = LPNEngine(model: model, height: h, width: w, threads: threads, varying: rect)
            for round in 0..<2 {
                var x = randomImage(h * w, seed: seed + 100 * UInt64(round))
                for r in 0..<h { for c in 0..<w where !(rect.rows.contains(r) && rect.columns.contains(c)) { x[r * w + c] = 0 } }
                let (psiWhole, fWhole) = whole.psiAndProx(x)
                let (psiPart, fPart) = partial.psiAndProx(x)
                #expect(psiWhole == psiPart, "\(rect): ψ \(psiPart), computing everything \(psiWhole)")
                var differing = 0, nonZeroOutside = 0
                for r in 0..<h {
                    for c in 0..<w {
                        let i = r * w + c
                        if rect.rows.contains(r) && rect.columns.contains(c) {
                            if fWhole[i] != fPart[i] { differing += 1 }
                        } else if fPart[i] != 0 { nonZeroOutside += 1 }
                    }
                }
                #expect(differing == 0, "\(rect), call \(round): f differs at \(differing) pixels inside")
                #expect(nonZeroOutside == 0, "\(rect): f is not zero at \(nonZeroOutside) pixels outside")
            }
        }
    }

    /// A model wider than the direct kernels' 32-channel passes (40 channels: two passes forward
    /// and in the adjoint, five blocks of 8): f is still ∇ψ, checked by central differences of ψ
    /// along random directions, with two threads (α ≈ 0, so the network's part is what is checked).
    @Test func wideModelGradientMatchesFiniteDifferences() throws {
        let model = try RandomLPN.make(hidden: 40, size: 32, inChannels: 1, beta: 10, alpha: 1e-6, seed: 7)
        let frame = try WholeFrameProx(model: model, height: 64, width: 96, padding: .zero, threads: 2)
        let x = randomImage(64 * 96, seed: 31)
        let (_, f) = frame.psiAndProx(x)
        for direction in 0..<3 {
            let v = randomImage(64 * 96, seed: 300 + UInt64(direction), range: -1...1)
            let eps: Float = 1e-2
            let plus = frame.psiAndProx(zip(x, v).map { $0 + eps * $1 }).0
            let minus = frame.psiAndProx(zip(x, v).map { $0 - eps * $1 }).0
            let numeric = (plus - minus) / Double(2 * eps)
            let analytic = dot(f, v)
            #expect(abs(numeric - analytic) <= 1e-2 * abs(analytic),
                    "direction \(direction): finite difference \(numeric) vs ⟨f, v⟩ \(analytic)")
        }
    }
}
