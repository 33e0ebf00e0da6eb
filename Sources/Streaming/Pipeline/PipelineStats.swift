/// A pipeline's counters and stage depths, as reported by the stats call (docs/PROTOCOL.md §6).
public struct PipelineStats: Codable, Sendable {
    public var pipeline: String
    public var endpoint: String
    public var socket: String
    /// Messages read from the ingest socket.
    public var received: Int
    public var frames: Int
    /// Error events published (drops included).
    public var errors: Int
    public var dropped: Int
    /// Pings answered (docs/PROTOCOL.md §7); received = frames + errors + pings once idle.
    public var pings: Int
    public var errorCodes: [String: Int]
    public var inFlight: Int
    public var latencyP50Ms: Double?
    public var latencyP99Ms: Double?
    public var stages: [StageStats]
    /// The most recently published streams (at most 64), their frames/s and latency.
    public var streams: [StreamStats]
    /// `check.choose`: frames per prior that reconstructed them ("lpn", "tv"), and the checks
    /// that switched a stream's prior (nil for other pipelines).
    public var priorChoices: [String: Int]?
    public var priorSwitches: Int?

    enum CodingKeys: String, CodingKey {
        case pipeline, endpoint, socket, received, frames, errors, dropped, pings, stages, streams
        case priorChoices = "prior_choices", priorSwitches = "prior_switches"
        case errorCodes = "error_codes", inFlight = "in_flight"
        case latencyP50Ms = "latency_p50_ms", latencyP99Ms = "latency_p99_ms"
    }
}
