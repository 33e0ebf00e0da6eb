import Foundation
import LPN
import TensorIO

/// Reads a pipeline file into a ``Pipeline`` (schema: docs/PIPELINES.md).
enum PipelineLoader {
    static func load(path: String) throws -> Pipeline {
        let root = try YAMLSection.load(file: path)
        let directory = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(p)
        }

        let name = try root.required("name", root.string)
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw root.fail("name", "'\(name)' must be non-empty letters, digits, '-', '_' or '.'")
        }
        let description = try root.string("description")

        // image
        let image = try root.required("image", root.section)
        let shape = try image.required("shape", image.ints)
        guard shape.count == 2, shape.allSatisfy({ $0 >= 1 && $0 <= 8192 }) else {
            throw image.fail("shape", "expected [height, width] with sides 1…8192, got \(shape)")
        }
        let imageType = try image.choice("type", SampleType.self) ?? .float32
        try image.finish()

        // operator
        let opSection = try root.required("operator", root.section)
        let opType = try opSection.required("type", opSection.string)
        let pixels = shape[0] * shape[1]
        let operatorSpec: OperatorSpec
        var kspace: KSpaceFormat? = nil
        switch opType {
        case "dense_cs":
            let rate = try opSection.double("rate", min: 0, max: 1, exclusiveMin: true)
            let count = try opSection.int("measurements", range: 1...1_000_000)
            let seed = try opSection.int("seed", range: 0...Int.max)
            let matrixFile = try opSection.string("matrix")
            if let matrixFile {
                if rate != nil || count != nil || seed != nil {
                    throw opSection.fail("matrix", "give either a matrix file or rate/measurements/seed, not both")
                }
                let t: Tensor
                do { t = try NPY.read(path: resolve(matrixFile)) } catch {
                    throw opSection.fail("matrix", "cannot load \(resolve(matrixFile)): \(error)")
                }
                guard t.shape.count == 2, t.shape[1] == pixels else {
                    throw opSection.fail("matrix", "matrix shape \(t.shape) must be [m, \(pixels)] (H·W columns)")
                }
                if let (i, v) = t.firstNonFinite { throw opSection.fail("matrix", "non-finite value \(v) at flat index \(i)") }
                operatorSpec = .denseCS(DenseMatrix(rows: t.shape[0], columns: pixels, values: t.data), seed: nil, matrixFile: resolve(matrixFile))
            } else {
                guard (rate == nil) != (count == nil) else {
                    throw opSection.fail(rate == nil ? "rate" : "measurements", "give exactly one of rate and measurements")
                }
                let m = count ?? max(1, Int((rate! * Double(pixels)).rounded()))
                guard m <= 4 * pixels else { throw opSection.fail("measurements", "\(m) is more than 4·H·W") }
                let s = UInt64(seed ?? 0)
                operatorSpec = .denseCS(DenseMatrix(gaussianRows: m, columns: pixels, seed: s), seed: s, matrixFile: nil)
            }
        case "random_convolution":
            let rate = try opSection.required("rate") { try opSection.double($0, min: 0, max: 1, exclusiveMin: true) }
            let seed = UInt64(try opSection.int("seed", range: 0...Int.max) ?? 0)
            let m = max(1, Int((rate * Double(pixels)).rounded()))
            operatorSpec = .randomConvolution(RandomConvolutionData(pixels: pixels, measurements: m, seed: seed), rate: rate, seed: seed)
        case "mri":
            let (spec, format) = try mriOperator(opSection, shape: shape, resolve: resolve)
            operatorSpec = spec
            kspace = format
        case "blur":
            let sigma = try opSection.required("sigma") { try opSection.double($0, min: 0, exclusiveMin: true) }
            let size = try opSection.int("kernel_size", range: 1...63)
            if let size, size % 2 == 0 { throw opSection.fail("kernel_size", "must be odd, got \(size)") }
            operatorSpec = .blur(BlurKernel(sigma: sigma, size: size))
        case "identity":
            operatorSpec = .identity
        default:
            throw opSection.fail("type", "'\(opType)' is not one of: dense_cs, random_convolution, mri, blur, identity")
        }
        try opSection.finish()
        if imageType == .complex64, opType != "mri" {
            throw image.fail("type", "complex64 images are only supported by the mri operator")
        }

        // prior
        let priorSection = try root.required("prior", root.section)
        let priorType = try priorSection.required("type", priorSection.string)
        let prior: PriorSpec
        var priorCheckEvery = 1
        switch priorType {
        case "none":
            prior = .none
        case "tv":
            let lambda = try priorSection.required("lambda") { try priorSection.double($0, min: 0) }
            let iterations = try priorSection.int("iterations", range: 1...10_000) ?? 20
            prior = .tv(lambda: lambda, iterations: iterations)
        case "lpn":
            let modelPath = try priorSection.required("model", priorSection.string)
            let strength = try priorSection.double("strength", min: 0, max: 1, exclusiveMin: true) ?? 1
            let mode = try priorSection.choice("processing", FrameProcessing.Kind.self) ?? .whole
            let resolved = resolve(modelPath)
            let model: LPNModel
            do { model = try LPNModel(path: resolved) } catch {
                throw priorSection.fail("model", "cannot load \(resolved): \(error)")
            }
            let n = model.configuration.size
            guard model.configuration.inChannels == 1 else {
                throw priorSection.fail("model", "the model has \(model.configuration.inChannels) channels; pipelines reconstruct one-channel images")
            }
            let processing: FrameProcessing
            switch mode {
            case .whole:
                for key in ["patch_stride", "patch_weighting"] where priorSection.has(key) {
                    throw priorSection.fail(key, "only with processing: patches (this prior processes the whole frame)")
                }
                let padding = try priorSection.choice("padding", FramePadding.self) ?? model.configuration.framePadding
                let symmetry = try priorSection.choice("symmetry", FrameSymmetry.self) ?? .identity
                guard symmetry.accepts(height: shape[0], width: shape[1]) else {
                    throw priorSection.fail("symmetry", "\(symmetry.rawValue) needs a square image, not \(shape[0])×\(shape[1]) (use flips)")
                }
                processing = .whole(padding: padding, symmetry: symmetry)
            case .patches:
                for key in ["padding", "symmetry"] where priorSection.has(key) {
                    throw priorSection.fail(key, "only with processing: whole")
                }
                let stride = try priorSection.int("patch_stride", range: 1...4096)
                let weighting = try priorSection.choice("patch_weighting", PatchWeighting.self) ?? .hann
                guard shape[0] >= n, shape[1] >= n else {
                    throw priorSection.fail("model", "the model's input is \(n)×\(n), larger than the \(shape[0])×\(shape[1]) image (patches need at least that; processing: whole pads)")
                }
                if let stride, stride > n { throw priorSection.fail("patch_stride", "\(stride) exceeds the model size \(n)") }
                processing = .patches(stride: stride, weighting: weighting)
            }
            do { try LPNProx(model: model, processing: processing).validate(height: shape[0], width: shape[1]) } catch {
                throw priorSection.fail("padding", "\(error)")
            }
            prior = .lpn(model: model, path: resolved, processing: processing, strength: strength)
            priorCheckEvery = try priorSection.int("check_every", range: 1...1_000_000) ?? 1
        default:
            throw priorSection.fail("type", "'\(priorType)' is not one of: lpn, tv, none")
        }
        try priorSection.finish()
        if imageType == .complex64, priorType != "none" {
            throw priorSection.fail("type", "a complex64 image needs prior type none (lpn and tv act on real images)")
        }

        // solver
        let solverSection = try root.required("solver", root.section)
        var settings = SolverSettings()
        settings.kind = try solverSection.required("type") { try solverSection.choice($0, SolverSettings.Kind.self) }
        settings.iterations = try solverSection.int("iterations", range: 0...100_000) ?? settings.iterations
        settings.tolerance = try solverSection.double("tolerance", min: 0) ?? settings.tolerance
        settings.initialization = try solverSection.choice("init", SolverSettings.Initialization.self) ?? settings.initialization
        settings.initIterations = try solverSection.int("init_iterations", range: 0...10_000) ?? settings.initIterations
        settings.divergenceFactor = try solverSection.double("divergence_factor", min: 1, exclusiveMin: true) ?? settings.divergenceFactor
        settings.warmStart = try solverSection.bool("warm_start") ?? settings.warmStart
        settings.warmStartRatio = try solverSection.double("warm_start_ratio", min: 1, exclusiveMin: true) ?? settings.warmStartRatio
        settings.warmIterations = try solverSection.int("warm_iterations", range: 1...100_000)
        switch settings.kind {
        case .admm:
            settings.rho = try solverSection.double("rho", min: 0, exclusiveMin: true) ?? settings.rho
            settings.dataWeight = try solverSection.double("data_weight", min: 0, exclusiveMin: true) ?? settings.dataWeight
            settings.xStep = try solverSection.choice("x_step", SolverSettings.XStep.self) ?? settings.xStep
            settings.cgTolerance = try solverSection.double("cg_tolerance", min: 0) ?? settings.cgTolerance
            settings.cgIterations = try solverSection.int("cg_iterations", range: 1...10_000) ?? settings.cgIterations
            settings.box = try solverSection.bool("box") ?? settings.box
        case .pgd:
            settings.step = try solverSection.double("step", min: 0, exclusiveMin: true) ?? settings.step
            settings.clip = try solverSection.bool("clip") ?? settings.clip
        case .leastSquares, .adjoint:
            break
        }
        try solverSection.finish()
        if priorCheckEvery > 1, !settings.warmStart {
            throw priorSection.fail("check_every", "only with solver.warm_start: true (every cold frame is checked)")
        }
        if settings.box, imageType == .complex64 {
            throw solverSection.fail("box", "the box 0 ≤ x ≤ 1 needs a real image (image.type float32)")
        }
        if settings.kind == .admm, settings.xStep == .closedForm {
            let probe = operatorSpec.makeOperator(imageShape: shape, imageType: imageType)
            let shift = PnPADMM.xStepShift(rho: Float(settings.rho), box: settings.box)
            guard probe.prepareNormalSolve(dataWeight: Float(2 * settings.dataWeight), shift: shift) else {
                throw solverSection.fail("x_step", "operator \(opType) has no closed-form x-step; use cg or auto")
            }
        }
        if (settings.kind == .leastSquares || settings.kind == .adjoint), priorType != "none" {
            throw solverSection.fail("type", "solver \(settings.kind.rawValue) takes no prior; set prior.type: none")
        }

        // simulation (optional)
        var noise = 0.0, simSeed: UInt64 = 0
        var coilSimulation = CoilSimulation()
        if let sim = try root.section("simulation") {
            noise = try sim.double("noise", min: 0) ?? 0
            simSeed = UInt64(try sim.int("seed", range: 0...Int.max) ?? 0)
            if case .multiCoilMRI = operatorSpec {
                coilSimulation.correlation = try sim.double("coil_correlation", min: 0, max: 0.95) ?? coilSimulation.correlation
                coilSimulation.phase = try sim.double("phase", min: 0, max: 2 * Double.pi) ?? coilSimulation.phase
                coilSimulation.mapSeed = UInt64(try sim.int("coil_seed", range: 0...Int.max) ?? 0)
            }
            try sim.finish()
        }

        // input (optional): where frames come from
        let input = try root.choice("input", Pipeline.InputKind.self) ?? .lpnd
        if input == .mrd {
            guard case .multiCoilMRI = operatorSpec else {
                throw root.fail("input", "mrd input needs operator type mri with coils (MRD carries multi-coil k-space)")
            }
            guard kspace?.layout == .centered else {
                throw root.fail("input", "mrd input needs operator.kspace: centered (MRD k-space is centred)")
            }
        }

        // output (optional)
        var clip = imageType == .float32, phi = false, phiIterations = 200
        if let out = try root.section("output") {
            clip = try out.bool("clip") ?? clip
            phi = try out.bool("phi") ?? false
            phiIterations = try out.int("phi_iterations", range: 1...100_000) ?? phiIterations
            try out.finish()
            if phi, priorType != "lpn" { throw out.fail("phi", "φ needs prior type lpn") }
            if clip, imageType == .complex64 { throw out.fail("clip", "clipping to [0, 1] needs a real image") }
        }
        // check (optional): cross-validation of the prior against a TV reference
        var crossValidation: CrossValidationSettings? = nil
        if let check = try root.section("check") {
            var c = CrossValidationSettings()
            c.every = try check.int("every", range: 1...1_000_000) ?? c.every
            c.folds = try check.int("folds", range: 2...20) ?? c.folds
            c.seed = UInt64(try check.int("seed", range: 0...Int.max) ?? Int(c.seed))
            c.marginDB = try check.double("margin_db", min: 0) ?? c.marginDB
            c.choose = try check.bool("choose") ?? c.choose
            c.hysteresisDB = try check.double("hysteresis_db", min: 0) ?? c.hysteresisDB
            if let reference = try check.section("reference") {
                c.referenceLambda = try reference.required("lambda") { try reference.double($0, min: 0, exclusiveMin: true) }
                c.referenceRho = try reference.double("rho", min: 0, exclusiveMin: true) ?? c.referenceRho
                c.referenceIterations = try reference.int("iterations", range: 1...100_000) ?? c.referenceIterations
                try reference.finish()
            } else {
                throw check.fail("reference", "missing: the TV reference, e.g. reference: {lambda: 0.05}")
            }
            try check.finish()
            guard priorType == "lpn" else {
                throw root.fail("check", "cross-validates a learned prior against TV; prior.type is \(priorType), not lpn")
            }
            guard settings.kind == .admm || settings.kind == .pgd else {
                throw root.fail("check", "needs solver type admm or pgd, not \(settings.kind.rawValue)")
            }
            let units = operatorSpec.makeOperator(imageShape: shape, imageType: imageType).measurementUnits.count
            guard units >= c.folds else {
                throw check.fail("folds", "\(c.folds) folds need as many measurement units to hold out; the operator has \(units)")
            }
            crossValidation = c
        }
        try root.finish()

        return Pipeline(file: path, name: name, description: description, imageShape: shape, imageType: imageType,
                        operatorSpec: operatorSpec, prior: prior, solver: settings, simulationNoise: noise,
                        simulationSeed: simSeed, clipOutput: clip, computePhi: phi, phiIterations: phiIterations,
                        kspace: kspace, input: input, coilSimulation: coilSimulation,
                        crossValidation: crossValidation, priorCheckEvery: priorCheckEvery)
    }
}
