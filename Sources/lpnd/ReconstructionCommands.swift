import ArgumentParser
import Foundation
import LPN
import Reconstruction
import TensorIO

/// Reads an image for a pipeline: .png or .npy; [1, H, W] is accepted for [H, W].
private func readImage(_ path: String) throws -> Tensor {
    var t = try TensorFiles.read(path)
    if t.shape.count == 3 && t.shape[0] == 1 { t = Tensor(shape: Array(t.shape.dropFirst()), data: t.data) }
    return t
}

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Make a measurement y = A x + noise from an image with a pipeline's operator.",
        discussion: "Writes .npy: float32, or complex64 for MRI. Noise and seed default to the pipeline's `simulation` section.")

    @Option(help: "Pipeline file (.yaml).") var pipeline: String
    @Option(help: "Image: .png (grayscale), .npy [H,W] float32 in [0,1], or BART .cfl (magnitude).") var input: String
    @Option(help: "Measurement output: .npy, or BART .cfl/.hdr (complex k-space; multi-coil as BART's (X, Y, 1, C)).") var output: String
    @Option(help: "Noise standard deviation (default: the pipeline's simulation.noise).") var noise: Float?
    @Option(help: "Noise seed (default: the pipeline's simulation.seed).") var seed: UInt64?

    func run() throws {
        let p = try Pipeline.load(path: pipeline)
        let image = try readImage(input)
        let m = try p.simulate(image: image, noise: noise ?? Float(p.simulationNoise), seed: seed ?? p.simulationSeed)
        try MeasurementFile.write(m, path: output)
    }
}

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
            }
        }
    }
}

struct OperatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Inspect a pipeline's forward operator.",
        subcommands: [OperatorExportCommand.self])
}

struct OperatorExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the operator's arrays (.npy) and operator.json, so another program can make measurements.")

    @Option(help: "Pipeline file (.yaml).") var pipeline: String
    @Option(help: "Output directory (created).") var output: String

    func run() throws {
        let p = try Pipeline.load(path: pipeline)
        let files = try OperatorExport.export(p, to: output)
        for f in files { print((output as NSString).appendingPathComponent(f)) }
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check pipeline files (schema, paths, model, operator); exit 1 if any is invalid.")

    @Argument(help: "Pipeline files.") var pipelines: [String]

    func run() throws {
        var failed = 0
        for path in pipelines {
            do {
                let p = try Pipeline.load(path: path)
                _ = try p.makeReconstructor()
                var prior = p.prior.typeName
                if case .lpn(_, _, let processing, _) = p.prior { prior += " (\(processing))" }
                let check = p.crossValidation.map { c in
                    ", check every \(c.every) frames (\(c.folds) folds against TV λ \(c.referenceLambda))"
                } ?? ""
                print("ok \(path): \(p.name) — \(p.operatorSpec.typeName), image \(p.imageShape) → measurement \(p.measurementShape) \(p.measurementType.rawValue), \(p.solver.kind.rawValue)\(p.solver.kind == .admm && p.solver.box ? " (box 0 ≤ x ≤ 1)" : "") + \(prior)\(check)")
            } catch {
                failed += 1
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
