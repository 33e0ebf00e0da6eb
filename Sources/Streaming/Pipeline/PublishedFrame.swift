/// A frame as published, for observers inside the process (the HTTP live view): the frame
/// header's JSON (docs/PROTOCOL.md §3), its PNG and its diagnostics record.
public struct PublishedFrame: Sendable {
    public var pipeline: String
    public var stream: String
    public var header: [UInt8]
    public var png: [UInt8]?
    public var diagnostics: [UInt8]
}
