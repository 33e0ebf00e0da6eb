import Foundation
import LPN
import TensorIO
import Support

/// The forward model of a pipeline with its (shared, immutable) data.
public enum OperatorSpec: Sendable {
    case denseCS(DenseMatrix, seed: UInt64?, matrixFile: String?)
    case randomConvolution(RandomConvolutionData, rate: Double, seed: UInt64)
    case mri(MRIMask, acceleration: Double?, centerFraction: Double?, seed: UInt64?, maskFile: String?)
    case multiCoilMRI(MultiCoilSpec)
    case blur(BlurKernel)
    case identity

    public var typeName: String {
        switch self {
        case .denseCS: return "dense_cs"
        case .randomConvolution: return "random_convolution"
        case .mri, .multiCoilMRI: return "mri"
        case .blur: return "blur"
        case .identity: return "identity"
        }
    }

    /// Single-coil Cartesian MRI (a frame's own `lines` can be simulated).
    public var isSingleCoilMRI: Bool {
        if case .mri = self { return true }
        return false
    }

    /// A fresh operator instance (own buffers and FFT plans) over the shared data.
    /// `threads`: how many threads one application may use (multi-coil MRI shares its coils out).
    public func makeOperator(imageShape: [Int], imageType: SampleType, threads: Int = 1) -> LinearOperator {
        switch self {
        case .denseCS(let m, _, _): return DenseGaussianOperator(matrix: m, imageShape: imageShape)
        case .randomConvolution(let d, _, _): return RandomConvolutionOperator(data: d, imageShape: imageShape)
        case .mri(let mask, _, _, _, _): return MRIOperator(mask: mask, imageType: imageType)
        case .multiCoilMRI(let spec):
            return MultiCoilMRIOperator(coils: spec.coils, mask: spec.mask, source: spec.maps.map { .given($0) } ?? .estimate,
                                        normalize: spec.normalize, imageType: imageType, threads: threads)
        case .blur(let k): return BlurOperator(kernel: k, imageShape: imageShape)
        case .identity: return IdentityOperator(imageShape: imageShape)
        }
    }
}

/// A multi-coil MRI operator as declared (`operator.coils` present): docs/PIPELINES.md.
public struct MultiCoilSpec: Sendable {
    public var coils: Int
    /// The pipeline's mask (unshifted); frames that carry their sampled rows (MRD) replace it.
    public var mask: MRIMask
    /// Given maps (`coil_maps: FILE`), or nil: estimated per frame.
    public var maps: CoilMaps?
    public var mapsFile: String?
    /// Scale each frame so its low-resolution image peaks at 1 (`normalize`).
    public var normalize: Bool
    public var acceleration: Double?, centerFraction: Double?, seed: UInt64?, maskFile: String?
}

/// The regulariser of a pipeline.
public enum PriorSpec: Sendable {
    case none
    case tv(lambda: Double, iterations: Int)
    case lpn(model: LPNModel, path: String, processing: FrameProcessing, strength: Double)

    public var typeName: String {
        switch self {
        case .none: return "none"
        case .tv: return "tv"
        case .lpn: return "lpn"
        }
    }
}

/// A reconstruction pipeline loaded from a YAML file (docs/PIPELINES.md): operator, prior,
/// solver, simulation defaults, output options. Immutable and shareable; each worker thread
/// makes its own ``Reconstructor``.
public final class Pipeline: @unchecked Sendable {  // safe: immutable after loading but for the ‖A‖² box (per-worker state lives in Reconstructor)
    public let file: String
    public let name: String
    public let description: String?
    public let imageShape: [Int]
    public let imageType: SampleType
    public let operatorSpec: OperatorSpec
    public let prior: PriorSpec
    public let solver: SolverSettings
    public let simulationNoise: Double
    public let simulationSeed: UInt64
    public let clipOutput: Bool
    public let computePhi: Bool
    public let phiIterations: Int
    /// The measurement as sent (wire shape: k-space layout and readout oversampling included).
    public let measurementShape: [Int]
    public let measurementType: SampleType
    /// MRI pipelines: how k-space arrives (coils, layout, readout oversampling); nil otherwise.
    public let kspace: KSpaceFormat?
    /// Where the pipeline's frames come from: lpnd measurement messages or MRD acquisitions.
    public let input: InputKind
    /// Simulation of multi-coil data: coil maps, noise correlation, object phase.
    public let coilSimulation: CoilSimulation
    /// The `check` section: cross-validation of the prior against TV, or nil.
    public let crossValidation: CrossValidationSettings?
    /// `prior.check_every` (LPN priors, with `solver.warm_start`): the prior check
    /// (``PriorStatistics``) runs on every frame that starts cold and on every this-many-th
    /// warm frame of a stream; 1 checks every frame.
    public let priorCheckEvery: Int

    /// ‖A‖², computed once (inside the lock: concurrent callers wait for the one computation).
    private let cachedNormSquared = Locked<Double?>(nil)

    init(file: String, name: String, description: String?, imageShape: [Int], imageType: SampleType,
         operatorSpec: OperatorSpec, prior: PriorSpec, solver: SolverSettings, simulationNoise: Double,
         simulationSeed: UInt64, clipOutput: Bool, computePhi: Bool, phiIterations: Int,
         kspace: KSpaceFormat?, input: InputKind, coilSimulation: CoilSimulation,
         crossValidation: CrossValidationSettings? = nil, priorCheckEvery: Int = 1) {
        self.file = file
        self.name = name
        self.description = description
        self.imageShape = imageShape
        self.imageType = imageType
        self.operatorSpec = operatorSpec
        self.prior = prior
        self.solver = solver
        self.simulationNoise = simulationNoise
        self.simulationSeed = simulationSeed
        self.clipOutput = clipOutput
        self.computePhi = computePhi
        self.phiIterations = phiIterations
        self.kspace = kspace
        self.input = input
        self.coilSimulation = coilSimulation
        self.crossValidation = crossValidation
        self.priorCheckEvery = priorCheckEvery
        let probe = operatorSpec.makeOperator(imageShape: imageShape, imageType: imageType)
        measurementShape = kspace?.wireShape ?? probe.measurementShape
        measurementType = probe.measurementType
    }

