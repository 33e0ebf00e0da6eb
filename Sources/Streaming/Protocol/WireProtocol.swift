import Foundation

/// Constants of lpnd's ZeroMQ wire protocol (docs/PROTOCOL.md is the normative description).
public enum WireProtocol {
    /// The protocol version this daemon speaks; messages with another `lpnd` value are rejected.
    public static let version = 1

    /// PUB topics: the first part of every output message. Stream ids cannot contain '/', so
    /// subscribing to "frame/cam0/" receives exactly stream cam0's frames.
    public static func topic(_ kind: OutputKind, stream: String) -> String { "\(kind.rawValue)/\(stream)/" }

    /// Stream ids: 1–64 characters of [A-Za-z0-9_.-], not starting with '_' (ids beginning
    /// with '_' are reserved for the daemon, like ``unknownStream``).
    public static func isValidStreamID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.first != UInt8(ascii: "_") && id.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    /// Placeholder stream id in the topic of errors whose stream is unknown.
    public static let unknownStream = "_"

    /// Largest header part (part 0) that is parsed; a larger one is `malformed_header`.
    public static let maxHeaderBytes = 65_536
}

public enum OutputKind: String, Sendable {
    case frame, diagnostics, error, pong
    /// A frame as an MRD image message (`mrd_images: true`, docs/PROTOCOL.md §3).
    case mrd
}

/// Sample types of payload parts. Complex values are interleaved (re, im) float32 pairs.
public enum WireDType: String, Codable, Sendable {
    case float32, complex64

    public var floatsPerSample: Int { self == .complex64 ? 2 : 1 }
}

/// Reason codes of error events.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case malformedMessage = "malformed_message"
    case malformedHeader = "malformed_header"
    case unsupportedVersion = "unsupported_version"
    case unknownPipeline = "unknown_pipeline"
    case shapeMismatch = "shape_mismatch"
    case dtypeMismatch = "dtype_mismatch"
    case payloadSize = "payload_size"
    case nonFinite = "non_finite"
    case diverged
    case reconstructionFailed = "reconstruction_failed"
    case dropped
    case drainTimeout = "drain_timeout"
    /// MRD input (docs/PROTOCOL.md §8): a missing, malformed or mismatched XML header.
    case mrdHeader = "mrd_header"
    /// MRD input: an acquisition that does not fit the pipeline (channels, samples, line index).
    case mrdAcquisition = "mrd_acquisition"
    /// MRD input: a frame that ended (or was abandoned) without the lines it needs.
    case mrdIncomplete = "mrd_incomplete"
    case `internal`
}

/// Header of an inbound measurement message (part 0, JSON).
public struct MeasurementHeader: Codable, Sendable, Equatable {
    public var lpnd: Int
    public var type: String
    public var stream: String
    public var seq: UInt64
    public var timestamp: Double
    public var pipeline: String
    public var shape: [Int]
    public var dtype: WireDType
    public var byteOrder: String
    public var reference: Bool?
    /// MRI pipelines: the phase-encode rows this frame sampled, in the pipeline's k-space
    /// layout (a dynamic stream's per-frame pattern); nil: the pipeline's own mask.
    public var lines: [Int]?

    enum CodingKeys: String, CodingKey {
        case lpnd, type, stream, seq, timestamp, pipeline, shape, dtype, reference, lines
        case byteOrder = "byte_order"
    }

    public init(stream: String, seq: UInt64, timestamp: Double, pipeline: String, shape: [Int],
                dtype: WireDType, reference: Bool = false, lines: [Int]? = nil) {
        self.lines = lines
        self.lpnd = WireProtocol.version
        self.type = "measurement"
        self.stream = stream
        self.seq = seq
        self.timestamp = timestamp
        self.pipeline = pipeline
        self.shape = shape
        self.dtype = dtype
        self.byteOrder = "little"
        self.reference = reference
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
/// each method's mean squared error on held-out measurements and their ratio in dB.
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

/// A ping (one-part message `{"lpnd":1,"type":"ping","stream":…,"seq":…}`): the daemon
/// answers it with a pong on `pong/<stream>/`, the handshake of docs/PROTOCOL.md §7.
public struct Ping: Sendable, Equatable {
    public var stream: String
    public var seq: UInt64

    public init(stream: String, seq: UInt64) {
        self.stream = stream
        self.seq = seq
    }
}

/// What identifies an output whose body is not its own header: the diagnostics envelope
/// (`{"lpnd":1,"type":"diagnostics",…}`, the record follows) and an MRD image message's part 1
/// (`"type":"mrd_image"`).
public struct OutputIdentification: Codable, Sendable, Equatable {
    public var lpnd = WireProtocol.version
    public var type: String
    public var stream: String
    public var seq: UInt64
    public var pipeline: String

    public init(type: String, stream: String, seq: UInt64, pipeline: String) {
        (self.type, self.stream, self.seq, self.pipeline) = (type, stream, seq, pipeline)
    }
}

/// Body of a pong (part 1, after the topic).
public struct Pong: Codable, Sendable, Equatable {
    public var lpnd = WireProtocol.version
    public var type = "pong"
    public var stream: String
    public var seq: UInt64
    public var pipeline: String
    /// The configuration generation serving the pipeline (1, then +1 per reload).
    public var generation: Int
}

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

/// Body of an error event (part 1, after the topic).
public struct ErrorEvent: Codable, Sendable, Equatable {
    public var lpnd = WireProtocol.version
    public var type = "error"
    public var stream: String?
    public var seq: UInt64?
    public var pipeline: String?
    public var code: ErrorCode
    public var message: String
    /// The configuration generation serving the pipeline when the error was found.
    public var generation: Int

    public init(stream: String?, seq: UInt64?, pipeline: String?, code: ErrorCode, message: String, generation: Int = 1) {
        self.generation = generation
        self.stream = stream
        self.seq = seq
        self.pipeline = pipeline
        self.code = code
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case lpnd, type, stream, seq, pipeline, code, message, generation
    }

    /// `stream`, `seq` and `pipeline` are always present, `null` when unknown (PROTOCOL.md §5).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lpnd, forKey: .lpnd)
        try c.encode(type, forKey: .type)
        try c.encode(stream, forKey: .stream)
        try c.encode(seq, forKey: .seq)
        try c.encode(pipeline, forKey: .pipeline)
        try c.encode(code, forKey: .code)
        try c.encode(message, forKey: .message)
        try c.encode(generation, forKey: .generation)
    }
}
