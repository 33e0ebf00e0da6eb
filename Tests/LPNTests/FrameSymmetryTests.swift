import LPN
import Testing

/// The symmetrised prox f_G = mean of P_gᵀ f(P_g ·) is the gradient of the convex ψ_G (so an
/// exact prox), equivariant under the group, and the plain frame prox averaged by hand.
@Suite struct FrameSymmetryTests {
    let model = try! RandomLPN.make(hidden: 6, size: 32, inChannels: 1, beta: 10, alpha: 0.01, seed: 5)
    /// A square frame for the dihedral group, an oblong one for the flips.
    static let cases: [(FrameSymmetry, Int, Int)] = [(.mirror, 40, 56), (.flips, 40, 56), (.dihedral, 48, 48)]

    @Test func groupsArePermutationsWithTheIdentityFirst() {
        for (symmetry, size) in [(FrameSymmetry.identity, 1), (.mirror, 2), (.flips, 4), (.dihedral, 8)] {
            let (h, w) = symmetry == .dihedral ? (5, 5) : (3, 4)
            let maps = symmetry.transforms.map { g in (0..<(h * w)).map { g.source($0 / w, $0 % w, height: h, width: w) } }
            #expect(maps.count == size, "\(symmetry)")
            #expect(maps.first == Array(0..<(h * w)), "\(symmetry): the identity comes first")
            #expect(Set(maps).count == size, "\(symmetry): the transforms are distinct")
            for map in maps { #expect(map.sorted() == Array(0..<(h * w)), "\(symmetry): \(map) is a permutation") }
        }
        // Output (0, 1) of a 3×4 grid flipped left–right reads input (0, 2).
        #expect(FrameSymmetry.Transform(transpose: false, flipRows: false, flipColumns: true).source(0, 1, height: 3, width: 4) == 2)
        // Transposed, output (0, 1) reads input (1, 0).
        #expect(FrameSymmetry.Transform(transpose: true, flipRows: false, flipColumns: false).source(0, 1, height: 3, width: 3) == 3)
    }

    @Test(arguments: cases)
    func gradientMatchesFiniteDifferences(symmetry: FrameSymmetry, h: Int, w: Int) throws {
        let frame = try WholeFrameProx(model: model, height: h, width: w, padding: .zero, symmetry: symmetry)
        let x = randomImage(h * w, seed: 21)
        let (_, f) = frame.psiAndProx(x)
        for direction in 0..<3 {
            let v = randomImage(h * w, seed: 500 + UInt64(direction), range: -1...1)
            let eps: Float = 1e-2
            let numeric = (frame.psi(zip(x, v).map { $0 + eps * $1 }) - frame.psi(zip(x, v).map { $0 - eps * $1 })) / Double(2 * eps)
            let analytic = dot(f, v)
            #expect(abs(numeric - analytic) <= 2e-3 * max(abs(analytic), 1),
                    "\(symmetry), direction \(direction): finite difference \(numeric) vs ⟨f, v⟩ \(analytic)")
        }
    }

    /// f_G(P_g x) = P_g f_G(x) for every g; the plain prox of a random network is far from it.
    @Test(arguments: cases)
    func proxIsEquivariant(symmetry: FrameSymmetry, h: Int, w: Int) throws {
        let symmetric = try WholeFrameProx(model: model, height: h, width: w, padding: .zero, symmetry: symmetry)
        let plain = try WholeFrameProx(model: model, height: h, width: w, padding: .zero)
        let x = randomImage(h * w, seed: 22)
        let fx = symmetric.prox(x), plainFx = plain.prox(x)
        for g in symmetry.transforms.dropFirst() {
            let permute = { (a: [Float]) in (0..<(h * w)).map { a[g.source($0 / w, $0 % w, height: h, width: w)] } }
            let gap = maxDifference(symmetric.prox(permute(x)), permute(fx))
            #expect(gap <= 1e-5, "\(symmetry), \(g): f_G(P x) − P f_G(x) = \(gap)")
            #expect(maxDifference(plain.prox(permute(x)), permute(plainFx)) > 1e-3, "\(symmetry), \(g): the plain prox is already equivariant")
        }
    }

