import Foundation
import LPN
import Reconstruction
import TensorIO
import Support
import Testing

@Suite struct PipelineTests {
    static let valid = """
        name: t
        image: {shape: [32, 32]}
        operator: {type: mri, acceleration: 2, seed: 1}
        prior: {type: tv, lambda: 0.01}
        solver: {type: admm, iterations: 5}

        """

    /// Loads `text` and returns the error message (or "" if it loaded).
    func loadError(_ text: String) -> (message: String, file: String) {
        let path = Fixture.pipelineFile(text)
        do {
            _ = try Pipeline.load(path: path)
            return ("", path)
        } catch {
            return ("\(error)", path)
        }
    }

    @Test func validPipelineLoads() throws {
        let p = try Pipeline.load(path: Fixture.pipelineFile(Self.valid))
        #expect(p.name == "t")
        #expect(p.imageShape == [32, 32])
        #expect(p.measurementShape == [32, 32])
        #expect(p.measurementType == .complex64)
    }

    @Test func unknownKeyIsAnErrorNamingFileAndKey() {
        let (message, file) = loadError(Self.valid.replacingOccurrences(of: "iterations: 5", with: "iterations: 5, rhoo: 1"))
        #expect(message.contains(file))
        #expect(message.contains("solver.rhoo"))
        #expect(message.contains("unknown key"))
        let (top, _) = loadError(Self.valid + "extra: 1\n")
        #expect(top.contains("'extra'") && top.contains("unknown key"))
    }

    @Test func wrongTypeIsAnErrorNamingFileKeyAndValue() {
        let (message, file) = loadError(Self.valid.replacingOccurrences(of: "iterations: 5", with: "iterations: many"))
        #expect(message.contains(file))
        #expect(message.contains("solver.iterations"))
        #expect(message.contains("'many'"))
        let (shape, _) = loadError(Self.valid.replacingOccurrences(of: "[32, 32]", with: "[32, x]"))
        #expect(shape.contains("image.shape[1]"))
        let (choice, _) = loadError(Self.valid.replacingOccurrences(of: "type: admm", with: "type: fista"))
        #expect(choice.contains("solver.type") && choice.contains("'fista'") && choice.contains("admm"))
        let (range, _) = loadError(Self.valid.replacingOccurrences(of: "lambda: 0.01", with: "lambda: -1"))
        #expect(range.contains("prior.lambda"))
    }

    @Test func missingKeyIsAnErrorNamingFileAndKey() {
        let (message, file) = loadError(Self.valid.replacingOccurrences(of: "prior: {type: tv, lambda: 0.01}\n", with: ""))
        #expect(message.contains(file))
        #expect(message.contains("'prior'") && message.contains("missing"))
        let (lambda, _) = loadError(Self.valid.replacingOccurrences(of: ", lambda: 0.01", with: ""))
        #expect(lambda.contains("prior.lambda") && lambda.contains("missing"))
    }

    @Test func missingModelNamesKeyAndPath() {
        let (message, _) = loadError(Self.valid.replacingOccurrences(of: "{type: tv, lambda: 0.01}", with: "{type: lpn, model: nowhere.safetensors}"))
        #expect(message.contains("prior.model") && message.contains("nowhere.safetensors"))
    }

    @Test func invalidYAMLNamesFile() {
        let (message, file) = loadError("name: [unclosed\n")
        #expect(message.contains(file) && message.contains("YAML"))
    }

