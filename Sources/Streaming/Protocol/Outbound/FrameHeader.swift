/// Header of an outbound frame message (part 1, after the topic).
public struct FrameHeader: Codable, Sendable, Equatable {
    public var lpnd = WireProtocol.version
    public var type = "frame"
    public var stream: String
    public var seq: UInt64
    public var pipeline: String
    public var timestamp: Double
    public var shape: [Int]
    public var dtype = "float32"
    public var byteOrder = "little"
    public var png: Bool
    public var timings: FrameTimings
    public var convergence: ConvergenceSummary
    public var psnr: Double?
    public var ssim: Double?
    /// Warnings: "outside_prior", "not_converging", … (docs/PROTOCOL.md); empty when none.
    public var flags: [String] = []
    public var prior: PriorSummary?
    /// Checked frames of pipelines with `check` only.
    public var check: CheckSummary?
    /// Pipelines with `check.choose` only.
    public var choice: ChoiceSummary?
    /// The configuration generation whose pipeline reconstructed the frame.
    public var generation: Int = 1

    enum CodingKeys: String, CodingKey {
        case lpnd, type, stream, seq, pipeline, timestamp, shape, dtype, png, timings, convergence, psnr, ssim, flags, prior, check, choice, generation
        case byteOrder = "byte_order"
    }
}

/// Per-frame timings in milliseconds, measured inside the daemon.
public struct FrameTimings: Codable, Sendable, Equatable {
    /// From receipt to the start of reconstruction (time spent in inboxes and decoding).
    public var queueMs: Double
    public var reconstructMs: Double
    /// From receipt to publication.
    public var totalMs: Double

    enum CodingKeys: String, CodingKey {
        case queueMs = "queue_ms", reconstructMs = "reconstruct_ms", totalMs = "total_ms"
    }
}

/// The convergence summary carried in every frame header.
public struct ConvergenceSummary: Codable, Sendable, Equatable {
    public var iterations: Int
    public var converged: Bool
    public var stopReason: String
    public var finalRelativeChange: Double?
    public var finalResidual: Double?

    public init(iterations: Int, converged: Bool, stopReason: String, finalRelativeChange: Double?, finalResidual: Double?) {
        self.iterations = iterations
        self.converged = converged
        self.stopReason = stopReason
        self.finalRelativeChange = finalRelativeChange
        self.finalResidual = finalResidual
    }

    enum CodingKeys: String, CodingKey {
        case iterations, converged
        case stopReason = "stop_reason"
        case finalRelativeChange = "final_relative_change"
        case finalResidual = "final_residual"
    }
}

/// Where a frame stands against its learned prior (LPN pipelines): φ(f(x̂)) per pixel and the
/// RMS prox displacement ‖f(x̂) − x̂‖/√pixels, with the model's calibrated ranges.
public struct PriorSummary: Codable, Sendable, Equatable {
    public var phi: Double
    public var displacement: Double
    public var phiRange: [Double]?
    public var displacementRange: [Double]?

    public init(phi: Double, displacement: Double, phiRange: [Double]?, displacementRange: [Double]?) {
        self.phi = phi
        self.displacement = displacement
        self.phiRange = phiRange
        self.displacementRange = displacementRange
    }

    enum CodingKeys: String, CodingKey {
        case phi, displacement
        case phiRange = "phi_range", displacementRange = "displacement_range"
    }
}

/// A checked frame's cross-validation against the TV reference (pipelines with `check`):
/// each method's mean squared error on held-out measurements, and the verdict in dB (the mean
/// over folds of 10·log₁₀ of each fold's ratio, docs/MATH.md §6).
public struct CheckSummary: Codable, Sendable, Equatable {
    public var folds: Int
    public var differenceDB: Double
    public var marginDB: Double
    public var priorError: Double
    public var referenceError: Double

    public init(folds: Int, differenceDB: Double, marginDB: Double, priorError: Double, referenceError: Double) {
        self.folds = folds
        self.differenceDB = differenceDB
        self.marginDB = marginDB
        self.priorError = priorError
        self.referenceError = referenceError
    }

    enum CodingKeys: String, CodingKey {
        case folds
        case differenceDB = "difference_db", marginDB = "margin_db"
        case priorError = "prior_error", referenceError = "reference_error"
    }
}

/// Which prior reconstructed a frame of a pipeline with `check.choose` (every frame of it):
/// the stream's choice, and whether this frame's check switched it.
public struct ChoiceSummary: Codable, Sendable, Equatable {
    /// "lpn" (the pipeline's learned prior) or "tv" (the check's reference).
    public var prior: String
    public var switched: Bool
    /// Whether this frame was checked (its `check` has both candidates' errors).
    public var checked: Bool

    public init(prior: String, switched: Bool, checked: Bool) {
        (self.prior, self.switched, self.checked) = (prior, switched, checked)
    }
}
