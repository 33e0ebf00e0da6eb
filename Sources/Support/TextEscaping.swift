/// Text a client sent, made safe to put in an error message or a log line: control characters
/// escaped (`\n` stays two characters, so a line can never be split or forged), at most
/// `limit` characters kept, "…" marking a cut.
public func escapingControlCharacters<S: StringProtocol>(_ text: S, limit: Int = .max) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(limit) {
        out += scalar.value < 0x20 || scalar.value == 0x7F ? scalar.escaped(asASCII: true) : String(scalar)
    }
    return limit < .max && text.unicodeScalars.count > limit ? out + "…" : out
}
