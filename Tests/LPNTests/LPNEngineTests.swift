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

    /// The same with more at stake: a 256×256 map (the one-channel adjoints' sgemm runs in three
    /// bands, and rectangles start in the second or third), three input channels and a hidden
    /// width under a tile's 8 channels (every adjoint through sgemm), three threads; a one-pixel
    /// rectangle and one in the bottom-right corner. And ``WholeFrameProx`` with zero margins
    /// against an engine that computes the whole padded image.
    @Test func varyingRectangleHoldsAcrossBandsChannelsAndThreads() throws {
        _ = blasSingleThreaded
        for (model, threads) in [(try RandomLPN.make(hidden: 12, size: 32, inChannels: 1, beta: 20, alpha: 0.01, seed: 3), 3),
                                 (try RandomLPN.make(hidden: 4, size: 32, inChannels: 3, beta: 20, alpha: 0.01, seed: 4), 1)] {
            let (h, w, c) = (256, 256, model.configuration.inChannels)
            let whole = LPNEngine(model: model, height: h, width: w, threads: 1)
            for (seed, rect) in [(UInt64(51), MapRegion(rows: 120..<240, columns: 7..<250)),
                                 (52, MapRegion(rows: 130..<131, columns: 64..<65)),
                                 (53, MapRegion(rows: 200..<256, columns: 180..<256))] {
                let partial = LPNEngine(model: model, height: h, width: w, threads: threads, varying: rect)
                var x = randomImage(c * h * w, seed: seed)
                for i in x.indices {
                    let r = (i / w) % h, col = i % w
                    if !(rect.rows.contains(r) && rect.columns.contains(col)) { x[i] = 0 }
                }
                let (psiWhole, fWhole) = whole.psiAndProx(x)
                let (psiPart, fPart) = partial.psiAndProx(x)
                #expect(psiWhole == psiPart, "\(c) channel(s), \(rect): ψ \(psiPart), computing everything \(psiWhole)")
                let differing = x.indices.filter { i in
                    let r = (i / w) % h, col = i % w
                    let inside = rect.rows.contains(r) && rect.columns.contains(col)
                    return inside ? fWhole[i] != fPart[i] : fPart[i] != 0
                }.count
                #expect(differing == 0, "\(c) channel(s), \(rect), \(threads) threads: \(differing) pixels differ")
            }
        }
        // the frame prox's own engine against one that computes the whole padded image
        let model = try RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 20, alpha: 0.01, seed: 6)
        let frame = try WholeFrameProx(model: model, height: 40, width: 56, padding: .zero)
        let padded = LPNEngine(model: model, height: frame.engine.height, width: frame.engine.width)
        let x = randomImage(40 * 56, seed: 61)
        let (before, _) = FramePadding.zero.amounts(length: 40, modelSize: 32)
        let (left, _) = FramePadding.zero.amounts(length: 56, modelSize: 32)
        var image = [Float](repeating: 0, count: padded.imageCount)
        for r in 0..<40 { for col in 0..<56 { image[(r + before) * padded.width + col + left] = x[r * 56 + col] } }
        let (_, fPadded) = padded.psiAndProx(image)
        let (_, fFrame) = frame.engine.psiAndProx(image)
        let inside = (0..<40).flatMap { r in (0..<56).map { (r + before) * padded.width + $0 + left } }
        #expect(inside.allSatisfy { fPadded[$0] == fFrame[$0] }, "the frame's engine differs from the whole padded image's")
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
