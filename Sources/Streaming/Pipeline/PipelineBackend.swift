/// What the daemon needs to know about a pipeline to validate its messages.
public struct PipelineInterface: Sendable, Equatable {
    public var name: String
    public var measurementShape: [Int]
    public var measurementDType: WireDType
    public var imageShape: [Int]
    /// MRD input: the frames its streams must make (nil: lpnd measurement messages).
    public var mrd: MRDExpectation?
    /// MRI pipelines: the phase-encode rows a measurement's `lines` may name (0..<lineRows);
    /// nil: the pipeline takes no `lines` (its sampling is fixed by its operator).
    public var lineRows: Int?

    public init(name: String, measurementShape: [Int], measurementDType: WireDType, imageShape: [Int], mrd: MRDExpectation? = nil,
                lineRows: Int? = nil) {
        self.mrd = mrd
        self.lineRows = lineRows
        self.name = name
        self.measurementShape = measurementShape
        self.measurementDType = measurementDType
        self.imageShape = imageShape
    }

    public var measurementFloats: Int { measurementShape.reduce(1, *) * measurementDType.floatsPerSample }
    public var imageCount: Int { imageShape.reduce(1, *) }

    /// The largest part a valid message has: the header limit, the measurement or the
    /// reference image. A message with a larger part is refused by the decoder with an error
    /// event (its sizes are wrong), up to ``maxReadPartBytes``.
    public var maxPartBytes: Int {
        max(WireProtocol.maxHeaderBytes, measurementFloats * 4, imageCount * 4, mrd?.maxPartBytes ?? 0)
    }

    /// The largest part the ingest socket reads at all: twice ``maxPartBytes``. A part up to it
    /// is read and refused with an error event, and the sender's connection with everything
    /// queued behind it stays; libzmq closes the connection of a peer announcing a larger part
    /// before reading it (ZMQ_MAXMSGSIZE), so memory stays bounded (docs/PROTOCOL.md §1).
    public var maxReadPartBytes: Int { 2 * maxPartBytes }
}

/// A decoded, validated measurement on its way to a reconstruction worker.
public struct InboundFrame: Sendable {
    public var header: MeasurementHeader
    /// Float32 values; complex64 samples are interleaved (re, im).
    public var measurement: [Float]
    /// Optional reference image (float32, the pipeline's image shape) for QA.
    public var reference: [Float]?
    /// Monotonic receive time (seconds).
    public var receivedAt: Double
    /// MRD frames: the phase-encode rows acquired (centred k-space indices).
    public var sampledRows: [Int]?
    /// MRD frames: what an image made from it repeats, and the lines it lacks.
    public var mrd: MRDFrameInfo?
    /// The session its outcome also goes to (an MRD TCP session's stream), by
    /// ``PipelineRuntime/attach(stream:sink:)``; nil for ZeroMQ input.
    public var replyTo: String?

    public init(header: MeasurementHeader, measurement: [Float], reference: [Float]?, receivedAt: Double, sampledRows: [Int]? = nil,
                mrd: MRDFrameInfo? = nil) {
        self.sampledRows = sampledRows
        self.mrd = mrd
        self.header = header
        self.measurement = measurement
        self.reference = reference
        self.receivedAt = receivedAt
    }
}

/// A reconstructed frame, ready to publish.
public struct ProcessedFrame: Sendable {
    public var image: [Float]
    public var imageShape: [Int]
    public var convergence: ConvergenceSummary
    /// The full per-iteration record, already JSON.
    public var diagnosticsJSON: [UInt8]
    public var psnr: Double?
    public var ssim: Double?
    public var flags: [String]
    public var prior: PriorSummary?
    /// The cross-validation of a checked frame (pipelines with `check`).
    public var check: CheckSummary?
    /// Which prior reconstructed the frame (pipelines with `check.choose`).
    public var choice: ChoiceSummary?
    /// Seconds spent in the prior's prox over all iterations (nil without a learned or TV prior).
    public var proxSeconds: Double?
    /// `operator.normalize`: the factor the frame's k-space was divided by (the image times it
    /// is in the measurement's units).
    public var intensityScale: Double?

    public init(image: [Float], imageShape: [Int], convergence: ConvergenceSummary, diagnosticsJSON: [UInt8],
                psnr: Double? = nil, ssim: Double? = nil, flags: [String] = [], prior: PriorSummary? = nil,
                check: CheckSummary? = nil, choice: ChoiceSummary? = nil, proxSeconds: Double? = nil, intensityScale: Double? = nil) {
        self.intensityScale = intensityScale
        self.proxSeconds = proxSeconds
        self.choice = choice
        self.check = check
        self.flags = flags
        self.prior = prior
        self.image = image
        self.imageShape = imageShape
        self.convergence = convergence
        self.diagnosticsJSON = diagnosticsJSON
        self.psnr = psnr
        self.ssim = ssim
    }
}

/// A frame that could not be processed, with the reason code published in its error event.
public struct FrameFailure: Error, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Turns measurements into images. One processor per worker; never used concurrently.
public protocol FrameProcessor: AnyObject {
    /// Reconstructs one frame. Throws ``FrameFailure`` (or any error, reported as
    /// `reconstruction_failed`) instead of returning an image that should not be published.
    func process(_ frame: InboundFrame) throws -> ProcessedFrame
    /// Called from another thread at the drain deadline: a running ``process(_:)`` should
    /// return (throwing) at its next cancellation point, e.g. the next solver iteration, and
    /// later calls should not start work. Must be safe to call concurrently with `process`.
    func cancel()
}

/// The seam between the streaming machinery and the reconstruction code: a pipeline that can
/// describe its messages and make processors for worker threads.
public protocol PipelineBackend: Sendable {
    var interface: PipelineInterface { get }
    func makeProcessor() throws -> any FrameProcessor
}
