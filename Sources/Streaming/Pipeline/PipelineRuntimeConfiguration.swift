/// How one pipeline is attached to the network and how its stages are sized.
public struct PipelineRuntimeConfiguration: Sendable, Equatable {
    public enum SocketKind: String, Codable, Sendable, CaseIterable {
        /// Lossless: when the inbox is full the daemon stops reading and ZeroMQ pushes back.
        case pull
        /// The sender cannot be slowed: a full inbox drops by `dropPolicy`, every drop reported.
        case sub
    }

    public var endpoint: String
    public var bind: Bool
    public var socket: SocketKind
    public var dropPolicy: BoundedStage<RawMessage>.DropPolicy
    /// ZMQ_RCVHWM of the ingest socket (messages).
    public var receiveHighWaterMark: Int32
    /// Capacity of the decode inbox (raw messages).
    public var inbox: Int
    /// Capacity of the reconstruction inbox (decoded frames waiting for a worker).
    public var reconstructInbox: Int
    public var workers: Int
    /// Publish each stream's outputs in arrival order.
    public var reorder: Bool
    /// Attach a PNG of the image to each frame message.
    public var publishPNG: Bool
    /// Also write `<stream>-<seq>.png` files here, when set.
    public var pngDirectory: String?
    /// Also publish each frame as an MRD image message (topic `mrd/<stream>/`).
    public var publishMRD: Bool

    public init(endpoint: String, bind: Bool = true, socket: SocketKind = .pull,
                dropPolicy: BoundedStage<RawMessage>.DropPolicy = .dropOldest, receiveHighWaterMark: Int32 = 2,
                inbox: Int = 4, reconstructInbox: Int = 4, workers: Int = 1, reorder: Bool = true,
                publishPNG: Bool = true, pngDirectory: String? = nil, publishMRD: Bool = false) {
        self.publishMRD = publishMRD
        self.endpoint = endpoint
        self.bind = bind
        self.socket = socket
        self.dropPolicy = dropPolicy
        self.receiveHighWaterMark = receiveHighWaterMark
        self.inbox = inbox
        self.reconstructInbox = reconstructInbox
        self.workers = workers
        self.reorder = reorder
        self.publishPNG = publishPNG
        self.pngDirectory = pngDirectory
    }
}

/// One multipart message as read from an ingest socket.
public struct RawMessage: Sendable {
    public var parts: [[UInt8]]
    public var receivedAt: Double
}
