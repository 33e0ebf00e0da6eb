import Foundation
import LPN
import TensorIO

/// Reads a pipeline file into a ``Pipeline`` (schema: docs/PIPELINES.md): one parser per
/// section of that document, each checking its own keys, then the checks across sections.
///
///     name, description ─▶ image ─▶ operator ─▶ prior ─▶ solver ─▶ simulation ─▶ input ─▶ output ─▶ check
enum PipelineLoader {
    /// What the sections after `image` and `operator` need to know of them.
    struct Frame {
        let shape: [Int]
        let imageType: SampleType
        let operatorSpec: OperatorSpec
        let operatorType: String
        /// Resolves a path in the file against the file's directory.
        let resolve: (String) -> String

        func makeOperator() -> any LinearOperator { operatorSpec.makeOperator(imageShape: shape, imageType: imageType) }

        /// `operator.normalize`: each frame is divided by an estimate of its scale, so the
        /// image's true range is unknown and no [0, 1] bound holds (no box, no clip).
        var scaleIsEstimated: Bool {
            if case .multiCoilMRI(let spec) = operatorSpec { return spec.normalize }
            return false
        }
    }

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
        let (shape, imageType, imageSection) = try image(root)
        let (operatorSpec, kspace, operatorType) = try operatorSection(root, shape: shape, resolve: resolve)
        if imageType == .complex64, operatorType != "mri" {
            throw imageSection.fail("type", "complex64 images are only supported by the mri operator")
        }
        let frame = Frame(shape: shape, imageType: imageType, operatorSpec: operatorSpec, operatorType: operatorType, resolve: resolve)
        let (prior, priorSection, checkEvery) = try self.prior(root, frame)
        let settings = try solver(root, frame, prior: prior)
        if checkEvery > 1, !settings.warmStart {
            throw priorSection.fail("check_every", "only with solver.warm_start: true (every cold frame is checked)")
        }
        let (noise, simSeed, coilSimulation) = try simulation(root, frame)
        let input = try self.input(root, frame, kspace: kspace)
        let (clip, phi, phiIterations) = try output(root, frame, prior: prior)
        let crossValidation = try check(root, frame, prior: prior, solver: settings)
        try root.finish()
        return Pipeline(file: path, name: name, description: description, imageShape: shape, imageType: imageType,
                        operatorSpec: operatorSpec, prior: prior, solver: settings, simulationNoise: noise,
                        simulationSeed: simSeed, clipOutput: clip, computePhi: phi, phiIterations: phiIterations,
                        kspace: kspace, input: input, coilSimulation: coilSimulation,
                        crossValidation: crossValidation, priorCheckEvery: checkEvery)
    }

    /// `image`: the reconstructed image's [height, width] and sample type.
    static func image(_ root: YAMLSection) throws -> (shape: [Int], type: SampleType, section: YAMLSection) {
        let image = try root.required("image", root.section)
        let shape = try image.required("shape", image.ints)
        guard shape.count == 2, shape.allSatisfy({ $0 >= 1 && $0 <= 8192 }) else {
            throw image.fail("shape", "expected [height, width] with sides 1…8192, got \(shape)")
        }
        let imageType = try image.choice("type", SampleType.self) ?? .float32
        try image.finish()
        return (shape, imageType, image)
    }

    /// `simulation` (optional): the noise and seeds `lpnd simulate` and `lpnd send` use.
    static func simulation(_ root: YAMLSection, _ frame: Frame) throws -> (noise: Double, seed: UInt64, coils: CoilSimulation) {
        var noise = 0.0, seed: UInt64 = 0
        var coils = CoilSimulation()
        guard let sim = try root.section("simulation") else { return (noise, seed, coils) }
        noise = try sim.double("noise", min: 0) ?? 0
        seed = UInt64(try sim.int("seed", range: 0...Int.max) ?? 0)
        if case .multiCoilMRI = frame.operatorSpec {
            coils.correlation = try sim.double("coil_correlation", min: 0, max: 0.95) ?? coils.correlation
            coils.phase = try sim.double("phase", min: 0, max: 2 * Double.pi) ?? coils.phase
            coils.mapSeed = UInt64(try sim.int("coil_seed", range: 0...Int.max) ?? 0)
        }
        try sim.finish()
        return (noise, seed, coils)
    }

    /// `input` (optional): where frames come from.
    static func input(_ root: YAMLSection, _ frame: Frame, kspace: KSpaceFormat?) throws -> Pipeline.InputKind {
        let input = try root.choice("input", Pipeline.InputKind.self) ?? .lpnd
        if input == .mrd {
            guard case .multiCoilMRI = frame.operatorSpec else {
                throw root.fail("input", "mrd input needs operator type mri with coils (MRD carries multi-coil k-space)")
            }
            guard kspace?.layout == .centered else {
                throw root.fail("input", "mrd input needs operator.kspace: centered (MRD k-space is centred)")
            }
        }
        return input
    }

    /// `output` (optional): clipping and φ.
    static func output(_ root: YAMLSection, _ frame: Frame, prior: PriorSpec) throws -> (clip: Bool, phi: Bool, phiIterations: Int) {
        var clip = frame.imageType == .float32 && !frame.scaleIsEstimated, phi = false, phiIterations = 200
        guard let out = try root.section("output") else { return (clip, phi, phiIterations) }
        clip = try out.bool("clip") ?? clip
        phi = try out.bool("phi") ?? false
        phiIterations = try out.int("phi_iterations", range: 1...100_000) ?? phiIterations
        try out.finish()
        if phi, prior.typeName != "lpn" { throw out.fail("phi", "φ needs prior type lpn") }
        if clip, frame.imageType == .complex64 { throw out.fail("clip", "clipping to [0, 1] needs a real image") }
        if clip, frame.scaleIsEstimated {
            throw out.fail("clip", "clipping to [0, 1] with operator.normalize: true would cut every pixel brighter than the estimated scale (set clip: false)")
        }
        return (clip, phi, phiIterations)
    }
}
