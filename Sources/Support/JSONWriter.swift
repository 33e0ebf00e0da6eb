import Foundation

/// The one JSON writer of everything lpnd emits (frame headers, diagnostics, error events,
/// pongs, stats, the live view's events, diagnostics files): sorted keys, non-finite numbers as
/// the strings "inf", "-inf", "nan" (what `OutboundDecoder` reads back).
public enum JSONWriter {
    /// Compact (one line), or indented for files a person reads.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return [UInt8](try encoder.encode(value))
    }

    /// As ``encode(_:pretty:)`` for values that always encode (lpnd's own records); `{}` if one does not.
    public static func bytes<T: Encodable>(_ value: T) -> [UInt8] {
        (try? encode(value)) ?? Array("{}".utf8)
    }
}
