import Support

/// A JSON reader for inbound headers that keeps JSON's types apart: a boolean is never a
/// number, an integer literal (`3`) is not a fraction (`3.0`), and numbers keep their text so
/// that integers are read exactly at any size and fractions are rounded once, correctly.
///
/// It enforces the limits of docs/PROTOCOL.md §1 ("Limits"): at most ``maxDepth`` nested
/// arrays/objects, UTF-8 text, no duplicate keys, nothing after the value. The caller bounds the
/// input size before calling.
public enum StrictJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    /// A number without fraction or exponent, as written (sign included, no leading zeros).
    case integer(String)
    /// A number with a fraction or an exponent, as written.
    case fraction(String)
    case string(String)
    case array([StrictJSON])
    /// Keys in document order (unique).
    case object([(key: String, value: StrictJSON)])

    public static let maxDepth = 32

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    public static func parse(_ bytes: [UInt8]) throws(SyntaxError) -> StrictJSON {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.index == bytes.count else { throw reader.fail("unexpected text after the JSON value") }
        return value
    }

    // MARK: Typed access

    public subscript(key: String) -> StrictJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// An integer literal within UInt64 (0 … 2^64 − 1); nil for anything else, "-0" included.
    public var uint64Value: UInt64? {
        guard case .integer(let text) = self, !text.hasPrefix("-") else { return nil }
        return UInt64(text)
    }

    /// An integer literal within Int64; nil for anything else.
    public var int64Value: Int64? {
        guard case .integer(let text) = self else { return nil }
        return Int64(text)
    }

    /// Any JSON number (integer or fraction), correctly rounded to the nearest Double; nil for
    /// non-numbers and for numbers beyond Double's range.
    public var finiteDoubleValue: Double? {
        switch self {
        case .integer(let text), .fraction(let text):
            guard let value = Double(text), value.isFinite else { return nil }
            return value
        default:
            return nil
        }
    }

    /// The value as it would be written, shortened for error messages.
    public var excerpt: String {
        let text: String
        switch self {
        case .null: text = "null"
        case .bool(let b): text = b ? "true" : "false"
        case .integer(let t), .fraction(let t): text = t
        case .string(let s): text = "\"" + escapingControlCharacters(s, limit: 41) + "\""
        case .array(let items): text = "[" + items.map(\.excerpt).joined(separator: ",") + "]"
        case .object: text = "{…}"
        }
        return text.count > 40 ? String(text.prefix(40)) + "…" : text
    }

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .fraction: "a non-integer number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public static func == (a: StrictJSON, b: StrictJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.integer(let x), .integer(let y)), (.fraction(let x), .fraction(let y)), (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}
