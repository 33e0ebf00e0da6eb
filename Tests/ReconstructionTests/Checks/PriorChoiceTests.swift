import Foundation
import Reconstruction
import TensorIO
import Testing

/// `check.choose` (``PriorChoice``): a checked frame's held-out errors pick the prior that
/// reconstructs the stream, with hysteresis; streams choose on their own.
@Suite struct PriorChoiceTests {
    /// Both folds with the same errors: the verdict is their ratio in dB.
    static func report(learned: Double, reference: Double) -> CrossValidationReport {
        let d = CrossValidationReport.foldDifferenceDB(prior: learned, reference: reference)
        return CrossValidationReport(folds: 2, units: 10, priorError: learned, referenceError: reference,
                                     differenceDB: CrossValidationReport.verdictDB([d, d]), marginDB: 0, seconds: 0,
                                     foldDifferencesDB: [d, d])
    }

    /// The verdict is the mean of the folds' differences: one fold whose learned reconstruction
    /// fails badly (+6 dB) does not outvote three that favour it (−1 dB each), as it does in
    /// the ratio of the summed errors (the real-brain 8× frame of docs/RESULTS.md). A diverged
    /// fold is an infinite difference; both candidates diverging in one fold is no verdict.
    @Test func theVerdictIsTheMeanOfTheFolds() {
        let folds = [6.0, -1, -1, -1]
        #expect(CrossValidationReport.verdictDB(folds) == 0.75)
        let errors = folds.map { (learned: pow(10, $0 / 10), reference: 1.0) }
        let pooled = 10 * log10(errors.map(\.learned).reduce(0, +) / errors.map(\.reference).reduce(0, +))
        #expect(pooled > 2, "the pooled ratio says TV by \(pooled) dB")
        #expect(CrossValidationReport.verdictDB([-3.0, -1, -1, -1]) == -1.5)
        #expect(CrossValidationReport.foldDifferenceDB(prior: .infinity, reference: 1) == .infinity)
        #expect(CrossValidationReport.foldDifferenceDB(prior: 1, reference: .infinity) == -.infinity)
        #expect(CrossValidationReport.foldDifferenceDB(prior: .infinity, reference: .infinity) == 0)
        #expect(CrossValidationReport.verdictDB([.infinity, -1]) == .infinity)
        #expect(CrossValidationReport.verdictDB([.infinity, -.infinity]) == 0)
    }

    /// The other candidate must win by more than the hysteresis, except at a stream's first
    /// check, where the smaller error decides; an infinite error (a diverged solve) loses to a
    /// finite one.
    @Test func theChoiceSwitchesOnlyBeyondTheHysteresis() {
        let h = 0.3
        // TV's error 0.2 dB lower: not enough to leave the learned prior, nor to leave TV.
        let near = Self.report(learned: 1.0, reference: pow(10, -0.02))
        #expect(PriorChoice.decide(current: .learned, report: near, hysteresisDB: h) == .learned)
        #expect(PriorChoice.decide(current: .reference, report: near, hysteresisDB: h) == .reference)
        // A stream's first check: nothing to keep, the 0.2 dB decide.
        #expect(PriorChoice.decide(current: nil, report: near, hysteresisDB: h) == .reference)
        #expect(PriorChoice.decide(current: nil, report: Self.report(learned: pow(10, -0.02), reference: 1), hysteresisDB: h) == .learned)
        // 1 dB lower: switch to TV, and stay there.
        let tvWins = Self.report(learned: 1.0, reference: pow(10, -0.1))
        #expect(PriorChoice.decide(current: .learned, report: tvWins, hysteresisDB: h) == .reference)
        #expect(PriorChoice.decide(current: .reference, report: tvWins, hysteresisDB: h) == .reference)
        let lpnWins = Self.report(learned: pow(10, -0.1), reference: 1.0)
        #expect(PriorChoice.decide(current: .reference, report: lpnWins, hysteresisDB: h) == .learned)
        #expect(PriorChoice.decide(current: .learned, report: Self.report(learned: .infinity, reference: 1), hysteresisDB: h) == .reference)
        #expect(PriorChoice.decide(current: .learned, report: Self.report(learned: 1, reference: .infinity), hysteresisDB: h) == .learned)
    }

    static func pipeline(hysteresis: Double, every: Int = 2) throws -> Pipeline {
        try CrossValidationCheckTests.pipeline(every: every, keys: "choose: true, hysteresis_db: \(hysteresis), ")
    }

    /// Without hysteresis, each checked frame picks the candidate the verdict favours (the
    /// learned prior when the mean of the folds' differences is ≤ 0); the frames until the next check keep it; the frame reconstructed with TV is
    /// exactly the reference's image and says so.
    @Test func aCheckedFrameChoosesTheStreamsPrior() throws {
        let p = try Self.pipeline(hysteresis: 0)
        #expect(p.crossValidation?.choose == true && p.crossValidation?.hysteresisDB == 0)
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let r = try p.makeReconstructor()
        var chosen: [PriorCandidate] = []
        for seed in 0..<4 {
            let d = try r.reconstruct(try p.simulate(image: x, noise: 0.01, seed: UInt64(seed)), reference: x, stream: "a").diagnostics
            let choice = try #require(d.choice)
            #expect(choice.checked == (seed % 2 == 0))
            if let c = d.check {
                #expect(choice.chosen == (c.differenceDB <= 0 ? .learned : .reference), "\(c)")
            } else {
                #expect(choice.chosen == chosen.last)
            }
            #expect(d.prior == (choice.chosen == .learned ? "lpn" : "tv"))
            #expect(d.flags.contains(.worseThanReference) == false, "the published prior is the better one")
            #expect((d.priorCheck != nil) == (choice.chosen == .learned))
            chosen.append(choice.chosen)
        }
        // Another stream has its own record: its first frame is checked.
        let other = try r.reconstruct(try p.simulate(image: x, noise: 0.01, seed: 9), stream: "b").diagnostics
        #expect(other.choice?.checked == true && other.choice?.previous == nil)
    }

    /// A stream that chose TV: its frame is the TV-ADMM reconstruction with the reference's
    /// settings (the `mri-4x-tv`-style pipeline gives the same image).
    @Test func aFrameReconstructedWithTheReferenceIsTheTVImage() throws {
        // The test model (a small network on 64×64 dense CS) loses to TV on this phantom.
        let p = try Self.pipeline(hysteresis: 0, every: 1000)
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let m = try p.simulate(image: x, noise: 0.01, seed: 1)
        let r = try p.makeReconstructor()
        let d = try r.reconstruct(m, stream: "a")
        try #require(d.diagnostics.choice?.chosen == .reference, "\(String(describing: d.diagnostics.check))")
        let tv = try Pipeline.load(path: Fixture.pipelineFile("""
            name: tv
            image: {shape: [64, 64]}
            operator: {type: dense_cs, rate: 0.5, seed: 2}
            prior: {type: tv, lambda: 0.02}
            solver: {type: admm, iterations: 10, rho: 0.1, box: true, tolerance: 0, init: least_squares}
            """))
        #expect(try tv.makeReconstructor().reconstruct(m).image.data == d.image.data)
    }

    @Test func theKeysAreValidated() throws {
        for (keys, key) in [("choose: maybe, ", "check.choose"), ("choose: true, hysteresis_db: -1, ", "check.hysteresis_db")] {
            do {
                _ = try CrossValidationCheckTests.pipeline(every: 1, keys: keys)
                Issue.record("\(keys) loaded")
            } catch {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
    }
}
