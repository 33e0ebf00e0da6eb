import Support

extension StrictJSON {

    /// The recursive-descent reader behind ``StrictJSON/parse(_:)``: one pass over the bytes,
    /// failing at the first error with its offset.
    struct Reader {
        let bytes: [UInt8]
        var index = 0

        func fail(_ reason: String) -> SyntaxError { SyntaxError(offset: index, reason: reason) }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { index += 1 }
        }

        mutating func expect(_ literal: String) throws(SyntaxError) {
            for c in literal.utf8 {
                guard current == c else { throw fail("invalid literal (expected '\(literal)')") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws(SyntaxError) -> StrictJSON {
            guard let c = current else { throw fail("unexpected end of text") }
            switch c {
            case UInt8(ascii: "{"):
                guard depth < StrictJSON.maxDepth else { throw fail("nesting deeper than \(StrictJSON.maxDepth) levels") }
                return try object(depth: depth + 1)
            case UInt8(ascii: "["):
                guard depth < StrictJSON.maxDepth else { throw fail("nesting deeper than \(StrictJSON.maxDepth) levels") }
                return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw fail("unexpected character '\(Unicode.Scalar(c).escaped(asASCII: true))'")
            }
        }

        mutating func object(depth: Int) throws(SyntaxError) -> StrictJSON {
            index += 1
            var members: [(key: String, value: StrictJSON)] = []
            var keys = Set<String>()
            skipSpace()
            if current == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                let keyOffset = index
                let key = try string()
                guard keys.insert(key).inserted else {
                    throw SyntaxError(offset: keyOffset, reason: "duplicate key '\(key)'")
                }
                skipSpace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':'") }
                index += 1
                skipSpace()
                members.append((key, try value(depth: depth)))
                skipSpace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"): index += 1; return .object(members)
                default: throw fail("expected ',' or '}'")
                }
            }
        }

        mutating func array(depth: Int) throws(SyntaxError) -> StrictJSON {
            index += 1
            var items: [StrictJSON] = []
            skipSpace()
            if current == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth))
                skipSpace()
                switch current {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"): index += 1; return .array(items)
                default: throw fail("expected ',' or ']'")
                }
            }
        }

        /// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() throws(SyntaxError) -> StrictJSON {
            let start = index
            func digits(_ reader: inout Reader) -> Int {
                let from = reader.index
                while let c = reader.current, c >= 0x30 && c <= 0x39 { reader.index += 1 }
                return reader.index - from
            }
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
            } else {
                guard digits(&self) > 0 else { throw fail("invalid number") }
            }
            var integral = true
            if current == UInt8(ascii: ".") {
                index += 1
                integral = false
                guard digits(&self) > 0 else { throw fail("invalid number (digits expected after '.')") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                integral = false
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw fail("invalid number (digits expected in the exponent)") }
            }
            guard index - start <= 400 else { throw SyntaxError(offset: start, reason: "number longer than 400 characters") }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            return integral ? .integer(text) : .fraction(text)
        }

        mutating func string() throws(SyntaxError) -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            var run = index  // start of the current run of unescaped bytes
            func flush(_ reader: Reader, _ end: Int, into view: inout String.UnicodeScalarView) throws(SyntaxError) {
                guard run < end else { return }
                guard let text = String(validating: reader.bytes[run..<end], as: UTF8.self) else {
                    throw SyntaxError(offset: run, reason: "string is not valid UTF-8")
                }
                view.append(contentsOf: text.unicodeScalars)
            }
            while true {
                guard let c = current else { throw fail("unterminated string") }
                switch c {
                case UInt8(ascii: "\""):
                    try flush(self, index, into: &scalars)
                    index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    try flush(self, index, into: &scalars)
                    index += 1
                    scalars.append(try escape())
                    run = index
                case 0..<0x20:
                    throw fail("control character in string")
                default:
                    index += 1
                }
            }
        }

        mutating func escape() throws(SyntaxError) -> Unicode.Scalar {
            guard let c = current else { throw fail("unterminated escape") }
            index += 1
            switch c {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let high = try hex4()
                if (0xD800..<0xDC00).contains(high) {
                    guard current == UInt8(ascii: "\\") else { throw fail("unpaired surrogate escape") }
                    index += 1
                    guard current == UInt8(ascii: "u") else { throw fail("unpaired surrogate escape") }
                    index += 1
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate escape") }
                    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
                }
                guard let scalar = Unicode.Scalar(high) else { throw fail("unpaired surrogate escape") }
                return scalar
            default:
                throw fail("invalid escape '\\\(Unicode.Scalar(c).escaped(asASCII: true))'")
            }
        }

        mutating func hex4() throws(SyntaxError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current, let digit = Self.hexDigit(c) else { throw fail("invalid \\u escape") }
                value = value << 4 | digit
                index += 1
            }
            return value
        }

        static func hexDigit(_ c: UInt8) -> UInt32? {
            switch c {
            case 0x30...0x39: UInt32(c - 0x30)
            case 0x41...0x46: UInt32(c - 0x41 + 10)
            case 0x61...0x66: UInt32(c - 0x61 + 10)
            default: nil
            }
        }
    }
}