    /// Where a pipeline's frames come from (`input`).
    public enum InputKind: String, Sendable, CaseIterable {
        /// lpnd measurement messages (docs/PROTOCOL.md §1).
        case lpnd
        /// MRD (ISMRMRD) acquisitions, one readout line per message, assembled into frames.
        case mrd
    }

    /// Loads and validates a pipeline file; errors name the file (and line), the key and the
    /// problem. Relative paths in the file (model, mask, matrix) are resolved against the
    /// file's directory.
    public static func load(path: String) throws -> Pipeline {
        try PipelineLoader.load(path: path)
    }

    /// ‖A‖² by power iteration, computed once per pipeline.
    public func operatorNormSquared() -> Double {
        cachedNormSquared.withLock { cached in
            if let v = cached { return v }
            let v = Reconstruction.operatorNormSquared(operatorSpec.makeOperator(imageShape: imageShape, imageType: imageType))
            cached = v
            return v
        }
    }

    /// A reconstructor with its own operator instance, prior, solver and buffers (not
    /// thread-safe; one per worker thread). Safe to call from several threads at once.
    /// `threads`: how many one frame's learned prox may use (its convolutions' bands).
    /// `streams`: where the workers of one pipeline keep each stream's last solver state
    /// (`solver.warm_start`; each reconstructor has its own store when nil).
    public func makeReconstructor(threads: Int = 1, streams: StreamStates? = nil) throws -> Reconstructor {
        try Reconstructor(pipeline: self, threads: threads, streams: streams)
    }

    /// A fresh operator instance (own buffers and FFT plans); `threads` as the frame's.
    public func makeOperator(threads: Int = 1) -> LinearOperator {
        operatorSpec.makeOperator(imageShape: imageShape, imageType: imageType, threads: threads)
    }

    /// y = A x + noise·n, n ~ N(0, I) from `seed` (complex: independent on re and im of
    /// every stored value; MRI: only sampled k-space locations get noise). Multi-coil: the
    /// image gets a smooth phase and the coils simulated maps, and the noise is correlated
    /// across coils (``CoilSimulation``). MRI measurements come in the pipeline's k-space
    /// format (layout, readout oversampling).
    ///
    /// `lines`: single-coil MRI only, the phase-encode rows (in the pipeline's k-space layout)
    /// this frame samples instead of the pipeline's mask; the measurement carries them as its
    /// `sampledRows`.
    public func simulate(image: Tensor, noise: Float, seed: UInt64, lines: [Int]? = nil) throws -> Measurement {
        let expected = imageType == .complex64 ? imageShape + [2] : imageShape
        var values = image.data
        if image.shape != expected {
            // Accept [1, H, W] for a one-channel image.
            if image.shape.count == 3 && image.shape[0] == 1 && Array(image.shape.dropFirst()) == expected {
                values = image.data
            } else if imageType == .complex64 && image.shape == imageShape {
                values = image.data.flatMap { [$0, 0] }
            } else {
                throw ReconstructionError.shapeMismatch(expected: expected, got: image.shape, what: "the image")
            }
        }
        if let (i, v) = values.withUnsafeBufferPointer({ firstNonFinite($0) }) {
            throw ReconstructionError.nonFinite(what: "the image", index: i, value: v)
        }
        guard noise >= 0, noise.isFinite else {
            throw ReconstructionError.invalidArgument("noise must be ≥ 0, got \(noise)")
        }
        if lines != nil, !operatorSpec.isSingleCoilMRI {
            throw ReconstructionError.invalidArgument("per-frame lines are simulated for single-coil MRI pipelines only")
        }
        var y: [Float]
        switch operatorSpec {
        case .multiCoilMRI(let spec):
            y = coilSimulation.simulate(image: values, imageType: imageType, spec: spec, noise: noise, seed: seed)
        case .mri(var mask, _, _, _, _):
            let op = makeOperator()
            if let lines, let mri = op as? MRIOperator {
                if let bad = lines.first(where: { $0 < 0 || $0 >= mask.height }) {
                    throw ReconstructionError.invalidArgument("line \(bad) is outside 0..<\(mask.height)")
                }
                mri.sample(rows: Set(lines.map { kspace?.operatorRow($0) ?? $0 }))
                mask = mri.mask
            }
            y = op.forward(values)
            if noise > 0 {
                var rng = SplitMix64(seed: seed)
                for i in 0..<mask.values.count where mask.values[i] != 0 {
                    y[2 * i] += noise * Float(rng.nextGaussian())
                    y[2 * i + 1] += noise * Float(rng.nextGaussian())
                }
            }
        default:
            y = makeOperator().forward(values)
            if noise > 0 {
                var rng = SplitMix64(seed: seed)
                for i in 0..<y.count { y[i] += noise * Float(rng.nextGaussian()) }
            }
        }
        if let kspace, !kspace.isIdentity {
            let converter = kspace.makeConverter()
            var wire = [Float](repeating: 0, count: converter.wireCount)
            y.withUnsafeBufferPointer { yp in wire.withUnsafeMutableBufferPointer { converter.fromOperator(yp.baseAddress!, $0.baseAddress!) } }
            y = wire
        }
        return Measurement(shape: measurementShape, type: measurementType, values: y, sampledRows: lines)
    }
}