    /// Model paths resolve relative to the pipeline file (this fixture lives two levels below
    /// the LPN fixtures).
    @Test func modelPathIsRelativeToThePipelineFile() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-lpn.yaml"))
        guard case .lpn(let model, let path, let processing, let strength) = p.prior else { Issue.record("not lpn"); return }
        #expect(model.configuration.size == 32)
        #expect(processing == .patches(stride: 16, weighting: .hann))
        #expect(strength == 1)
        #expect(FileManager.default.fileExists(atPath: path))
    }

    /// `symmetry` (whole frames only) reaches the prior; the dihedral group needs a square image.
    @Test func symmetryIsReadAndChecked() throws {
        let model = Fixture.path("../../LPNTests/Fixtures/n32_c1.safetensors")
        let lpn = Self.valid.replacingOccurrences(of: "{type: tv, lambda: 0.01}", with: "{type: lpn, model: \(model), symmetry: dihedral}")
        let p = try Pipeline.load(path: Fixture.pipelineFile(lpn))
        guard case .lpn(_, _, let processing, _) = p.prior else { Issue.record("not lpn"); return }
        #expect(processing == .whole(padding: .zero, symmetry: .dihedral))
        let oblong = loadError(lpn.replacingOccurrences(of: "[32, 32]", with: "[32, 40]")).message
        #expect(oblong.contains("prior.symmetry") && oblong.contains("square") && oblong.contains("32×40"))
        let unknown = loadError(lpn.replacingOccurrences(of: "dihedral", with: "rotations")).message
        #expect(unknown.contains("prior.symmetry") && unknown.contains("'rotations'") && unknown.contains("flips"))
        let patches = loadError(lpn.replacingOccurrences(of: "symmetry: dihedral", with: "processing: patches, symmetry: flips")).message
        #expect(patches.contains("prior.symmetry") && patches.contains("only with processing: whole"))
    }

    func mriMeasurement(_ p: Pipeline) throws -> (Reconstruction.Measurement, Tensor) {
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        return (try p.simulate(image: x, noise: Float(p.simulationNoise), seed: p.simulationSeed), x)
    }

    @Test func shapeAndTypeMismatchAreErrors() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-mri-tv.yaml"))
        let r = try p.makeReconstructor()
        let (m, _) = try mriMeasurement(p)
        var wrongShape = m
        wrongShape.shape = [32, 128]
        #expect(throws: ReconstructionError.shapeMismatch(expected: [64, 64], got: [32, 128], what: "the measurement")) {
            _ = try r.reconstruct(wrongShape, reference: nil)
        }
        let wrongType = Reconstruction.Measurement(shape: [64, 64], type: .float32, values: [Float](repeating: 0, count: 4096))
        #expect(throws: ReconstructionError.typeMismatch(expected: .complex64, got: .float32)) {
            _ = try r.reconstruct(wrongType, reference: nil)
        }
        var nan = m
        nan.values[17] = Float.nan
        #expect {
            _ = try r.reconstruct(nan, reference: nil)
        } throws: { error in
            guard case ReconstructionError.nonFinite(_, let index, _) = error else { return false }
            return index == 17
        }
        #expect(throws: ReconstructionError.self) {
            _ = try r.reconstruct(m, reference: Tensor(zeros: [63, 64]))
        }
        #expect(throws: ReconstructionError.self) {
            _ = try p.simulate(image: Tensor(zeros: [32, 32]), noise: 0, seed: 0)
        }
    }

    /// A committed tiny case: MRI 4× TV-ADMM on a held-out phantom. Recorded 31.36 dB / 0.894
    /// (zero-filled: 27.76 dB / 0.819); the floor leaves 0.5 dB for platform differences.
    @Test func psnrFloor() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-mri-tv.yaml"))
        let (m, x) = try mriMeasurement(p)
        let result = try p.makeReconstructor().reconstruct(m, reference: x)
        let d = result.diagnostics
        print("tiny-mri-tv: PSNR \(d.psnr!) SSIM \(d.ssim!)")
        #expect(d.psnr! > 30.86)
        #expect(d.ssim! > 0.88)
        #expect(d.iterations == 40)
        #expect(d.records.count == 40)
        #expect(d.stopReason == .maxIterations)
        let complete = d.records.allSatisfy { (r: IterationRecord) -> Bool in
            r.primalResidual != nil && r.dualResidual != nil && r.innerIterations == nil
        }
        #expect(complete)
        #expect(result.image.shape == [64, 64])
        #expect(result.image.data.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// LPN-ADMM through the pipeline (random test model): finite image, residual reduced,
    /// CG x-step not used (dense CS has a closed form), diagnostics encode as JSON.
    @Test func lpnPipelineRuns() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-lpn.yaml"))
        #expect(p.measurementShape == [2048])
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let m = try p.simulate(image: x, noise: 0.01, seed: 1)
        let result = try p.makeReconstructor().reconstruct(m, reference: x)
        #expect(result.image.data.allSatisfy { $0.isFinite })
        #expect(result.diagnostics.records.count == 5)
        #expect(result.diagnostics.records[0].innerIterations == nil)
        let json = try result.diagnostics.json()
        let decoded = try JSONDecoder().decode(FrameDiagnostics.self, from: json)
        #expect(decoded.iterations == 5 && decoded.prior == "lpn")
    }

    /// Reconstructors made and used on several threads at once give identical images.
    @Test func concurrentReconstructorsAgree() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-mri-tv.yaml"))
        let (m, _) = try mriMeasurement(p)
        let results = ResultBox(count: 4)
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let r = try? p.makeReconstructor()
            results.set(i, try? r?.reconstruct(m, reference: nil).image.data)
        }
        let first = try #require(results.values[0])
        for i in 1..<4 { #expect(results.values[i] == first) }
    }

    @Test func simulationIsSeededAndMeasurementFilesRoundTrip() throws {
        let p = try Pipeline.load(path: Fixture.path("tiny-mri-tv.yaml"))
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let a = try p.simulate(image: x, noise: 0.05, seed: 9)
        let b = try p.simulate(image: x, noise: 0.05, seed: 9)
        let c = try p.simulate(image: x, noise: 0.05, seed: 10)
        #expect(a == b && a != c)
        let path = Fixture.scratch() + "/y.npy"
        try MeasurementFile.write(a, path: path)
        #expect(try MeasurementFile.read(path: path) == a)
    }

    /// Divergence through the public API: reconstruct throws instead of returning an image.
    @Test func divergingPipelineThrows() throws {
        let text = """
            name: diverge
            image: {shape: [16, 16]}
            operator: {type: dense_cs, rate: 0.5, seed: 3}
            prior: {type: none}
            solver: {type: pgd, iterations: 300, step: 8, clip: false, tolerance: 0, init: zeros}

            """
        let p = try Pipeline.load(path: Fixture.pipelineFile(text))
        let x = Tensor(shape: [16, 16], data: randomVector(256, seed: 2).map { abs($0) })
        let m = try p.simulate(image: x, noise: 0, seed: 0)
        #expect {
            _ = try p.makeReconstructor().reconstruct(m, reference: nil)
        } throws: { error in
            guard case ReconstructionError.diverged = error else { return false }
            return "\(error)".contains("diverged")
        }
    }

    /// `init: previous` warm-starts from the last frame: the same frame again converges in
    /// fewer iterations.
    @Test func previousFrameWarmStart() throws {
        let text = try String(contentsOfFile: Fixture.path("tiny-mri-tv.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "iterations: 40, rho: 0.1, data_weight: 1, tolerance: 0",
                                  with: "iterations: 200, rho: 0.1, data_weight: 1, tolerance: 1.0e-3, init: previous")
        let p = try Pipeline.load(path: Fixture.pipelineFile(text))
        let (m, x) = try mriMeasurement(p)
        let r = try p.makeReconstructor()
        let first = try r.reconstruct(m, reference: x).diagnostics
        let second = try r.reconstruct(m, reference: x).diagnostics
        #expect(first.stopReason == .tolerance && second.stopReason == .tolerance)
        #expect(second.iterations < first.iterations)
        #expect(abs(second.psnr! - first.psnr!) < 0.5)
    }

    @Test func boxIsReadAndNeedsARealImage() throws {
        #expect(try Pipeline.load(path: Fixture.pipelineFile(Self.valid)).solver.box == false)
        let boxed = Self.valid.replacingOccurrences(of: "iterations: 5}", with: "iterations: 5, box: true}")
        #expect(try Pipeline.load(path: Fixture.pipelineFile(boxed)).solver.box)
        let complex = boxed.replacingOccurrences(of: "{shape: [32, 32]}", with: "{shape: [32, 32], type: complex64}")
            .replacingOccurrences(of: "{type: tv, lambda: 0.01}", with: "{type: none}")
        let message = loadError(complex).message
        #expect(message.contains("solver.box") && message.contains("real image"))
        let notBool = loadError(boxed.replacingOccurrences(of: "box: true", with: "box: 2")).message
        #expect(notBool.contains("solver.box"))
    }

    /// The `check` section: defaults, and errors that name the key.
    @Test func checkIsReadAndValidated() throws {
        let lpn = try String(contentsOfFile: Fixture.path("tiny-lpn.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../../LPNTests", with: Fixture.directory + "/../../LPNTests")
        let checked = lpn + "check: {every: 10, folds: 3, seed: 4, margin_db: 0.5, reference: {lambda: 0.02, rho: 0.2, iterations: 40}}\n"
        let c = try #require(try Pipeline.load(path: Fixture.pipelineFile(checked)).crossValidation)
        #expect(c.every == 10 && c.folds == 3 && c.seed == 4 && c.marginDB == 0.5)
        #expect(c.referenceLambda == 0.02 && c.referenceRho == 0.2 && c.referenceIterations == 40)
        let defaults = try #require(try Pipeline.load(path: Fixture.pipelineFile(lpn + "check: {reference: {lambda: 0.02}}\n")).crossValidation)
        #expect(defaults.every == 100 && defaults.folds == 4 && defaults.marginDB == 0)
        #expect(try Pipeline.load(path: Fixture.pipelineFile(lpn)).crossValidation == nil)
        for (text, key) in [(lpn + "check: {every: 10}\n", "check.reference"),
                            (lpn + "check: {folds: 1, reference: {lambda: 0.02}}\n", "check.folds"),
                            (lpn + "check: {reference: {lambda: 0}}\n", "check.reference.lambda"),
                            (lpn + "check: {reference: {lambda: 0.02}, holdout: 0.2}\n", "check.holdout"),
                            (Self.valid + "check: {reference: {lambda: 0.02}}\n", "check")] {
            let message = loadError(text).message
            #expect(message.contains("'\(key)'"), "\(key): \(message)")
        }
        #expect(loadError(Self.valid + "check: {reference: {lambda: 0.02}}\n").message.contains("not lpn"))
        // multi-coil, with the pipeline's mask or with each MRD frame's own
        let model = Fixture.directory + "/../../LPNTests/Fixtures/n32_c1.safetensors"
        let multiCoil = """
            name: m
            image: {shape: [32, 32]}
            operator: {type: mri, coils: 2, acceleration: 2, center_fraction: 0.25, kspace: centered}
            prior: {type: lpn, model: \(model), processing: patches, patch_stride: 16}
            solver: {type: admm, iterations: 2}
            check: {reference: {lambda: 0.02}}

            """
        #expect(try Pipeline.load(path: Fixture.pipelineFile(multiCoil)).crossValidation != nil)
        #expect(try Pipeline.load(path: Fixture.pipelineFile("input: mrd\n" + multiCoil)).crossValidation != nil)
    }

    @Test func complexImageNeedsNoPrior() {
        let (message, _) = loadError(Self.valid.replacingOccurrences(of: "{shape: [32, 32]}", with: "{shape: [32, 32], type: complex64}"))
        #expect(message.contains("prior.type"))
    }
}

final class ResultBox: Sendable {
    private let stored: Locked<[[Float]?]>
    var values: [[Float]?] { stored.get() }
    init(count: Int) { stored = Locked(Array(repeating: nil, count: count)) }
    func set(_ i: Int, _ v: [Float]?) { stored.withLock { $0[i] = v } }
}
