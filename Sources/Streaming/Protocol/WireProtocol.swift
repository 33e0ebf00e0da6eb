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