    /// ψ_G and f_G are the averages of the plain frame prox over the group's images of x.
    @Test(arguments: cases)
    func averagesThePlainProxOverTheGroup(symmetry: FrameSymmetry, h: Int, w: Int) throws {
        let symmetric = try WholeFrameProx(model: model, height: h, width: w, padding: .zero, symmetry: symmetry)
        let plain = try WholeFrameProx(model: model, height: h, width: w, padding: .zero)
        let x = randomImage(h * w, seed: 23)
        var psi = 0.0, f = [Float](repeating: 0, count: h * w)
        for g in symmetry.transforms {
            let source = (0..<(h * w)).map { g.source($0 / w, $0 % w, height: h, width: w) }
            let (p, fg) = plain.psiAndProx(source.map { x[$0] })
            psi += p
            for i in 0..<(h * w) { f[source[i]] += fg[i] }
        }
        let share = Float(symmetry.transforms.count)
        let (symmetricPsi, symmetricF) = symmetric.psiAndProx(x)
        #expect(abs(symmetricPsi - psi / Double(share)) <= 1e-9 * abs(psi))
        #expect(maxDifference(symmetricF, f.map { $0 / share }) <= 1e-6)
    }

    @Test func jacobianIsSymmetricAndProxMonotone() throws {
        let frame = try WholeFrameProx(model: model, height: 48, width: 48, padding: .reflect, symmetry: .dihedral)
        let x = randomImage(48 * 48, seed: 24)
        let u = randomImage(x.count, seed: 25, range: -1...1), v = randomImage(x.count, seed: 26, range: -1...1)
        let eps: Float = 1e-2
        func jacobian(_ d: [Float]) -> [Float] {
            let plus = frame.prox(zip(x, d).map { $0 + eps * $1 }), minus = frame.prox(zip(x, d).map { $0 - eps * $1 })
            return zip(plus, minus).map { ($0 - $1) / (2 * eps) }
        }
        let (a, b) = (dot(jacobian(u), v), dot(u, jacobian(v)))
        #expect(abs(a - b) <= 1e-2 * max(abs(a), abs(b), 1e-6), "⟨Ju, v⟩ = \(a), ⟨u, Jv⟩ = \(b)")
        let y = randomImage(48 * 48, seed: 27)
        #expect(dot(zip(frame.prox(x), frame.prox(y)).map { $0 - $1 }, zip(x, y).map { $0 - $1 }) >= 0)
    }

    /// The prior check measures the model as it was calibrated, whatever the symmetry.
    @Test func priorStatisticsIgnoreTheSymmetry() throws {
        let symmetric = try WholeFrameProx(model: model, height: 48, width: 48, padding: .zero, symmetry: .dihedral)
        let plain = try WholeFrameProx(model: model, height: 48, width: 48, padding: .zero)
        let x = randomImage(48 * 48, seed: 28)
        var scratch = [Float](repeating: 0, count: x.count)
        let measured = x.withUnsafeBufferPointer { xp in
            scratch.withUnsafeMutableBufferPointer { sp in
                (PriorStatistics.measure(xp.baseAddress!, frame: symmetric, scratch: sp.baseAddress!),
                 PriorStatistics.measure(xp.baseAddress!, frame: plain, scratch: sp.baseAddress!))
            }
        }
        // Equal up to rounding: OpenBLAS may sum in another order for buffers aligned differently.
        #expect(abs(measured.0.phi - measured.1.phi) <= 1e-6 * abs(measured.1.phi))
        #expect(abs(measured.0.displacement - measured.1.displacement) <= 1e-6 * measured.1.displacement)
    }

    /// The group's evaluations shared out to lanes (threads > 1) give the same bits as one lane,
    /// for ψ and f, with as many lanes as threads up to |G|.
    @Test(arguments: [(FrameSymmetry.dihedral, 48, 48), (.flips, 40, 56)])
    func lanesGiveTheSameBits(symmetry: FrameSymmetry, h: Int, w: Int) throws {
        let one = try WholeFrameProx(model: model, height: h, width: w, padding: .zero, symmetry: symmetry)
        let x = randomImage(h * w, seed: 33)
        let (psi, f) = one.psiAndProx(x)
        #expect(one.laneCount == 1)
        for threads in [2, 3, 16] {
            let many = try WholeFrameProx(model: model, height: h, width: w, padding: .zero, symmetry: symmetry, threads: threads)
            #expect(many.laneCount == min(threads, symmetry.transforms.count))
            let (psiMany, fMany) = many.psiAndProx(x)
            #expect(psiMany == psi && fMany == f, "\(symmetry), \(threads) threads")
            #expect(many.psi(x) == psi)
        }
        let plain = try WholeFrameProx(model: model, height: h, width: w, padding: .zero, threads: 4)
        #expect(plain.laneCount == 1, "without symmetry one engine takes every thread")
    }

    @Test func dihedralNeedsASquareFrame() throws {
        #expect(throws: LPNError.self) { try WholeFrameProx(model: model, height: 40, width: 56, symmetry: .dihedral) }
        let prox = try LPNProx(model: model, processing: .whole(padding: .zero, symmetry: .dihedral))
        #expect(throws: LPNError.self) { try prox.validate(height: 40, width: 56) }
        try prox.validate(height: 56, width: 56)
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
