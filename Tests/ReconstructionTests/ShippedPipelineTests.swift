import Foundation
import LPN
import Reconstruction
import TensorIO
import Testing

/// The repository's own pipelines/*.yaml (and the trained models they name, committed in
/// models/).
@Suite struct ShippedPipelineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static var files: [String] {
        _ = blasSingleThreaded
        let dir = root + "/pipelines"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { dir + "/" + $0 }
    }

    @Test func everyShippedPipelineLoads() throws {
        let files = Self.files
        #expect(files.count >= 6)
        for f in files {
            let p = try Pipeline.load(path: f)
            #expect(p.name == (f as NSString).lastPathComponent.replacingOccurrences(of: ".yaml", with: ""))
        }
    }

    /// The daemon demo's default on a held-out phantom: recorded 39.70 dB / 0.9615 (TV: 39.61,
    /// zero-filled ≈ 33.4); floor 0.5 dB below.
    @Test func mri4xPSNRFloor() throws {
        let p = try Pipeline.load(path: Self.root + "/pipelines/mri-4x.yaml")
        let x = try NPY.read(path: Fixture.path("phantom128.npy"))
        let m = try p.simulate(image: x, noise: Float(p.simulationNoise), seed: p.simulationSeed)
        let r = try p.makeReconstructor().reconstruct(m, reference: x)
        print("mri-4x: PSNR \(r.diagnostics.psnr!) SSIM \(r.diagnostics.ssim!) \(r.diagnostics.totalSeconds) s")
        #expect(r.diagnostics.psnr! > 39.2)
        #expect(r.diagnostics.ssim! > 0.955)
    }

    /// The same frame reconstructed with a model of the wrong domain: the natural (photo)
    /// model on a phantom with a black background. The phantom model's frame carries no flag;
    /// the natural model's is flagged outside_prior (issue scenario: the image is destroyed
    /// and nothing else says so).
    @Test func aModelOfTheWrongDomainIsFlagged() throws {
        let x = try NPY.read(path: Fixture.path("phantom128.npy"))
        let own = try Pipeline.load(path: Self.root + "/pipelines/mri-4x.yaml")
        let m = try own.simulate(image: x, noise: Float(own.simulationNoise), seed: own.simulationSeed)
        let good = try own.makeReconstructor().reconstruct(m, reference: x).diagnostics
        #expect(good.flags.isEmpty, "phantom model on a phantom: \(good.flags), \(String(describing: good.priorCheck))")
        let text = try String(contentsOfFile: Self.root + "/pipelines/mri-4x.yaml", encoding: .utf8)
            .replacingOccurrences(of: "../models/phantom.safetensors", with: Self.root + "/models/natural.safetensors")
        let wrong = try Pipeline.load(path: Fixture.pipelineFile(text)).makeReconstructor().reconstruct(m, reference: x).diagnostics
        #expect(wrong.flags.contains(.outsidePrior), "natural model on a phantom: \(String(describing: wrong.priorCheck))")
        print("mri-4x phantom model: \(good.psnr!) dB \(good.flags); natural model: \(wrong.psnr!) dB \(wrong.flags)")
    }
}
