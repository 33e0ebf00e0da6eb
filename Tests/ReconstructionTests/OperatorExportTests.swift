import Foundation
import LPN
import Reconstruction
import TensorIO
import Support
import Testing

/// `lpnd operator export`: the operator's arrays and description, and masks that load back.
@Suite struct OperatorExportTests {
    @Test func operatorExportWritesArrays() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-mri-tv.yaml"))
        let dir = Fixture.scratch()
        let files = try OperatorExport.export(p, to: dir)
        #expect(files.contains("mask.npy") && files.contains("operator.json"))
        let mask = try NPY.read(path: dir + "/mask.npy")
        #expect(mask.shape == [64, 64])
        guard case .mri(let m, _, _, _, _) = p.operatorSpec else { Issue.record("not mri"); return }
        #expect(mask.data == m.values)
    }

    /// An exported mask loads back as the same mask in every k-space layout, single and
    /// multi-coil (operator.mask reads a centred pipeline's mask centred).
    @Test(arguments: ["unshifted", "centered"], [1, 2])
    func exportedMasksRoundTrip(layout: String, coils: Int) throws {
        let coilKey = coils > 1 ? ", coils: \(coils)" : ""
        let text = """
            name: roundtrip
            image: {shape: [32, 32]}
            operator: {type: mri, acceleration: 3, center_fraction: 0.25, seed: 5, kspace: \(layout)\(coilKey)}
            prior: {type: tv, lambda: 0.01}
            solver: {type: admm, iterations: 2}

            """
        let original = try Pipeline.load(path: Fixture.pipelineFile(text))
        let dir = Fixture.scratch()
        _ = try OperatorExport.export(original, to: dir)
        let reloaded = try Pipeline.load(path: Fixture.pipelineFile(text.replacingOccurrences(
            of: "acceleration: 3, center_fraction: 0.25, seed: 5", with: "mask: \(dir)/mask.npy")))
        func mask(_ p: Pipeline) -> [Float]? {
            switch p.operatorSpec {
            case .mri(let m, _, _, _, _): return m.values
            case .multiCoilMRI(let spec): return spec.mask.values
            default: return nil
            }
        }
        #expect(mask(original) != nil && mask(original) == mask(reloaded))
    }
}
