import Foundation
import Reconstruction
import TensorIO
import Testing

/// Warm starts across a stream's frames (docs/MATH.md §8): a resumed solver continues its
/// iteration exactly; a stream's frames after the first start warm and stop at
/// `warm_iterations`; a new scene starts cold; streams never share their state.
@Suite struct WarmStartTests {
    /// ADMM (with the box) on A = I with a stateless prox: 4 iterations, save, resume in a
    /// fresh solver, 3 more = 7 iterations straight through, to the last bit.
    @Test func aResumedSolverContinuesTheIteration() throws {
        var settings = SolverSettings()
        settings.rho = 0.5
        settings.box = true
        func solver() throws -> PnPADMM {
            try PnPADMM(operator: IdentityOperator(imageShape: [10, 20]), prior: SoftThresholdPrior(lambda: 0.3, count: 200),
                        settings: settings)
        }
        let y = randomVector(200, seed: 21)
        let straight = try solver(), first = try solver(), second = try solver()
        y.withUnsafeBufferPointer { straight.start(measurement: $0.baseAddress!, initial: $0.baseAddress!) }
        for _ in 0..<7 { _ = straight.step() }
        y.withUnsafeBufferPointer { first.start(measurement: $0.baseAddress!, initial: $0.baseAddress!) }
        for _ in 0..<4 { _ = first.step() }
        var state = SolverState()
        first.saveState(into: &state)
        #expect(state.variables.count == 5, "x, z, u and the box's b, w")
        y.withUnsafeBufferPointer { second.resume(measurement: $0.baseAddress!, from: state) }
        for _ in 0..<3 { _ = second.step() }
        let a = Array(UnsafeBufferPointer(start: straight.iterate, count: 200))
        let b = Array(UnsafeBufferPointer(start: second.iterate, count: 200))
        #expect(a == b)
    }

    static let pipelineText = """
        name: warm
        image: {shape: [32, 32]}
        operator: {type: mri, acceleration: 2, seed: 3}
        prior: {type: tv, lambda: 0.01}
        solver: {type: admm, box: true, iterations: 40, tolerance: 1.0e-5, rho: 0.5, warm_start: true, warm_iterations: 4, warm_start_ratio: 10}
        simulation: {noise: 0.01, seed: 1}
        """

    /// A soft blob drifting a third of a pixel a frame (a slowly moving object), or a small
    /// bright disc elsewhere (another scene).
    static func image(_ t: Int, disc: Bool = false) -> Tensor {
        var x = [Float](repeating: 0, count: 32 * 32)
        for i in 0..<32 { for j in 0..<32 {
            if disc {
                let dy = Double(i) - 24, dx = Double(j) - 8
                if dy * dy + dx * dx < 16 { x[i * 32 + j] = 0.9 }
            } else {
                let dy = Double(i) - 15, dx = Double(j) - 14 - Double(t) / 3
                x[i * 32 + j] = Float(0.8 * exp(-(dy * dy + dx * dx) / 40))
            }
        } }
        return Tensor(shape: [32, 32], data: x)
    }

    /// Interleaved lines (unshifted layout): the 4 lowest frequencies and every other row, the
    /// other half on odd frames.
    static func lines(_ t: Int) -> [Int] {
        (0..<32).filter { r in [0, 1, 31, 30].contains(r) || r % 2 == t % 2 }
    }

    @Test func aStreamsFramesStartWarmAndANewSceneStartsCold() throws {
        let p = try Pipeline.load(path: Fixture.pipelineFile(Self.pipelineText))
        let reconstructor = try p.makeReconstructor()
        var reports: [FrameDiagnostics] = []
        for t in 0..<6 {
            let x = Self.image(t, disc: t == 5)
            let m = try p.simulate(image: x, noise: 0.01, seed: UInt64(t), lines: Self.lines(t))
            #expect(m.sampledRows == Self.lines(t))
            reports.append(try reconstructor.reconstruct(m, reference: x, stream: "a", seq: UInt64(t)).diagnostics)
        }
        #expect(reports[0].warmStart == nil, "a stream's first frame has nothing to start from")
        for t in 1...4 {
            let w = try #require(reports[t].warmStart)
            #expect(w.used && w.previousSeq == UInt64(t - 1), "frame \(t): \(w)")
            #expect(reports[t].iterations <= 4)
            #expect(reports[t].psnr! > 25, "frame \(t): \(reports[t].psnr!) dB")
        }
        #expect(reports[0].iterations > 4)
        let cut = try #require(reports[5].warmStart)
        #expect(!cut.used && cut.residual > 10 * cut.previousResidual, "the disc is another scene: \(cut)")
        #expect(reports[5].iterations > 4)
        // Another stream has its own state: its first frame starts cold.
        let other = try p.simulate(image: Self.image(1), noise: 0.01, seed: 9, lines: Self.lines(1))
        #expect(try reconstructor.reconstruct(other, stream: "b").diagnostics.warmStart == nil)
    }

