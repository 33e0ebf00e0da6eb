import ArgumentParser
import Foundation
import LPN
import Reconstruction
import TensorIO

struct ReconstructCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconstruct",
        abstract: "Reconstruct an image from a measurement file with a pipeline.",
        discussion: """
            Exit status 1 (no image written) on a shape/type mismatch, non-finite input or \
            divergence. Diagnostics (JSON): per-iteration relative change, data residual, ADMM \
            residuals and time; stop reason; PSNR/SSIM with --reference.
            """)

    @Option(help: "Pipeline file (.yaml).") var pipeline: String
    @Option(help: "Measurement: .npy (float32 or complex64, C or Fortran order) or BART .cfl/.hdr.") var input: String
    @Option(help: "Image output: .npy, .png or BART .cfl.") var output: String
    @Option(help: "Diagnostics output (.json).") var diagnostics: String?
    @Option(help: "Ground-truth image (.png, .npy or BART .cfl) for PSNR/SSIM.") var reference: String?
    @Option(help: "Bit depth of PNG output (8 or 16).") var pngBits: Int = 8
    @Option(help: FrameThreads.help) var threads: Int = 1

    func run() throws {
        let threads = FrameThreads.take(threads)
        let p = try Pipeline.load(path: pipeline)
        let measurement = try MeasurementFile.read(path: input)
        let ref = try reference.map(readImage)
        let reconstructor = try p.makeReconstructor(threads: threads)
        let result = try reconstructor.reconstruct(measurement, reference: ref)
        try TensorFiles.write(result.image, to: output, pngBits: pngBits)
        if let diagnostics {
            guard FileManager.default.createFile(atPath: diagnostics, contents: try result.diagnostics.json()) else {
                throw ValidationError("cannot write \(diagnostics)")
            }
        }
        let d = result.diagnostics
        var line = "\(p.name): \(d.solver)+\(d.prior) \(d.iterations) it, \(d.stopReason.rawValue), residual \(String(format: "%.4g", d.finalResidual)), \(String(format: "%.3f", d.totalSeconds)) s"
        if let psnr = d.psnr { line += String(format: ", PSNR %.2f dB", psnr) }
        if let ssim = d.ssim { line += String(format: ", SSIM %.4f", ssim) }
        print(line)
        for warning in Self.warnings(d) {
            FileHandle.standardError.write(Data("warning: \(p.name): \(warning)\n".utf8))
        }
    }

    /// One line per flag of the frame, saying what was seen.
    static func warnings(_ d: FrameDiagnostics) -> [String] {
        d.flags.map { flag in
            switch flag {
            case .notConverging:
                return "not_converging: \(d.convergenceWarning ?? "the solver did not settle")"
            case .outsidePrior:
                let c = d.priorCheck!
                func range(_ r: [Double]?) -> String { r.map { String(format: "[%.4g, %.4g]", $0[0], $0[1]) } ?? "-" }
                func value(_ v: Double) -> String { String(format: "%.4g", v) }
                return "outside_prior: φ \(value(c.phi)) per pixel (training range \(range(c.phiRange))), displacement \(value(c.displacement)) (training range \(range(c.displacementRange))): the model does not recognise this image"
            case .phaseDiscarded:
                return String(format: "phase_discarded: %.0f %% of the k-space centre's energy is imaginary: the object has a phase a real image discards (use operator.coils: 1, whose map carries the phase)",
                              100 * (d.imaginaryFraction ?? 0))
            case .worseThanReference:
                let c = d.check!
                return String(format: "worse_than_reference: over %d folds the prior predicts held-out measurements %.2f dB worse than the TV reference (margin %.2f dB): TV would likely reconstruct this image better",
                              c.folds, c.differenceDB, c.marginDB)
            case .missingLines:
                return "missing_lines: the frame lacks phase-encode lines its MRD header's acceleration factor promises"
            }
        }
    }
}
