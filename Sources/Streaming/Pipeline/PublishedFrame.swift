/// A frame as published, for observers inside the process (the HTTP live view): the frame
/// header's JSON (docs/PROTOCOL.md §3), its PNG when one was made, and the result itself
/// (image and diagnostics record). Observers make anything else only when they need it.
public struct PublishedFrame: Sendable {
    public var pipeline: String
    public var stream: String
    public var header: [UInt8]
    public var png: [UInt8]?
    public var result: ProcessedFrame
}