    /// `prior.check_every: 3`: a stream's cold first frame is checked, then every third warm
    /// frame; a cold frame (the scene cut) is checked whatever the count. The key needs a
    /// warm start.
    @Test func thePriorCheckRunsOnColdFramesAndEveryKthWarmFrame() throws {
        let model = Fixture.path("../../LPNTests/Fixtures/n32_c1.safetensors")
        let text = Self.pipelineText.replacingOccurrences(of: "{type: tv, lambda: 0.01}", with: "{type: lpn, model: \(model), check_every: 3}")
        let p = try Pipeline.load(path: Fixture.pipelineFile(text))
        #expect(p.priorCheckEvery == 3)
        let reconstructor = try p.makeReconstructor()
        var checked: [Bool] = [], warm: [Bool] = []
        for t in 0..<9 {
            let x = Self.image(t, disc: t == 6)
            let m = try p.simulate(image: x, noise: 0.01, seed: UInt64(t), lines: Self.lines(t))
            let d = try reconstructor.reconstruct(m, stream: "a", seq: UInt64(t)).diagnostics
            checked.append(d.priorCheck != nil)
            warm.append(d.warmStart?.used == true)
        }
        #expect(!warm[0] && !warm[6], "the first frame and the scene cut start cold")
        #expect(warm.filter { $0 }.count >= 5, "\(warm)")
        var sinceCheck = 0, expected: [Bool] = []
        for w in warm {
            let due = !w || sinceCheck == 3
            expected.append(due)
            sinceCheck = due ? 1 : sinceCheck + 1
        }
        #expect(checked == expected, "warm: \(warm)")
        #expect(checked.filter { !$0 }.count >= 3, "\(checked)")
        let cold = Self.pipelineText.replacingOccurrences(of: "{type: tv, lambda: 0.01}", with: "{type: lpn, model: \(model), check_every: 3}")
            .replacingOccurrences(of: "warm_start: true", with: "warm_start: false")
        do {
            _ = try Pipeline.load(path: Fixture.pipelineFile(cold))
            Issue.record("check_every without a warm start loaded")
        } catch {
            #expect("\(error)".contains("prior.check_every") && "\(error)".contains("warm_start"))
        }
    }

    /// A warm start off: frames are independent whatever their stream.
    @Test func withoutWarmStartFramesAreIndependent() throws {
        let p = try Pipeline.load(path: Fixture.pipelineFile(Self.pipelineText.replacingOccurrences(of: "warm_start: true", with: "warm_start: false")))
        let reconstructor = try p.makeReconstructor()
        let m = try p.simulate(image: Self.image(0), noise: 0.01, seed: 0)
        let first = try reconstructor.reconstruct(m, stream: "a").diagnostics
        let second = try reconstructor.reconstruct(m, stream: "a").diagnostics
        #expect(first.warmStart == nil && second.warmStart == nil && first.iterations == second.iterations)
    }

    @Test func theStoreKeepsTheMostRecentStreams() {
        let store = StreamStates(capacity: 2)
        for id in ["a", "b", "a", "c"] { store.store(StreamStates.Entry(solver: SolverState(), residual: 0.1, seq: nil), for: id) }
        #expect(store.count == 2)
        #expect(store.entry(for: "b") == nil, "b was the least recently stored")
        #expect(store.entry(for: "a") != nil && store.entry(for: "c") != nil)
    }

    /// A frame's own rows: the operator is still the adjoint pair, and the closed-form x-step
    /// follows the new mask.
    @Test func aFramesOwnRowsKeepTheOperatorExact() {
        let mask = MRIMask(height: 16, width: 16, rows: [0, 1, 15, 4, 9])
        let op = MRIOperator(mask: mask)
        #expect(op.prepareNormalSolve(dataWeight: 2, shift: 0.5))
        op.sample(rows: [0, 1, 15, 3, 6, 12])
        #expect(op.mask.lines == [0, 1, 3, 6, 12, 15])
        #expect(adjointMismatch(op, seed: 40) < 1e-5)
        let x = randomVector(256, seed: 41)
        var r = normalApply(op, x, a: 2, b: 0.5)
        r.withUnsafeMutableBufferPointer { op.normalSolve($0.baseAddress!) }
        #expect(maxAbsDifference(r, x) < 1e-4)
        op.sample(rows: nil)
        #expect(op.mask.lines == [0, 1, 4, 9, 15])
    }
}
