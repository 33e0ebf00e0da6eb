import Foundation
import LPN
import Reconstruction
import TensorIO
import Testing

/// ``CrossValidationCheck`` through the ``Reconstructor``: when it runs and what it reports.
/// (Against ground truth with the shipped models: ShippedPipelineTests.crossValidationFlagsAModelThatTVBeats.)
@Suite struct CrossValidationCheckTests {
    static func pipeline(every: Int) throws -> Pipeline {
        let text = try String(contentsOfFile: Fixture.path("tiny-lpn.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../../LPNTests", with: Fixture.directory + "/../../LPNTests")
            + "check: {every: \(every), folds: 2, reference: {lambda: 0.02, iterations: 10}}\n"
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
                #expect(abs(c.differenceDB - 10 * log10(c.priorError / c.referenceError)) < 1e-9)
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
}
