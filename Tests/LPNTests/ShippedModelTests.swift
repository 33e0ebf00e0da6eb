import Foundation
import LPN
import TensorIO
import Testing

/// The models in models/ load, are convex-valid, and denoise a committed held-out sample by
/// at least the margin recorded when they were trained (training/evaluate_denoisers.py),
/// matching PyTorch's PSNR on it and beating the recorded TV prox result.
@Suite struct ShippedModelTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        let mse = zip(a, b).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(a.count)
        return 10 * log10(1 / mse)
    }

    /// Every whole-frame model in models/ (docs/MODELS.md), each with its held-out sample.
    static let shipped = ["phantom", "natural", "natural-s05", "mri-s05", "mri-s05-long", "mri-lowres", "mri-s02"]

    static func record(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("heldout_\(name).json")))) as! [String: Any]
    }

    @Test(arguments: shipped)
    func shippedModelLoadsAndIsConvexValid(name: String) throws {
        let path = Self.repository + "/models/\(name).safetensors"
        // Loading validates every tensor, including lin.1…lin.6 and lin.7.weight ≥ 0.
        let model = try LPNModel(path: path)
        #expect(model.configuration.architecture == "lpn_128")
        #expect(model.configuration.inChannels == 1)
        let noise = (try Self.record(name)["noise_level"] as! NSNumber).doubleValue
        #expect(abs(Double(model.configuration.noiseLevel) - noise) < 1e-6, "\(name): noise_level")
        // Calibrated (training/calibrate.py): the range frames are flagged against.
        let calibration = try #require(model.configuration.calibration, "\(name) carries no calibration")
        #expect(calibration.images == 64 && calibration.size == [128, 128])
        let file = try SafeTensorsFile(path: path)
        for key in (1...6).map({ "lin.\($0).weight" }) + ["lin.7.weight"] {
            #expect(file.tensors[key]?.values.allSatisfy { $0 >= 0 } == true, "\(key) has a negative entry")
        }
    }

    @Test(arguments: shipped)
    func shippedModelDenoisesTheHeldOutSample(name: String) throws {
        let model = try LPNModel(path: Self.repository + "/models/\(name).safetensors")
        let clean = try Fixtures.tensor("heldout_\(name)_clean")
        let noisy = try Fixtures.tensor("heldout_\(name)_noisy")
        let record = try Self.record(name)
        let margin = (record["min_gain_db"] as! NSNumber).doubleValue
        // The held-out sample is a whole frame, processed as lpnd does by default (and as
        // PyTorch's whole-frame potential did when the record was made).
        let denoised = try LPNProx(model: model).apply(noisy)
        let before = Self.psnr(noisy.data, clean.data), after = Self.psnr(denoised.data, clean.data)
        #expect(after - before >= margin, "\(name): \(before) dB → \(after) dB, recorded margin \(margin) dB")
        #expect(abs(before - (record["psnr_noisy"] as! NSNumber).doubleValue) < 0.01, "the sample changed")
        // The Swift engine reproduces PyTorch's output on the shipped weights (a swapped or
        // retrained file fails here), and stands on the recorded side of the TV prox (skimage,
        // tuned weight) on this sample: ahead for phantom, behind for natural as a denoiser at
        // its training noise (docs/MODELS.md).
        let torchPSNR = (record["psnr_lpn"] as! NSNumber).doubleValue
        let tvPSNR = (record["psnr_tv"] as! NSNumber).doubleValue
        #expect(abs(after - torchPSNR) < 0.01, "\(name): Swift \(after) dB, PyTorch \(torchPSNR) dB")
        #expect((after > tvPSNR) == (torchPSNR > tvPSNR), "\(name): LPN \(after) dB, TV \(tvPSNR) dB, recorded LPN \(torchPSNR) dB")
        if name == "phantom" { #expect(after > tvPSNR, "phantom: LPN \(after) dB does not beat TV's \(tvPSNR) dB") }
    }
}
