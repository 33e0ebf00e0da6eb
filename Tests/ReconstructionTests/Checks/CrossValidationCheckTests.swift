import Foundation
import LPN
import Reconstruction
import TensorIO
import Testing

/// ``CrossValidationCheck`` through the ``Reconstructor``: when it runs and what it reports.
/// (Against ground truth with the shipped models: ShippedPipelineTests.crossValidationFlagsAModelThatTVBeats.)
@Suite struct CrossValidationCheckTests {
    /// tiny-lpn.yaml with a check every `every` frames; `keys` adds keys to the check section.
    static func pipeline(every: Int, keys: String = "") throws -> Pipeline {
        let text = try String(contentsOfFile: Fixture.path("tiny-lpn.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../../LPNTests", with: Fixture.directory + "/../../LPNTests")
            + "check: {every: \(every), folds: 2, \(keys)reference: {lambda: 0.02, iterations: 10}}\n"
        return try Pipeline.load(path: Fixture.pipelineFile(text))
    }

    /// A worker checks its first frame and every `every`-th after it; a checked frame carries
    /// the report, with errors of both methods and their ratio in dB.
    @Test func checksTheFirstFrameAndEveryNth() throws {
        let p = try Self.pipeline(every: 2)
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let r = try p.makeReconstructor()
        var checked: [Bool] = []
        for seed in 0..<4 {
            let d = try r.reconstruct(try p.simulate(image: x, noise: 0.01, seed: UInt64(seed)), reference: x).diagnostics
            checked.append(d.check != nil)
            if let c = d.check {
                #expect(c.folds == 2 && c.units == 2048)
                #expect(c.priorError > 0 && c.referenceError > 0 && c.seconds > 0)
                // One difference per fold; the verdict is their mean, and the pooled ratio of the
                // summed errors lies between the folds' too (a ratio of sums lies between the
                // smallest and the largest of the ratios).
                #expect(c.foldDifferencesDB.count == c.folds)
                let folds = c.foldDifferencesDB
                #expect(abs(c.differenceDB - folds.reduce(0, +) / Double(folds.count)) < 1e-9)
                if let low = folds.min(), let high = folds.max() {
                    let pooled = 10 * log10(c.priorError / c.referenceError)
                    #expect(low - 1e-9 <= pooled && pooled <= high + 1e-9)
                }
                #expect(d.flags.contains(.worseThanReference) == (c.differenceDB > c.marginDB))
                #expect(d.stageSeconds["check"] == c.seconds)
            } else {
                #expect(!d.flags.contains(.worseThanReference) && d.stageSeconds["check"] == nil)
            }
        }
        #expect(checked == [true, false, true, false])
    }

    /// The check does not change the frame: the image is the one an unchecked pipeline returns.
    @Test func theCheckLeavesTheImageAlone() throws {
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let plain = try Pipeline.load(path: Fixture.path("tiny-lpn.yaml"))
        let m = try plain.simulate(image: x, noise: 0.01, seed: 3)
        let a = try plain.makeReconstructor().reconstruct(m).image.data
        let b = try Self.pipeline(every: 1).makeReconstructor().reconstruct(m).image.data
        #expect(a == b)
    }

    /// Frames that bring their own mask (MRD): the folds are dealt again from each frame's
    /// lines; a frame with fewer lines outside the centre than folds is not checked (it says
    /// why) and the next frame is checked instead.
    @Test func framesWithTheirOwnMaskAreDealtAgain() throws {
        let model = Fixture.directory + "/../../LPNTests/Fixtures/n32_c1.safetensors"
        let text = """
            name: m
            image: {shape: [32, 32]}
            operator: {type: mri, coils: 2, acceleration: 2, center_fraction: 0.25, seed: 1}
            prior: {type: lpn, model: \(model), processing: patches, patch_stride: 16}
            solver: {type: admm, iterations: 3}
            check: {every: 1, folds: 2, reference: {lambda: 0.02, iterations: 3}}

            """
        let p = try Pipeline.load(path: Fixture.pipelineFile(text))
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let small = Tensor(shape: [32, 32], data: (0..<32).flatMap { r in (0..<32).map { c in x.data[2 * r * 64 + 2 * c] } })
        var m = try p.simulate(image: small, noise: 0.01, seed: 0)
        let r = try p.makeReconstructor()
        let centre = [0, 1, 2, 3, 4, 29, 30, 31]
        var units: [Int] = []
        for (rows, expectChecked) in [(centre + [7, 9, 13, 20, 24], true), (centre + [8, 11, 15], true),
                                      (centre + [10], false), (centre + [6, 12, 26], true)] {
            m.sampledRows = rows
            let d = try r.reconstruct(m).diagnostics
            #expect((d.check != nil) == expectChecked, "rows \(rows): \(d.checkSkipped ?? "checked")")
            if let c = d.check { units.append(c.units) } else { #expect(d.checkSkipped?.contains("units") == true) }
        }
        #expect(units == [5, 3, 3])
    }
}
